"""The civil-servant PKI: certificate policy, the CA's key store, issuance, the CRL and the
relying party's checks. `from identity.pki import CertificateAuthority` is the usual entry."""

from identity.pki.authority import CertificateAuthority
from identity.pki.check import PROBLEMS, check_certificate, describe, diagnose, parse_pem_chain, signed_by
from identity.pki.crl import REASONS
from identity.pki.model import (
    CRL_PATH,
    DEFAULT_ORGANIZATION,
    EMAIL_PATTERN,
    ID_PATTERN,
    ISSUING_CERT_PATH,
    ROOT_CERT_PATH,
    CertificateBundle,
    CivilServant,
    fingerprint,
    one_time_password,
    serial_hex,
)
from identity.pki.policy import CIVIL_SERVANT_POLICY, KeyAlgorithm, PrivateKey, new_key

__all__ = [
    "CIVIL_SERVANT_POLICY",
    "CRL_PATH",
    "DEFAULT_ORGANIZATION",
    "EMAIL_PATTERN",
    "ID_PATTERN",
    "ISSUING_CERT_PATH",
    "PROBLEMS",
    "REASONS",
    "ROOT_CERT_PATH",
    "CertificateAuthority",
    "CertificateBundle",
    "CivilServant",
    "KeyAlgorithm",
    "PrivateKey",
    "check_certificate",
    "describe",
    "diagnose",
    "fingerprint",
    "new_key",
    "one_time_password",
    "parse_pem_chain",
    "serial_hex",
    "signed_by",
]
