"""The civil-servant CA (政务公务人员数字证书认证): a government root CA and an issuing CA.

Certificates follow the GM/T 0015 idea for a person's certificate: C=CN, O=department,
OU=section, CN=name, SERIALNUMBER=the civil servant's ID (ID-card or staff number), the e-mail in
the SAN, EKU clientAuth, and our certificate policy (so a relying party can insist on *this* CA
even when its truststore holds others). Revocation is published as a CRL (identity.pki.crl).
User private keys are generated, packed into a PKCS#12 under a one-time password, and forgotten.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import Conflict, NotFound, ValidationFailed
from govops.secretbox import SecretBox
from govops.settings import Settings
from identity.models import IssuedCertificate, PublishedCrl
from identity.pki import crl, policy
from identity.pki.keystore import KeyStore
from identity.pki.model import (
    CRL_PATH,
    DEFAULT_ORGANIZATION,
    ISSUING_CERT_PATH,
    CertificateBundle,
    CivilServant,
    clean_text,
    fingerprint,
    key_usage,
    now_utc,
    one_time_password,
    serial_hex,
)
from identity.pki.policy import CIVIL_SERVANT_POLICY, KeyAlgorithm, PrivateKey, new_key


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
        self.keys = KeyStore(directory, box)
        self.public_url = public_url.rstrip("/") if public_url else None
        self.crl_validity = dt.timedelta(hours=crl_hours)
        self.default_days = default_days
        self.key_algorithm = key_algorithm

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

    @property
    def directory(self) -> Path:
        return self.keys.directory

    def exists(self) -> bool:
        return self.keys.exists()

    def certificate(self, which: Literal["root", "issuing"]) -> x509.Certificate:
        return self.keys.certificate(which)

    @property
    def root(self) -> x509.Certificate:
        return self.keys.certificate("root")

    @property
    def issuing(self) -> x509.Certificate:
        return self.keys.certificate("issuing")

    def chain_pem(self) -> bytes:
        """Issuing then root: the truststore a relying party (Keycloak's HTTPS port) needs."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.issuing, self.root))

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
        if self.keys.started():
            raise Conflict(
                f"a CA already exists in {self.directory}",
                hint="a CA is created once; back up and remove the directory to start over",
            )
        organization = clean_text(organization, "organization", 100)
        self.keys.prepare()
        now = now_utc()
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
        ca_usage = key_usage(key_cert_sign=True, crl_sign=True)
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
        self.keys.store("root", root_key, root)
        self.keys.store("issuing", issuing_key, issuing)
        self.keys.store_certificates(root, issuing)
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
        issuing_key = self.keys.private_key("issuing")
        builder = builder.issuer_name(self.issuing.subject).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuing_key.public_key()), critical=False
        )
        cert = builder.sign(issuing_key, hashes.SHA256())
        policy.enforce(cert, "the new certificate")
        return cert

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
        start = not_before or (now_utc() - dt.timedelta(minutes=5))
        is_rsa = isinstance(key, rsa.RSAPrivateKey)
        b = (
            self._base_builder(person.subject(), key, start, start + dt.timedelta(days=days))
            .add_extension(
                key_usage(content_commitment=True, key_encipherment=is_rsa),
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
        start = now_utc() - dt.timedelta(minutes=5)
        subject = x509.Name(
            [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]
        )
        b = (
            self._base_builder(subject, key, start, start + dt.timedelta(days=days))
            .add_extension(key_usage(), critical=True)
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
            issued_at=now_utc(),
        )
        session.add(record)
        session.flush()
        return record

    # -- revocation ----------------------------------------------------------------------------

    def revoke(self, session: Session, serial: str, *, actor: str, reason: str = "unspecified") -> IssuedCertificate:
        # Accept key_compromise, key-compromise and the RFC 5280 spelling keyCompromise.
        reason = crl.revocation_reason(reason)
        record = session.get(IssuedCertificate, serial.upper().replace(":", ""))
        if record is None:
            raise NotFound(f"no certificate with serial {serial}", hint="see `govops ca list`")
        if record.revoked_at is not None:
            raise Conflict(f"certificate {record.serial} was already revoked ({record.revocation_reason})")
        record.revoked_at, record.revocation_reason, record.revoked_by = now_utc(), reason, actor
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
        return crl.publish(session, self.keys, self.crl_validity, now)

    def current_crl(self, session: Session) -> PublishedCrl:
        return crl.current(session, self.keys, self.crl_validity)
