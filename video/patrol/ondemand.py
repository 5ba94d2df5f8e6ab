"""What a person asks of one camera: diagnose it now, re-take its baseline (建档: the reference
picture and the statistics of its normal view), set its thresholds. Each reads the camera in one
short transaction, looks at it with none open (a stream can take seconds) and writes the outcome
in another, audited. The thresholds (`base`) are the runtime's, passed down by the front door.
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
from video.diagnosis import Baseline, CameraSettings, DiagnosisResult, Thresholds, diagnose_frames
from video.diagnosis.baseline import NEVER_NORMAL, local_hour
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import thresholds_for
from video.patrol import baselines
from video.patrol.ledger import Outcome, Policy, record, store_reference, watch_for
from video.patrol.models import CameraWatch
from video.patrol.rounds import Target, diagnose_target, target_for


def _target(sessions: sessionmaker[Session], box: SecretBox, camera_id: str, base: Thresholds) -> Target:
    with transaction(sessions) as session:
        cam = session.get(Camera, camera_id)
        if cam is None:
            raise NotFound(f"camera {camera_id} not found", hint="check the ID with `govops video list`")
        rows = baselines.rows_by_camera(session, [camera_id]).get(camera_id, [])
        return target_for(cam, session.get(CameraWatch, camera_id), box, base, rows)


def _write(
    sessions: sessionmaker[Session],
    camera_id: str,
    result: DiagnosisResult,
    policy: Policy,
    actor: str,
    action: str,
    *,
    baseline: Baseline | None = None,
    settings: CameraSettings | None = None,
) -> tuple[Outcome, dict[str, Any]]:
    with transaction(sessions) as session:
        cam = session.get(Camera, camera_id)
        if cam is None:
            raise NotFound(f"camera {camera_id} was removed while it was being diagnosed")
        outcome = record(session, cam, result, origin="on_demand", policy=policy)
        detail: dict[str, Any] = {"verdict": outcome.verdict, "faults": result.codes}
        now = datetime.now(UTC)
        if baseline is not None and result.frame is not None:
            store_reference(session, camera_id, result.frame, now)
            baselines.store(session, camera_id, baseline, result.frame, now, actor)
            detail["baseline"] = baseline.summary()
        elif settings is not None:
            baselines.learn(session, camera_id, settings, result, now)
        audit.append(session, actor=actor, action=action, target=f"camera:{camera_id}", detail=detail)
        watch = session.get(CameraWatch, camera_id).as_dict()  # type: ignore[union-attr]
        return outcome, {**watch, "baselines": baselines.summaries(session, camera_id)}


def diagnose_now(
    sessions: sessionmaker[Session],
    box: SecretBox,
    camera_id: str,
    *,
    actor: str,
    base: Thresholds,
    policy: Policy = Policy(),
) -> dict[str, Any]:
    """Diagnose one camera now, with the settings the patrol uses for it. Believed at once: a
    repaired camera clears its alert."""
    target = _target(sessions, box, camera_id, base)
    result = diagnose_target(target)
    outcome, watch = _write(sessions, camera_id, result, policy, actor, "video.diagnose", settings=target.settings)
    return {"record": outcome.record_id, "verdict": outcome.verdict, **result.as_dict(), "watch": watch}


def refresh_reference(
    sessions: sessionmaker[Session],
    box: SecretBox,
    camera_id: str,
    *,
    actor: str,
    base: Thresholds,
    policy: Policy = Policy(),
) -> dict[str, Any]:
    """Re-take the camera's baseline (建档) for the mode its picture is in, day or night: its
    reference picture and the statistics of its normal view (after a deliberate change: the
    camera moved or replaced). The person vouches for the picture, but a picture that is no
    one's normal (no signal, frozen, striped, covered) is refused and the old baseline kept."""
    target = _target(sessions, box, camera_id, base)
    # Judge the new view against nothing of the old: that is what is being replaced.
    plain = replace(target, settings=CameraSettings(target.settings.thresholds))
    first = diagnose_target(plain)
    refused = sorted(set(first.codes) & set(NEVER_NORMAL))
    if first.error is not None or first.frame is None or refused:
        raise ServiceUnavailable(
            f"camera {camera_id} gives no usable picture ({', '.join(refused) or 'no picture'}); "
            "the old reference is kept",
            hint=first.error or "check the camera, then try again",
        )
    t = target.settings.thresholds
    hour = local_hour(datetime.now(UTC))
    baseline = Baseline.measure(AnalysedFrame(first.frame), t, first.metrics.get("mode"), hour)
    # The picture judged against its own new baseline: what the next round will see.
    fresh = CameraSettings(t, None, {baseline.mode: baseline})
    result = diagnose_frames([first.frame], fresh, first.source)
    result.metrics["taken_from"] = {"faults": first.codes, "basis": first.metrics.get("basis")}
    outcome, watch = _write(sessions, camera_id, result, policy, actor, "video.reference.refresh", baseline=baseline)
    return {
        "record": outcome.record_id,
        "verdict": outcome.verdict,
        "faults": result.codes,
        "baseline": baseline.summary(),
        "watch": watch,
    }


def set_thresholds(
    session: Session, camera_id: str, overrides: dict[str, Any], *, actor: str, base: Thresholds
) -> dict[str, Any]:
    """Replace a camera's threshold overrides (validated against the known names and ranges)."""
    if session.get(Camera, camera_id) is None:
        raise NotFound(f"camera {camera_id} not found", hint="check the ID with `govops video list`")
    thresholds_for(overrides, base)  # raises ValidationFailed naming the bad entry
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
