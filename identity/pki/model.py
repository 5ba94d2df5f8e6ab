"""The CA's vocabulary: who a certificate is for (CivilServant, GM/T 0015 subject fields), what
an issuance hands back (CertificateBundle) and small helpers shared by the pki modules."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from govops.errors import ValidationFailed
from identity.models import IssuedCertificate
from identity.pki.policy import PrivateKey

CRL_PATH = "/pki/issuing.crl"
ISSUING_CERT_PATH = "/pki/issuing.crt"
ROOT_CERT_PATH = "/pki/root.crt"
DEFAULT_ORGANIZATION = "上海市金山区人民政府"
ID_PATTERN = re.compile(r"^[0-9A-Za-z]{6,32}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$")
OTP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def key_usage(
    *,
    content_commitment: bool = False,
    key_encipherment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    """Key usage with digitalSignature and whatever else is named; every other bit off."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=content_commitment,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def one_time_password(groups: int = 4, size: int = 5) -> str:
    return "-".join("".join(secrets.choice(OTP_ALPHABET) for _ in range(size)) for _ in range(groups))


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def serial_hex(serial: int) -> str:
    return f"{serial:X}"


def clean_text(value: str, what: str, max_len: int = 64) -> str:
    value = value.strip()
    if not value or len(value) > max_len or any(ord(c) < 32 for c in value):
        raise ValidationFailed(f"{what} must be 1-{max_len} printable characters", hint=f"check the {what} field")
    return value


@dataclass(frozen=True)
class CivilServant:
    """Who a personal certificate is for (GM/T 0015 subject fields)."""

    id: str  # 身份证号 / 工号, goes to SERIALNUMBER and is the Keycloak user's civil_servant_id
    name: str  # 姓名 → CN
    department: str  # 单位 → O
    section: str | None = None  # 部门/科室 → OU
    email: str | None = None  # → SAN rfc822Name

    def validated(self) -> CivilServant:
        if not ID_PATTERN.match(self.id or ""):
            raise ValidationFailed(
                f"civil servant ID {self.id!r} is not 6-32 letters or digits",
                hint="use the ID-card number (18 characters) or the staff number",
            )
        if self.email and not EMAIL_PATTERN.match(self.email):
            raise ValidationFailed(f"e-mail {self.email!r} is not valid", hint="fix the e-mail")
        return CivilServant(
            id=self.id.upper(),
            name=clean_text(self.name, "name"),
            department=clean_text(self.department, "department"),
            section=clean_text(self.section, "section") if self.section else None,
            email=self.email.strip().lower() if self.email else None,
        )

    def subject(self) -> x509.Name:
        attrs = [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.department),
        ]
        if self.section:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, self.section))
        attrs += [
            x509.NameAttribute(NameOID.COMMON_NAME, self.name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, self.id),
        ]
        return x509.Name(attrs)


@dataclass(frozen=True)
class CertificateBundle:
    """A freshly issued certificate. `password` protects `pkcs12` and is shown once, never kept."""

    record: IssuedCertificate
    certificate: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...]
    pkcs12: bytes
    password: str

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def chain_pem(self) -> bytes:
        """The leaf followed by the issuing CA: what a TLS client presents."""
        return self.cert_pem + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain[:1])

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
