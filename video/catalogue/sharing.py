"""The "1+2+X" sharing model: platforms and share grants (视频共享).

One district master platform (1) sees every camera. The two sub-platforms, 综治 and 公安 (2), and
any further ones such as 城管, 环保, 应急 (X) see what is granted to them: a camera, a group
(with its subtree) or an admin area (with everything under it). A grant has a reason and may
expire; revoking keeps it as history. Every change is in the audit chain.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import Conflict, NotFound, ValidationFailed
from video import gbt28181
from video.catalogue.models import AdminArea, Camera, CatalogueGroup, ShareGrant, SharePlatform

PLATFORM_KINDS = ("master", "sub", "x")
SUBJECT_KINDS = ("camera", "group", "area")


def _aware(d: datetime | None) -> datetime | None:
    return d.replace(tzinfo=UTC) if d is not None and d.tzinfo is None else d


def save_platform(
    session: Session, *, code: str, name: str, kind: str, parent_code: str | None, gb_id: str | None, actor: str
) -> SharePlatform:
    if kind not in PLATFORM_KINDS:
        raise ValidationFailed(f"platform kind {kind!r} must be one of {', '.join(PLATFORM_KINDS)}")
    if not code or len(code) > 50 or not all(c.isalnum() or c in "-_" for c in code):
        raise ValidationFailed("platform code must be 1-50 letters, digits, '-' or '_'")
    if not name or len(name) > 200:
        raise ValidationFailed("platform name must be 1-200 characters")
    if gb_id:
        gb = gbt28181.parse(gb_id)
        if gb.type != gbt28181.PLATFORM_TYPE:
            raise ValidationFailed(f"platform GB/T 28181 code {gb_id} must have type 200")
    master = session.scalar(select(SharePlatform).where(SharePlatform.kind == "master"))
    if kind == "master":
        if master is not None and master.code != code:
            raise Conflict(f"{master.code} is already the district master platform (the '1')")
        if parent_code:
            raise ValidationFailed("the master platform has no parent")
    else:
        parent = session.get(SharePlatform, parent_code) if parent_code else master
        if parent is None:
            raise ValidationFailed(
                "create the district master platform first",
                hint="govops video share platform add CODE NAME --kind master",
            )
        parent_code = parent.code
    platform = session.get(SharePlatform, code)
    created = platform is None
    if platform is None:
        platform = SharePlatform(code=code)
        session.add(platform)
    platform.name, platform.kind, platform.parent_code, platform.gb_id = name, kind, parent_code, gb_id
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="video.platform.create" if created else "video.platform.update",
        target=code,
        detail={"name": name, "kind": kind, "parent": parent_code},
    )
    return platform


def _subject_exists(session: Session, kind: str, subject_id: str) -> bool:
    model: Any = {"camera": Camera, "group": CatalogueGroup, "area": AdminArea}[kind]
    return session.get(model, subject_id) is not None


def grant(
    session: Session,
    *,
    platform: str,
    subject_kind: str,
    subject_id: str,
    reason: str,
    actor: str,
    expires_at: datetime | None = None,
) -> ShareGrant:
    target = session.get(SharePlatform, platform)
    if target is None:
        raise NotFound(f"platform {platform} not found", hint="list them with `govops video share platforms`")
    if target.kind == "master":
        raise ValidationFailed(f"{platform} is the master platform; it sees every camera already")
    if subject_kind not in SUBJECT_KINDS:
        raise ValidationFailed(f"subject kind must be one of {', '.join(SUBJECT_KINDS)}")
    if not _subject_exists(session, subject_kind, subject_id):
        raise NotFound(f"{subject_kind} {subject_id} not found")
    reason = (reason or "").strip()
    if len(reason) < 4 or len(reason) > 500:
        raise ValidationFailed("a share grant needs a reason of 4-500 characters (who asked, why)")
    now = datetime.now(UTC)
    expires_at = _aware(expires_at)
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed("the expiry is in the past")
    existing = [
        g
        for g in session.scalars(
            select(ShareGrant).where(
                ShareGrant.platform_code == platform,
                ShareGrant.subject_kind == subject_kind,
                ShareGrant.subject_id == subject_id,
                ShareGrant.revoked_at.is_(None),
            )
        )
        if g.active(now)
    ]
    if existing:
        raise Conflict(
            f"{subject_kind} {subject_id} is already shared to {platform} (grant {existing[0].id})",
            hint="revoke it first to change reason or expiry",
        )
    g = ShareGrant(
        platform_code=platform,
        subject_kind=subject_kind,
        subject_id=subject_id,
        reason=reason,
        granted_by=actor,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(g)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="video.share.grant",
        target=f"{subject_kind}:{subject_id}",
        detail={
            "grant": g.id,
            "platform": platform,
            "reason": reason,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return g


def revoke(session: Session, grant_id: int, *, reason: str, actor: str) -> ShareGrant:
    g = session.get(ShareGrant, grant_id)
    if g is None:
        raise NotFound(f"share grant {grant_id} not found")
    if g.revoked_at is not None:
        raise Conflict(f"share grant {grant_id} was already revoked by {g.revoked_by}")
    reason = (reason or "").strip()
    if len(reason) < 4 or len(reason) > 500:
        raise ValidationFailed("revoking needs a reason of 4-500 characters")
    g.revoked_at, g.revoked_by, g.revoke_reason = datetime.now(UTC), actor, reason
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="video.share.revoke",
        target=f"{g.subject_kind}:{g.subject_id}",
        detail={"grant": g.id, "platform": g.platform_code, "reason": reason},
    )
    return g


def list_grants(
    session: Session,
    *,
    platform: str | None = None,
    include_inactive: bool = False,
    subject: tuple[str, str] | None = None,
) -> list[ShareGrant]:
    stmt = select(ShareGrant).order_by(ShareGrant.id)
    if platform:
        stmt = stmt.where(ShareGrant.platform_code == platform)
    if subject:
        stmt = stmt.where(ShareGrant.subject_kind == subject[0], ShareGrant.subject_id == subject[1])
    now = datetime.now(UTC)
    if not include_inactive:
        stmt = stmt.where(
            ShareGrant.revoked_at.is_(None), or_(ShareGrant.expires_at.is_(None), ShareGrant.expires_at > now)
        )
    return list(session.scalars(stmt))


def platforms(session: Session) -> list[SharePlatform]:
    order = {k: i for i, k in enumerate(PLATFORM_KINDS)}
    return sorted(session.scalars(select(SharePlatform)), key=lambda p: (order.get(p.kind, 9), p.code))
