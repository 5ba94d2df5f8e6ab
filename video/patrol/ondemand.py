"""What a person asks of one camera: diagnose it now, take a new scene reference, set its
thresholds. Each reads the camera in one short transaction, looks at it with none open (a
stream can take seconds) and writes the outcome in another, audited.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from govops import audit
from govops.db import transaction
from govops.errors import NotFound, ServiceUnavailable
from govops.secretbox import SecretBox
from video.catalogue.models import Camera
from video.diagnosis import DiagnosisResult, Thresholds
from video.diagnosis.thresholds import thresholds_for
from video.patrol.ledger import Outcome, Policy, record, store_reference, watch_for
from video.patrol.models import CameraWatch
from video.patrol.rounds import Target, diagnose_target, target_for


def _target(sessions: sessionmaker[Session], box: SecretBox, camera_id: str, base: Thresholds) -> Target:
    with transaction(sessions) as session:
        cam = session.get(Camera, camera_id)
        if cam is None:
            raise NotFound(f"camera {camera_id} not found", hint="check the ID with `govops video list`")
        return target_for(cam, session.get(CameraWatch, camera_id), box, base)


def _write(
    sessions: sessionmaker[Session],
    camera_id: str,
    result: DiagnosisResult,
    policy: Policy,
    actor: str,
    action: str,
    *,
    reference: bool = False,
) -> tuple[Outcome, dict[str, Any]]:
    with transaction(sessions) as session:
        cam = session.get(Camera, camera_id)
        if cam is None:
            raise NotFound(f"camera {camera_id} was removed while it was being diagnosed")
        outcome = record(session, cam, result, origin="on_demand", policy=policy)
        if reference and result.frame is not None:
            store_reference(session, camera_id, result.frame, datetime.now(UTC))
        audit.append(
            session,
            actor=actor,
            action=action,
            target=f"camera:{camera_id}",
            detail={"verdict": outcome.verdict, "faults": result.codes},
        )
        return outcome, session.get(CameraWatch, camera_id).as_dict()  # type: ignore[union-attr]


def diagnose_now(
    sessions: sessionmaker[Session],
    box: SecretBox,
    camera_id: str,
    *,
    actor: str,
    policy: Policy = Policy(),
    base: Thresholds | None = None,
) -> dict[str, Any]:
    """Diagnose one camera now. Believed at once: a repaired camera clears its alert."""
    result = diagnose_target(_target(sessions, box, camera_id, base or Thresholds()))
    outcome, watch = _write(sessions, camera_id, result, policy, actor, "video.diagnose")
    return {"record": outcome.record_id, "verdict": outcome.verdict, **result.as_dict(), "watch": watch}


def refresh_reference(
    sessions: sessionmaker[Session],
    box: SecretBox,
    camera_id: str,
    *,
    actor: str,
    policy: Policy = Policy(),
    base: Thresholds | None = None,
) -> dict[str, Any]:
    """Take the camera's current picture as its scene reference (after a deliberate re-aim)."""
    target = _target(sessions, box, camera_id, base or Thresholds())
    # Judge the new view against no reference: the old one is what is being replaced.
    result = diagnose_target(replace(target, reference=None))
    if result.error is not None or result.frame is None or "signal_loss" in result.codes:
        raise ServiceUnavailable(
            f"camera {camera_id} gives no usable picture; the old reference is kept",
            hint=result.error or "check the camera, then try again",
        )
    outcome, watch = _write(sessions, camera_id, result, policy, actor, "video.reference.refresh", reference=True)
    return {"record": outcome.record_id, "verdict": outcome.verdict, "faults": result.codes, "watch": watch}


def set_thresholds(session: Session, camera_id: str, overrides: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """Replace a camera's threshold overrides (validated against the known names and ranges)."""
    if session.get(Camera, camera_id) is None:
        raise NotFound(f"camera {camera_id} not found", hint="check the ID with `govops video list`")
    thresholds_for(overrides)  # raises ValidationFailed naming the bad entry
    watch = watch_for(session, camera_id)
    watch.thresholds = dict(overrides)
    audit.append(
        session,
        actor=actor,
        action="video.thresholds.set",
        target=f"camera:{camera_id}",
        detail={"thresholds": dict(overrides)},
    )
    session.flush()
    return watch.as_dict()
