"""Identity tables: issued certificates, published CRLs, and department apps (OIDC clients)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govops.db import Base

CERT_KINDS = ("civil_servant", "server")
APP_STATUSES = ("requested", "approved", "rejected")


def iso(at: datetime | None) -> str | None:
    return as_utc(at).isoformat() if at is not None else None  # type: ignore[union-attr]


def as_utc(at: datetime | None) -> datetime | None:
    # SQLite hands timestamps back naive; they were stored as UTC.
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class IssuedCertificate(Base):
    """A certificate our issuing CA signed. The private key never lands here (or anywhere)."""

    __tablename__ = "identity_certificates"

    serial: Mapped[str] = mapped_column(String(40), primary_key=True)  # hex, upper case
    kind: Mapped[str] = mapped_column(String(20))
    civil_servant_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    common_name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200), nullable=True)
    section: Mapped[str | None] = mapped_column(String(200), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    subject: Mapped[str] = mapped_column(String(500))
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    pem: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        now = datetime.now(UTC)
        if (as_utc(self.not_after) or now) < now:
            return "expired"
        if (as_utc(self.not_before) or now) > now:
            return "not_yet_valid"
        return "valid"

    def as_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "kind": self.kind,
            "civil_servant_id": self.civil_servant_id,
            "common_name": self.common_name,
            "department": self.department,
            "section": self.section,
            "email": self.email,
            "subject": self.subject,
            "not_before": iso(self.not_before),
            "not_after": iso(self.not_after),
            "fingerprint_sha256": self.fingerprint_sha256,
            "status": self.status,
            "issued_by": self.issued_by,
            "revoked_at": iso(self.revoked_at),
            "revocation_reason": self.revocation_reason,
        }


class PublishedCrl(Base):
    """Every CRL the issuing CA signed, newest = highest number. Kept in the database so that
    every gateway replica serves the same CRL without holding the CA key."""

    __tablename__ = "identity_crls"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    this_update: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_update: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_count: Mapped[int] = mapped_column(Integer)
    der: Mapped[bytes] = mapped_column(LargeBinary)


class DepartmentApp(Base):
    """A department's application and its OIDC client: the request, the decision, the client."""

    __tablename__ = "identity_apps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    home_url: Mapped[str] = mapped_column(String(500))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    roles: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    department_roles: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    keycloak_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Fernet ciphertext (SecretBox); never returned by the API except once, at pickup.
    secret_enc: Mapped[str | None] = mapped_column(String(500), nullable=True)
    secret_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    secret_version: Mapped[int] = mapped_column(Integer, default=0)
    secret_issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client_id": self.client_id,
            "name": self.name,
            "department": self.department_code,
            "description": self.description,
            "home_url": self.home_url,
            "redirect_uris": list(self.redirect_uris),
            "roles": list(self.roles),
            "department_roles": list(self.department_roles),
            "status": self.status,
            "requested_by": self.requested_by,
            "requested_at": iso(self.requested_at),
            "decided_by": self.decided_by,
            "decided_at": iso(self.decided_at),
            "decision_note": self.decision_note,
            "secret": ("awaiting pickup" if self.secret_pending else "collected" if self.secret_version else None),
            "secret_version": self.secret_version,
        }
