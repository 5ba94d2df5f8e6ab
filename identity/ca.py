"""The civil-servant CA (政务公务人员数字证书认证): a government root CA and an issuing CA.

Certificates follow the GM/T 0015 idea for a person's certificate: C=CN, O=department,
OU=section, CN=name, SERIALNUMBER=the civil servant's ID (ID-card or staff number), the e-mail in
the SAN, EKU clientAuth, and our certificate policy (so a relying party can insist on *this* CA
even when its truststore holds others). Revocation is published as a CRL that every gateway
replica serves from the database at a stable URL (`/pki/issuing.crl`).

Files under <data_dir>/ca (directory 0700, files 0600):
  root.crt.pem, issuing.crt.pem   the two CA certificates
  root.key.pem, issuing.key.pem   PKCS#8 private keys, encrypted with a random passphrase
  root.key.pass, issuing.key.pass that passphrase, sealed with the SecretBox (GOVOPS_SECRET_KEY or
                                  the 0600 key file), so a copy of the directory alone is useless
User private keys are generated, packed into a PKCS#12 under a one-time password, and forgotten.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import Conflict, GovopsError, NotFound, ValidationFailed
from govops.secretbox import SecretBox
from govops.settings import Settings
from identity.models import IssuedCertificate, PublishedCrl, as_utc

# Our certificate policy: a UUID-based OID (ITU-T X.667, arc 2.25) that anyone may mint, so the
# relying party (Keycloak's X.509 authenticator) can require certificates of this CA's policy.
CIVIL_SERVANT_POLICY = "2.25.303755782955876282833366720590824748960"
CRL_PATH = "/pki/issuing.crl"
ISSUING_CERT_PATH = "/pki/issuing.crt"
ROOT_CERT_PATH = "/pki/root.crt"
DEFAULT_ORGANIZATION = "上海市金山区人民政府"
ID_PATTERN = re.compile(r"^[0-9A-Za-z]{6,32}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$")
REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "ca_compromise": x509.ReasonFlags.ca_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
    "certificate_hold": x509.ReasonFlags.certificate_hold,
    "privilege_withdrawn": x509.ReasonFlags.privilege_withdrawn,
}
KeyAlgorithm = Literal["ecdsa-p256", "rsa-3072", "rsa-2048"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
OTP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_usage(
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


def new_key(algorithm: str) -> PrivateKey:
    if algorithm == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "rsa-3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if algorithm == "rsa-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValidationFailed(f"unknown key algorithm {algorithm!r}", hint="use ecdsa-p256, rsa-3072 or rsa-2048")


def one_time_password(groups: int = 4, size: int = 5) -> str:
    return "-".join("".join(secrets.choice(OTP_ALPHABET) for _ in range(size)) for _ in range(groups))


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def serial_hex(serial: int) -> str:
    return f"{serial:X}"


def _clean_text(value: str, what: str, max_len: int = 64) -> str:
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
            name=_clean_text(self.name, "name"),
            department=_clean_text(self.department, "department"),
            section=_clean_text(self.section, "section") if self.section else None,
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


def _write_private(path: Path, data: bytes, *, exclusive: bool = True) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


class CertificateAuthority:
    """The two-level CA. Construct it with `from_settings`; `init` creates it once."""

    def __init__(
        self,
        directory: Path,
        box: SecretBox,
        *,
        public_url: str | None = None,
        crl_hours: int = 24,
        default_days: int = 730,
        key_algorithm: str = "ecdsa-p256",
    ) -> None:
        self.directory = directory
        self.box = box
        self.public_url = public_url.rstrip("/") if public_url else None
        self.crl_validity = dt.timedelta(hours=crl_hours)
        self.default_days = default_days
        self.key_algorithm = key_algorithm
        self._keys: dict[str, PrivateKey] = {}
        self._certs: dict[str, x509.Certificate] = {}

    @classmethod
    def from_settings(cls, settings: Settings, box: SecretBox | None = None) -> CertificateAuthority:
        return cls(
            settings.data_dir / "ca",
            box or SecretBox.from_settings(settings),
            public_url=settings.public_url,
            crl_hours=settings.crl_hours,
            default_days=settings.ca_cert_days,
            key_algorithm=settings.ca_key_algorithm,
        )

    # -- files ---------------------------------------------------------------------------------

    def _cert_path(self, which: str) -> Path:
        return self.directory / f"{which}.crt.pem"

    def exists(self) -> bool:
        return self._cert_path("issuing").is_file() and self._cert_path("root").is_file()

    def _require(self) -> None:
        if not self.exists():
            raise NotFound(f"no CA in {self.directory}", hint="create it once with `govops ca init`")

    def certificate(self, which: Literal["root", "issuing"]) -> x509.Certificate:
        if which not in self._certs:
            self._require()
            self._certs[which] = x509.load_pem_x509_certificate(self._cert_path(which).read_bytes())
        return self._certs[which]

    @property
    def root(self) -> x509.Certificate:
        return self.certificate("root")

    @property
    def issuing(self) -> x509.Certificate:
        return self.certificate("issuing")

    def chain_pem(self) -> bytes:
        """Issuing then root: the truststore a relying party (Keycloak's HTTPS port) needs."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.issuing, self.root))

    def _private_key(self, which: str) -> PrivateKey:
        if which not in self._keys:
            self._require()
            sealed = (self.directory / f"{which}.key.pass").read_text().strip()
            passphrase = self.box.decrypt(sealed).encode()
            try:
                key = serialization.load_pem_private_key(
                    (self.directory / f"{which}.key.pem").read_bytes(), password=passphrase
                )
            except (ValueError, TypeError):
                raise GovopsError(
                    f"the {which} CA key in {self.directory} cannot be unlocked",
                    hint="restore the key file or GOVOPS_SECRET_KEY that sealed it",
                ) from None
            if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
                raise GovopsError(f"the {which} CA key has an unsupported type")
            self._keys[which] = key
        return self._keys[which]

    def _store_key(self, which: str, key: PrivateKey) -> None:
        passphrase = secrets.token_urlsafe(32)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
        _write_private(self.directory / f"{which}.key.pem", pem)
        _write_private(self.directory / f"{which}.key.pass", self.box.encrypt(passphrase).encode())

    # -- creation ------------------------------------------------------------------------------

    def init(
        self,
        session: Session,
        *,
        actor: str,
        organization: str = DEFAULT_ORGANIZATION,
        root_years: int = 20,
        issuing_years: int = 10,
    ) -> dict[str, str]:
        """Create the root and issuing CA once; refuses to overwrite an existing CA."""
        if self.exists() or (self.directory / "root.key.pem").exists():
            raise Conflict(
                f"a CA already exists in {self.directory}",
                hint="a CA is created once; back up and remove the directory to start over",
            )
        organization = _clean_text(organization, "organization", 100)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        now = _now()
        root_key, issuing_key = new_key(self.key_algorithm), new_key(self.key_algorithm)
        root_name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{organization} 政务根CA (Root CA)"),
            ]
        )
        issuing_name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{organization} 公务人员签发CA (Issuing CA)"),
            ]
        )
        ca_usage = _key_usage(key_cert_sign=True, crl_sign=True)
        root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365 * root_years))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(ca_usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        issuing = (
            x509.CertificateBuilder()
            .subject_name(issuing_name)
            .issuer_name(root_name)
            .public_key(issuing_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365 * issuing_years))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(ca_usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(issuing_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        self._store_key("root", root_key)
        self._store_key("issuing", issuing_key)
        self._cert_path("root").write_bytes(root.public_bytes(serialization.Encoding.PEM))
        self._cert_path("issuing").write_bytes(issuing.public_bytes(serialization.Encoding.PEM))
        self._certs = {"root": root, "issuing": issuing}
        self._keys = {"root": root_key, "issuing": issuing_key}
        info = self.info()
        audit.append(
            session,
            actor=actor,
            action="ca.init",
            target=info["issuing_subject"],
            detail={
                "root_fingerprint": info["root_fingerprint"],
                "issuing_fingerprint": info["issuing_fingerprint"],
                "algorithm": self.key_algorithm,
            },
        )
        self.publish_crl(session)
        return info

    def info(self) -> dict[str, str]:
        return {
            "directory": str(self.directory),
            "root_subject": self.root.subject.rfc4514_string(),
            "root_fingerprint": fingerprint(self.root),
            "root_not_after": self.root.not_valid_after_utc.isoformat(),
            "issuing_subject": self.issuing.subject.rfc4514_string(),
            "issuing_fingerprint": fingerprint(self.issuing),
            "issuing_not_after": self.issuing.not_valid_after_utc.isoformat(),
            "crl_url": self.crl_url or "",
            "policy": CIVIL_SERVANT_POLICY,
        }

    @property
    def crl_url(self) -> str | None:
        return f"{self.public_url}{CRL_PATH}" if self.public_url else None

    # -- issuing -------------------------------------------------------------------------------

    def sign(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        """Sign a prepared builder with the issuing CA (issuer name and AKI are set here)."""
        issuing_key = self._private_key("issuing")
        builder = builder.issuer_name(self.issuing.subject).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuing_key.public_key()), critical=False
        )
        return builder.sign(issuing_key, hashes.SHA256())

    def _base_builder(
        self, subject: x509.Name, key: PrivateKey, not_before: dt.datetime, not_after: dt.datetime
    ) -> x509.CertificateBuilder:
        if not_after > self.issuing.not_valid_after_utc:
            raise ValidationFailed("the certificate would outlive the issuing CA", hint="ask for a shorter validity")
        b = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if self.crl_url:
            b = b.add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            full_name=[x509.UniformResourceIdentifier(self.crl_url)],
                            relative_name=None,
                            reasons=None,
                            crl_issuer=None,
                        )
                    ]
                ),
                critical=False,
            )
            b = b.add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                            x509.UniformResourceIdentifier(f"{self.public_url}{ISSUING_CERT_PATH}"),
                        )
                    ]
                ),
                critical=False,
            )
        return b

    def issue(
        self,
        session: Session,
        person: CivilServant,
        *,
        actor: str,
        days: int | None = None,
        not_before: dt.datetime | None = None,
        key_algorithm: KeyAlgorithm = "ecdsa-p256",
    ) -> CertificateBundle:
        """Issue a personal certificate (EKU clientAuth) and pack it as PKCS#12."""
        person = person.validated()
        days = days if days is not None else self.default_days
        if not 1 <= days <= 3650:
            raise ValidationFailed("validity must be 1-3650 days", hint="the default is 730 (2 years)")
        key = new_key(key_algorithm)
        start = not_before or (_now() - dt.timedelta(minutes=5))
        is_rsa = isinstance(key, rsa.RSAPrivateKey)
        b = (
            self._base_builder(person.subject(), key, start, start + dt.timedelta(days=days))
            .add_extension(
                _key_usage(content_commitment=True, key_encipherment=is_rsa),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(
                x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(CIVIL_SERVANT_POLICY), None)]),
                critical=False,
            )
        )
        if person.email:
            b = b.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(person.email)]), critical=False)
        cert = self.sign(b)
        record = self._record(session, cert, kind="civil_servant", actor=actor, person=person)
        password = one_time_password()
        p12 = self.pkcs12(cert, key, password, friendly_name=f"{person.name} {person.id}")
        audit.append(
            session,
            actor=actor,
            action="ca.issue",
            target=record.serial,
            detail={
                "civil_servant_id": person.id,
                "department": person.department,
                "not_after": record.as_dict()["not_after"],
            },
        )
        return CertificateBundle(record, cert, key, (self.issuing, self.root), p12, password)

    def issue_server(
        self, session: Session, hostnames: Sequence[str], *, actor: str, days: int = 397
    ) -> CertificateBundle:
        """A TLS server certificate (e.g. for Keycloak's HTTPS port) from the same issuing CA."""
        if not hostnames:
            raise ValidationFailed("give at least one host name or IP address")
        names: list[x509.GeneralName] = []
        for h in hostnames:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                names.append(x509.DNSName(h))
        key = new_key("ecdsa-p256")
        start = _now() - dt.timedelta(minutes=5)
        subject = x509.Name(
            [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]
        )
        b = (
            self._base_builder(subject, key, start, start + dt.timedelta(days=days))
            .add_extension(_key_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
        )
        cert = self.sign(b)
        record = self._record(session, cert, kind="server", actor=actor, person=None)
        audit.append(
            session, actor=actor, action="ca.issue_server", target=record.serial, detail={"hostnames": list(hostnames)}
        )
        password = one_time_password()
        return CertificateBundle(
            record, cert, key, (self.issuing, self.root), self.pkcs12(cert, key, password, hostnames[0]), password
        )

    def pkcs12(self, cert: x509.Certificate, key: PrivateKey, password: str, friendly_name: str) -> bytes:
        # AES-256 + SHA-256 MAC: what current USB-key middleware and browsers import.
        enc = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(50_000)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(password.encode())
        )
        return pkcs12.serialize_key_and_certificates(friendly_name.encode(), key, cert, [self.issuing, self.root], enc)

    def _record(
        self, session: Session, cert: x509.Certificate, *, kind: str, actor: str, person: CivilServant | None
    ) -> IssuedCertificate:
        record = IssuedCertificate(
            serial=serial_hex(cert.serial_number),
            kind=kind,
            civil_servant_id=person.id if person else None,
            common_name=person.name if person else cert.subject.rfc4514_string(),
            department=person.department if person else None,
            section=person.section if person else None,
            email=person.email if person else None,
            subject=cert.subject.rfc4514_string(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            fingerprint_sha256=fingerprint(cert),
            pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            issued_by=actor,
            issued_at=_now(),
        )
        session.add(record)
        session.flush()
        return record

    # -- revocation ----------------------------------------------------------------------------

    def revoke(self, session: Session, serial: str, *, actor: str, reason: str = "unspecified") -> IssuedCertificate:
        # Accept key_compromise, key-compromise and the RFC 5280 spelling keyCompromise.
        squashed = {k.replace("_", ""): k for k in REASONS}
        reason = squashed.get(reason.strip().replace("-", "").replace("_", "").lower(), reason)
        if reason not in REASONS:
            raise ValidationFailed(f"unknown revocation reason {reason!r}", hint=f"use one of: {', '.join(REASONS)}")
        record = session.get(IssuedCertificate, serial.upper().replace(":", ""))
        if record is None:
            raise NotFound(f"no certificate with serial {serial}", hint="see `govops ca list`")
        if record.revoked_at is not None:
            raise Conflict(f"certificate {record.serial} was already revoked ({record.revocation_reason})")
        record.revoked_at, record.revocation_reason, record.revoked_by = _now(), reason, actor
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="ca.revoke",
            target=record.serial,
            detail={"reason": reason, "civil_servant_id": record.civil_servant_id},
        )
        self.publish_crl(session)
        return record

    def list(
        self, session: Session, *, civil_servant_id: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[IssuedCertificate]:
        stmt = select(IssuedCertificate).order_by(IssuedCertificate.issued_at.desc())
        if civil_servant_id:
            stmt = stmt.where(IssuedCertificate.civil_servant_id == civil_servant_id.upper())
        rows = list(session.scalars(stmt.limit(limit * 4 if status else limit)))
        if status:
            rows = [r for r in rows if r.status == status][:limit]
        return rows

    # -- CRL -----------------------------------------------------------------------------------

    def publish_crl(self, session: Session, now: dt.datetime | None = None) -> PublishedCrl:
        """Sign a new CRL (number = last + 1) listing every revoked, unexpired-or-not certificate."""
        now = now or _now()
        revoked = session.scalars(select(IssuedCertificate).where(IssuedCertificate.revoked_at.is_not(None))).all()
        issuing_key = self._private_key("issuing")
        for _attempt in range(3):
            last = session.scalar(select(func.max(PublishedCrl.number))) or 0
            b = (
                x509.CertificateRevocationListBuilder()
                .issuer_name(self.issuing.subject)
                .last_update(now - dt.timedelta(minutes=1))
                .next_update(now + self.crl_validity)
                .add_extension(x509.CRLNumber(last + 1), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(issuing_key.public_key()), critical=False
                )
            )
            for r in revoked:
                entry = (
                    x509.RevokedCertificateBuilder()
                    .serial_number(int(r.serial, 16))
                    .revocation_date(as_utc(r.revoked_at))  # type: ignore[arg-type]
                    .add_extension(x509.CRLReason(REASONS[r.revocation_reason or "unspecified"]), critical=False)
                    .build()
                )
                b = b.add_revoked_certificate(entry)
            crl = b.sign(issuing_key, hashes.SHA256())
            row = PublishedCrl(
                number=last + 1,
                this_update=now,
                next_update=now + self.crl_validity,
                revoked_count=len(revoked),
                der=crl.public_bytes(serialization.Encoding.DER),
            )
            try:
                with session.begin_nested():
                    session.add(row)
                return row
            except IntegrityError:  # another replica published the same number first
                continue
        raise GovopsError("could not publish the CRL (concurrent publishers)", hint="retry")

    def current_crl(self, session: Session) -> PublishedCrl:
        """The newest CRL, re-signed when half its validity is gone or a revocation is newer."""
        latest = session.scalars(select(PublishedCrl).order_by(PublishedCrl.number.desc()).limit(1)).first()
        if latest is not None:
            this_update = as_utc(latest.this_update)
            next_update = as_utc(latest.next_update)
            assert this_update is not None and next_update is not None
            newest_revocation = as_utc(session.scalar(select(func.max(IssuedCertificate.revoked_at))))
            fresh = _now() < this_update + (next_update - this_update) / 2
            if fresh and (newest_revocation is None or newest_revocation <= this_update):
                return latest
        if not self.exists():
            if latest is not None:
                return latest  # a replica without the CA key serves what it has
            raise NotFound("no CRL has been published", hint="create the CA with `govops ca init`")
        return self.publish_crl(session)


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


# -- checking a certificate the way a relying party would ------------------------------------

PROBLEMS = {
    "expired": "the certificate has expired",
    "not_yet_valid": "the certificate is not valid yet",
    "unknown_issuer": "the certificate was not issued by our issuing CA",
    "missing_client_auth": "the certificate is not for client authentication (no clientAuth EKU)",
    "missing_digital_signature": "the certificate's key usage lacks digitalSignature",
    "missing_policy": "the certificate does not carry our civil-servant policy",
    "missing_serialnumber": "the subject has no SERIALNUMBER (civil servant ID)",
    "revoked": "the certificate has been revoked",
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
    now = now or _now()
    found: list[str] = []
    if cert.not_valid_after_utc < now:
        found.append("expired")
    if cert.not_valid_before_utc > now:
        found.append("not_yet_valid")
    signed = False
    for issuer in issuers:
        try:
            cert.verify_directly_issued_by(issuer)
            signed = True
            break
        except (ValueError, TypeError, InvalidSignature):
            continue
    if not signed:
        found.append("unknown_issuer")
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
