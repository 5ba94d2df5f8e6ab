"""Reads of the patrol's records, scoped like the catalogue: a camera the principal may not see
has no history, no thumbnail and no place in the "faults now" list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from govops.errors import NotFound
from govops.principal import Principal
from video.catalogue.models import Camera
from video.catalogue.queries import get_camera, visibility
from video.patrol.baselines import summaries
from video.patrol.models import CameraBaseline, CameraWatch, DiagnosisRecord, PatrolRound

MAX_PAGE = 200


def history(
    session: Session, principal: Principal, camera_id: str, *, before: int | None = None, limit: int = 20
) -> dict[str, Any]:
    """A camera's diagnoses, newest first, keyset-paged by record id."""
    get_camera(session, principal, camera_id)
    stmt = select(DiagnosisRecord).where(DiagnosisRecord.camera_id == camera_id)
    if before is not None:
        stmt = stmt.where(DiagnosisRecord.id < before)
    limit = max(1, min(limit, MAX_PAGE))
    rows = list(session.scalars(stmt.order_by(DiagnosisRecord.id.desc()).limit(limit)))
    watch = session.get(CameraWatch, camera_id)
    return {
        "camera": camera_id,
        "watch": {**watch.as_dict(), "baselines": summaries(session, camera_id)} if watch else None,
        "items": [r.as_dict() for r in rows],
        "next": rows[-1].id if len(rows) == limit else None,
    }


def thumbnail(session: Session, principal: Principal, camera_id: str, record_id: int) -> bytes:
    get_camera(session, principal, camera_id)
    jpeg = session.scalar(
        select(DiagnosisRecord.thumbnail).where(DiagnosisRecord.id == record_id, DiagnosisRecord.camera_id == camera_id)
    )
    if not jpeg:
        raise NotFound(f"diagnosis {record_id} of camera {camera_id} has no picture")
    return jpeg


def reference_jpeg(session: Session, principal: Principal, camera_id: str) -> bytes:
    get_camera(session, principal, camera_id)
    jpeg = session.scalar(select(CameraWatch.reference).where(CameraWatch.camera_id == camera_id))
    if not jpeg:
        raise NotFound(
            f"camera {camera_id} has no scene reference yet",
            hint="the patrol takes one from the first healthy picture, or refresh it",
        )
    return jpeg


def baseline_jpeg(session: Session, principal: Principal, camera_id: str, mode: str) -> bytes:
    get_camera(session, principal, camera_id)
    jpeg = session.scalar(
        select(CameraBaseline.reference).where(CameraBaseline.camera_id == camera_id, CameraBaseline.mode == mode)
    )
    if not jpeg:
        raise NotFound(
            f"camera {camera_id} has no {mode} baseline yet",
            hint="the patrol takes one from its first normal picture of that mode, or re-take it",
        )
    return jpeg


def faults_now(session: Session, principal: Principal, *, limit: int = 500) -> list[dict[str, Any]]:
    """Visible cameras whose stable verdict is faulty or offline, longest-standing first; each
    says whether it is commissioned (建档): without a baseline its faults are judged on the
    absolute limits, a guess that a person may refuse (误报确认)."""
    # Per faulty camera, one step down the (camera_id, id) index: never a scan of all history.
    latest = select(func.max(DiagnosisRecord.id)).where(DiagnosisRecord.camera_id == Camera.id).scalar_subquery()
    commissioned = exists().where(CameraBaseline.camera_id == Camera.id)
    stmt = (
        select(Camera, CameraWatch, latest, commissioned)
        .join(CameraWatch, CameraWatch.camera_id == Camera.id)
        .where(visibility(session, principal), or_(CameraWatch.stable != "ok", Camera.picture_fault.is_(True)))
        .order_by(CameraWatch.stable_since, Camera.id)
        .limit(max(1, min(limit, 5000)))
    )
    return [
        {
            **cam.as_dict(),
            "verdict": watch.stable,
            "since": watch.as_dict()["stable_since"],
            "faults": cam.diagnosis_faults or [],
            "error": cam.last_error,
            "diagnosed_at": cam.diagnosed_at.isoformat() if cam.diagnosed_at else None,
            "record": record_id,
            "commissioned": bool(has_baseline),
        }
        for cam, watch, record_id, has_baseline in session.execute(stmt)
    ]


def rounds(session: Session, *, limit: int = 20) -> list[dict[str, Any]]:
    stmt = select(PatrolRound).order_by(PatrolRound.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    return [r.as_dict() for r in session.scalars(stmt)]
