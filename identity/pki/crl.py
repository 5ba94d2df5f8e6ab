"""Revocation: the CRL of the issuing CA, numbered, stored in the database so that every gateway
replica serves the same one at a stable URL (`/pki/issuing.crl`), re-signed when half its
validity is gone or a revocation is newer."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govops.errors import GovopsError, NotFound, ValidationFailed
from identity.models import IssuedCertificate, PublishedCrl, as_utc
from identity.pki.keystore import KeyStore
from identity.pki.model import now_utc

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


def revocation_reason(reason: str) -> str:
    """Accept key_compromise, key-compromise and the RFC 5280 spelling keyCompromise."""
    squashed = {k.replace("_", ""): k for k in REASONS}
    reason = squashed.get(reason.strip().replace("-", "").replace("_", "").lower(), reason)
    if reason not in REASONS:
        raise ValidationFailed(f"unknown revocation reason {reason!r}", hint=f"use one of: {', '.join(REASONS)}")
    return reason


def publish(session: Session, keys: KeyStore, validity: dt.timedelta, now: dt.datetime | None = None) -> PublishedCrl:
    """Sign a new CRL (number = last + 1) listing every revoked, unexpired-or-not certificate."""
    now = now or now_utc()
    revoked = session.scalars(select(IssuedCertificate).where(IssuedCertificate.revoked_at.is_not(None))).all()
    issuing_key = keys.private_key("issuing")
    for _attempt in range(3):
        last = session.scalar(select(func.max(PublishedCrl.number))) or 0
        b = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(keys.certificate("issuing").subject)
            .last_update(now - dt.timedelta(minutes=1))
            .next_update(now + validity)
            .add_extension(x509.CRLNumber(last + 1), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuing_key.public_key()), critical=False)
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
            next_update=now + validity,
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


def current(session: Session, keys: KeyStore, validity: dt.timedelta) -> PublishedCrl:
    """The newest CRL, re-signed when half its validity is gone or a revocation is newer."""
    latest = session.scalars(select(PublishedCrl).order_by(PublishedCrl.number.desc()).limit(1)).first()
    if latest is not None:
        this_update = as_utc(latest.this_update)
        next_update = as_utc(latest.next_update)
        assert this_update is not None and next_update is not None
        newest_revocation = as_utc(session.scalar(select(func.max(IssuedCertificate.revoked_at))))
        fresh = now_utc() < this_update + (next_update - this_update) / 2
        if fresh and (newest_revocation is None or newest_revocation <= this_update):
            return latest
    if not keys.exists():
        if latest is not None:
            return latest  # a replica without the CA key serves what it has
        raise NotFound("no CRL has been published", hint="create the CA with `govops ca init`")
    return publish(session, keys, validity)
