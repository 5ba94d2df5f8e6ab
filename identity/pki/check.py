"""Checking a certificate the way a relying party would (`govops ca check`): dates, issuer,
key usage, our policy OID, the civil servant ID, revocation, and the certificate policy's key and
signature rules — every reason is named, not just the first."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from govops.errors import ValidationFailed
from identity.models import IssuedCertificate
from identity.pki import policy
from identity.pki.authority import CertificateAuthority
from identity.pki.model import now_utc, serial_hex
from identity.pki.policy import CIVIL_SERVANT_POLICY


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Did `issuer`'s key sign `cert`? Checked by hand rather than with
    `verify_directly_issued_by`, which refuses SHA-1 outright: a SHA-1 certificate our own CA key
    signed is ours, with a weak signature, not a stranger's."""
    if cert.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    try:
        digest = cert.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and digest is not None:
            if cert.signature_algorithm_parameters is not None and isinstance(
                cert.signature_algorithm_parameters, padding.PSS
            ):
                key.verify(cert.signature, cert.tbs_certificate_bytes, cert.signature_algorithm_parameters, digest)
            else:
                key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey) and digest is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(digest))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def parse_pem_chain(data: bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValidationFailed("not a PEM certificate", hint="give a PEM file") from None


def describe(cert: x509.Certificate) -> dict[str, str]:
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": serial_hex(cert.serial_number),
        "sha256": hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
    }


PROBLEMS = {
    "expired": "the certificate has expired",
    "not_yet_valid": "the certificate is not valid yet",
    "unknown_issuer": "the certificate was not issued by our issuing CA",
    "missing_client_auth": "the certificate is not for client authentication (no clientAuth EKU)",
    "missing_digital_signature": "the certificate's key usage lacks digitalSignature",
    "missing_policy": "the certificate does not carry our civil-servant policy",
    "missing_serialnumber": "the subject has no SERIALNUMBER (civil servant ID)",
    "revoked": "the certificate has been revoked",
    **policy.PROBLEMS,
}


def diagnose(
    cert: x509.Certificate,
    issuers: Sequence[x509.Certificate],
    *,
    revoked_serials: set[str] | None = None,
    now: dt.datetime | None = None,
) -> list[str]:
    """Every reason a relying party would refuse `cert` (empty list: it would be accepted).
    `issuers` are the CA certificates we trust to have signed it directly."""
    now = now or now_utc()
    found: list[str] = []
    if cert.not_valid_after_utc < now:
        found.append("expired")
    if cert.not_valid_before_utc > now:
        found.append("not_yet_valid")
    if not any(signed_by(cert, issuer) for issuer in issuers):
        found.append("unknown_issuer")
    found += policy.problems(cert)
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
            found.append("missing_client_auth")
    except x509.ExtensionNotFound:
        found.append("missing_client_auth")
    try:
        if not cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            found.append("missing_digital_signature")
    except x509.ExtensionNotFound:
        found.append("missing_digital_signature")
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
        if not any(p.policy_identifier.dotted_string == CIVIL_SERVANT_POLICY for p in policies):
            found.append("missing_policy")
    except x509.ExtensionNotFound:
        found.append("missing_policy")
    if not cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        found.append("missing_serialnumber")
    if revoked_serials and serial_hex(cert.serial_number) in revoked_serials:
        found.append("revoked")
    return found


def check_certificate(ca: CertificateAuthority, session: Session | None, pem: bytes) -> dict[str, object]:
    """`govops ca check`: what Keycloak (and the TLS layer before it) will think of a certificate."""
    chain = parse_pem_chain(pem)
    cert = chain[0]
    revoked: set[str] = set()
    if session is not None:
        revoked = set(
            session.scalars(select(IssuedCertificate.serial).where(IssuedCertificate.revoked_at.is_not(None)))
        )
    problems = diagnose(cert, [ca.issuing], revoked_serials=revoked)
    return {
        **describe(cert),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "acceptable": not problems,
        "problems": problems,
        "reasons": [PROBLEMS[p] for p in problems],
    }
