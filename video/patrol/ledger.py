"""Write a diagnosis down: history row with thumbnail, the camera's watch, the catalogue, alerts.

Everything for one result happens in the caller's transaction, so a crash leaves either the whole
record (history, camera status, alert) or none of it. Alerts follow the *stable* verdict: one
alert per camera (fingerprint `video.camera:<id>`), raised when the camera turns faulty or
offline, updated when the fault changes, resolved when it recovers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import cv2
import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from govops.alerts import raise_alert, resolve_alert
from video.catalogue.models import Camera
from video.catalogue.settings import VideoSettings
from video.diagnosis import DiagnosisResult
from video.diagnosis.baseline import RELATIVE
from video.patrol.models import CameraWatch, DiagnosisRecord
from video.patrol.verdict import Step, observe, verdict_of

THUMB_WIDTH = 320
ALERT_SOURCE = "video.diagnosis"
FAULT_NAMES = {
    "signal_loss": "信号丢失",
    "freeze": "画面冻结",
    "blur": "图像模糊",
    "too_dark": "画面过暗",
    "too_bright": "画面过亮",
    "color_cast": "偏色",
    "noise": "雪花噪声",
    "occlusion": "遮挡",
    "stripes": "条纹干扰",
    "scene_change": "场景变更",
}


@dataclass(frozen=True)
class Policy:
    raise_after: int = 2
    clear_after: int = 2
    history_keep: int = 500  # history rows kept per camera

    @classmethod
    def from_settings(cls, settings: VideoSettings) -> Policy:
        return cls(settings.patrol_raise_after, settings.patrol_clear_after, settings.patrol_history_keep)


@dataclass(frozen=True)
class Outcome:
    record_id: int
    verdict: str
    step: Step

    @property
    def raised(self) -> bool:
        return self.step.changed and self.step.previous == "ok"

    @property
    def cleared(self) -> bool:
        return self.step.changed and self.step.stable == "ok"


def thumbnail(frame: np.ndarray | None, width: int = THUMB_WIDTH) -> bytes | None:
    if frame is None:
        return None
    h, w = frame.shape[:2]
    if w > width:
        frame = cv2.resize(frame, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 75])
    return buf.tobytes() if ok else None


def alert_fingerprint(camera_id: str) -> str:
    return f"video.camera:{camera_id}"


def _summary(cam: Camera, result: DiagnosisResult, verdict: str) -> str:
    if verdict == "offline":
        what = f"离线 offline: {result.error or 'no picture'}"
    else:
        what = "画面故障 " + ", ".join(f"{FAULT_NAMES.get(c, c)} {c}" for c in result.codes)
        if result.without_baseline and set(result.codes) & set(RELATIVE):
            # Judged on the conservative absolute limits: a soft lens, a green lawn or a still
            # camera's dim sky may be the camera's normal, which only a person can say.
            what += (
                f" · 未建档，按绝对阈值判断 no baseline yet: if this is the camera's normal view, "
                f"误报确认 `govops video accept {cam.id}`"
            )
    return f"摄像机 {cam.name} ({cam.id}) {what}"[:500]


def watch_for(session: Session, camera_id: str) -> CameraWatch:
    watch = session.get(CameraWatch, camera_id)
    if watch is None:
        watch = CameraWatch(camera_id=camera_id, stable="ok", streak=0, alerts_raised=0, thresholds={})
        session.add(watch)
    return watch


def record(
    session: Session,
    cam: Camera,
    result: DiagnosisResult,
    *,
    origin: str,
    policy: Policy,
    round_id: int | None = None,
    at: datetime | None = None,
) -> Outcome:
    """Store one diagnosis of `cam` and move its watch, catalogue fields and alert along."""
    at = at or datetime.now(UTC)
    verdict = verdict_of(result)
    error = result.error[:500] if result.error else None
    rec = DiagnosisRecord(
        camera_id=cam.id,
        at=at,
        origin=origin,
        verdict=verdict,
        faults=[f.as_dict() for f in result.faults],
        metrics=result.metrics,
        error=error,
        elapsed_ms=round(result.elapsed_ms, 1),
        round_id=round_id,
        thumbnail=thumbnail(result.frame),
    )
    session.add(rec)
    watch = watch_for(session, cam.id)
    step = observe(
        watch.stable,
        watch.pending,
        watch.streak,
        verdict,
        raise_after=policy.raise_after,
        clear_after=policy.clear_after,
        confirmed=origin == "on_demand",
    )
    watch.stable, watch.pending, watch.streak = step.stable, step.pending, step.streak
    if step.changed or watch.stable_since is None:
        watch.stable_since = at

    # The latest finding is shown as it is; status and 完好率 follow the stable verdict.
    cam.diagnosis_faults = result.codes
    cam.diagnosed_at = at
    if verdict != "offline":
        cam.last_seen = at
    cam.last_error = error
    cam.picture_fault = step.stable == "faulty"
    cam.status = {"ok": "online", "faulty": "faulty", "offline": "offline"}[step.stable]

    fingerprint = alert_fingerprint(cam.id)
    if step.stable == "ok":
        if step.changed:
            resolve_alert(session, fingerprint)
    elif step.changed or (verdict == step.stable):
        # Raised on the change; refreshed while the fault holds (last_seen, current codes).
        if step.changed and step.previous == "ok":
            watch.alerts_raised += 1
        raise_alert(
            session,
            fingerprint=fingerprint,
            source=ALERT_SOURCE,
            severity="critical" if cam.key_place else "warning",
            summary=_summary(cam, result, verdict),
            labels={
                "camera": cam.id,
                "department": cam.department_code,
                "area": cam.area_code,
                "verdict": step.stable,
                "codes": result.codes,
            },
        )
    session.flush()
    _prune(session, cam.id, rec.id, policy.history_keep)
    return Outcome(rec.id, verdict, step)


def store_reference(session: Session, camera_id: str, frame: np.ndarray, at: datetime) -> None:
    """Keep `frame` (at the analysis size) as the camera's scene reference."""
    watch = watch_for(session, camera_id)
    watch.reference = thumbnail(frame, width=frame.shape[1])
    watch.reference_at = at


def _prune(session: Session, camera_id: str, newest: int, keep: int) -> None:
    """Keep the newest `keep` rows of a camera's history (checked when the new row's id is a
    multiple of 50, so about once every 50 writes)."""
    if newest % 50:
        return
    cutoff = session.scalar(
        select(DiagnosisRecord.id)
        .where(DiagnosisRecord.camera_id == camera_id)
        .order_by(DiagnosisRecord.id.desc())
        .offset(keep)
        .limit(1)
    )
    if cutoff is not None:
        session.execute(
            delete(DiagnosisRecord).where(DiagnosisRecord.camera_id == camera_id, DiagnosisRecord.id <= cutoff)
        )
