"""Per-camera baselines (建档) in the video room's tables, and the settings a camera is judged with.

`settings_for` gives one camera's `CameraSettings` (its thresholds, scene reference and day and
night baselines); the patrol, the API's re-diagnose, the console and `govops video diagnose
--camera` all judge with it, so one picture gets one verdict wherever it is looked at.

The patrol commissions a camera by itself: its first healthy picture of a mode (day or night),
judged on the conservative absolute thresholds, becomes that mode's baseline, and the next healthy
rounds refine it. Its brightness by hour of the day keeps learning after that, one hour at a
time. A camera whose normal view the absolute thresholds call faulty (a naturally soft
lens, a scene of one colour) is commissioned by a person, as an installer accepts a camera at
onboarding (验收); so is a baseline re-taken after a deliberate change (camera moved or replaced).
Both are audited, in `ondemand`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from govops.errors import NotFound, ValidationFailed
from video.catalogue.models import Camera
from video.diagnosis import Baseline, CameraSettings, DiagnosisResult, Thresholds, load_reference
from video.diagnosis.baseline import local_hour
from video.diagnosis.checks.colour import GREY_PIXELS, PART, estimates
from video.diagnosis.checks.scene import Reference
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.overlay import without_osd
from video.diagnosis.thresholds import thresholds_for
from video.patrol.ledger import thumbnail
from video.patrol.models import CameraBaseline, CameraWatch

PATROL = "patrol"


def _reference(jpeg: bytes | None, t: Thresholds) -> Reference | None:
    if not jpeg:
        return None
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return load_reference(image, t) if image is not None else None


def baselines_of(rows: Iterable[CameraBaseline], t: Thresholds) -> dict[str, Baseline]:
    out: dict[str, Baseline] = {}
    for row in rows:
        try:
            out[row.mode] = Baseline.from_dict(row.stats, _reference(row.reference, t))
        except (KeyError, TypeError, ValueError):
            continue  # a damaged row is ignored: the camera is judged on the absolute thresholds
    return out


def settings_for(
    watch: CameraWatch | None, rows: Iterable[CameraBaseline], base: Thresholds
) -> tuple[CameraSettings, str | None]:
    """(the camera's settings, a problem with its stored overrides or None)."""
    problem: str | None = None
    try:
        t = thresholds_for((watch.thresholds if watch else None) or None, base)
    except ValidationFailed as exc:
        t, problem = base, exc.message
    ref = _reference(watch.reference if watch else None, t)
    return CameraSettings(t, ref, baselines_of(rows, t)), problem


def rows_by_camera(session: Session, camera_ids: list[str]) -> dict[str, list[CameraBaseline]]:
    out: dict[str, list[CameraBaseline]] = {}
    if not camera_ids:
        return out
    for row in session.scalars(select(CameraBaseline).where(CameraBaseline.camera_id.in_(camera_ids))):
        out.setdefault(row.camera_id, []).append(row)
    return out


def camera_settings(session: Session, camera_id: str, base: Thresholds) -> CameraSettings:
    """The settings of one camera, for `govops video diagnose --camera`."""
    if session.get(Camera, camera_id) is None:
        raise NotFound(f"camera {camera_id} not found", hint="check the ID with `govops video list`")
    settings, problem = settings_for(
        session.get(CameraWatch, camera_id), rows_by_camera(session, [camera_id]).get(camera_id, []), base
    )
    if problem:
        raise ValidationFailed(f"camera {camera_id}: {problem}", hint="fix it with `govops video thresholds`")
    return settings


def _measure(result: DiagnosisResult, settings: CameraSettings, at: datetime) -> Baseline | None:
    if result.error is not None or result.frame is None:
        return None
    frame = AnalysedFrame(result.frame)
    return Baseline.measure(frame, settings.thresholds, result.metrics.get("mode"), local_hour(at), settings.osd)


def store(
    session: Session, camera_id: str, baseline: Baseline, frame: np.ndarray, at: datetime, taken_by: str
) -> CameraBaseline:
    """Write (or overwrite) the camera's baseline of `baseline.mode`."""
    row = session.get(CameraBaseline, (camera_id, baseline.mode))
    if row is None:
        row = CameraBaseline(camera_id=camera_id, mode=baseline.mode)
        session.add(row)
    row.stats, row.samples = baseline.as_dict(), baseline.samples
    row.reference = thumbnail(frame, width=frame.shape[1])
    row.taken_at = row.updated_at = at
    row.taken_by = taken_by[:120]
    return row


def _with_new_estimates(current: Baseline, frame: np.ndarray) -> Baseline | None:
    """A settled baseline stored before it kept the grey pixels' estimate of the light (judged
    towards magenta with it) or the light of each part of the picture (a change of the light
    reaches every part): with them, from this healthy picture. None when it lacks neither, or
    the picture gives neither (too little contrast, too much of it clipped)."""
    lacks_grey = GREY_PIXELS not in current.illuminants
    lacks_parts = current.light is not None and not any(k.startswith(PART) for k in current.light)
    if not (lacks_grey or lacks_parts):
        return None
    found, light = estimates(without_osd(AnalysedFrame(frame)), grey=True)
    grey = {GREY_PIXELS: found[GREY_PIXELS]} if lacks_grey and GREY_PIXELS in found else {}
    parts = {k: v for k, v in light.items() if k.startswith(PART)} if lacks_parts else {}
    if not (grey or parts):
        return None
    return replace(
        current,
        illuminants={**current.illuminants, **grey},
        light={**current.light, **parts} if current.light is not None else None,
    )


def learn(
    session: Session, camera_id: str, settings: CameraSettings, result: DiagnosisResult, at: datetime | None = None
) -> str | None:
    """After a patrol diagnosis: commission the picture's mode if it has no baseline yet, or
    refine a young baseline, with a healthy picture; a settled one still learns its brightness
    at an hour of the day it has not seen enough of, and the estimates of the light it was stored
    without (`_with_new_estimates`). Returns "commissioned", "refined", "hour_learned" or None."""
    mode = result.metrics.get("mode")
    if mode is None or result.error is not None or result.frame is None or result.faults:
        return None
    at = at or datetime.now(UTC)
    t = settings.thresholds
    current = settings.baseline_for(mode)
    if current is not None and current.samples >= t.baseline_rounds:
        learned = _with_new_estimates(current, result.frame)
        if learned is not None:
            return "refined" if update(session, camera_id, learned, at) else None
        luma = result.metrics.get("brightness_mean")
        changed = None if luma is None else current.with_hour(local_hour(at), float(luma), t.baseline_rounds)
        outcome = "hour_learned"
    else:
        newer = _measure(result, settings, at)
        if newer is None:
            return None
        if current is None:
            store(session, camera_id, newer, result.frame, at, PATROL)
            return "commissioned"
        changed, outcome = current.refined(newer, t.baseline_rounds), "refined"
    return outcome if changed is not None and update(session, camera_id, changed, at) else None


def stored(session: Session, camera_id: str, mode: str) -> Baseline | None:
    """The statistics of the camera's baseline of `mode` as the database holds them now (None:
    none, or a damaged row)."""
    row = session.get(CameraBaseline, (camera_id, mode))
    try:
        return Baseline.from_dict(row.stats) if row is not None else None
    except (KeyError, TypeError, ValueError):
        return None


def update(session: Session, camera_id: str, baseline: Baseline, at: datetime) -> bool:
    """Write what a stored baseline learned (its picture and who took it stay); False when the
    camera has no baseline of that mode."""
    row = session.get(CameraBaseline, (camera_id, baseline.mode))
    if row is None:
        return False
    row.stats, row.samples, row.updated_at = baseline.as_dict(), baseline.samples, at
    return True


def summaries(session: Session, camera_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(CameraBaseline).where(CameraBaseline.camera_id == camera_id))
    return [r.as_dict() for r in sorted(rows, key=lambda r: r.mode)]
