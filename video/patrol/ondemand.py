"""What a person asks of one camera: diagnose it now, re-take its baseline (建档: the reference
picture and the statistics of its normal view), accept a false alarm as its normal (误报确认),
set its thresholds. Each reads the camera in one
short transaction, looks at it with none open (a stream can take seconds) and writes the outcome
in another, audited. The thresholds (`base`) are the runtime's, passed down by the front door.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from govops import audit
from govops.db import transaction
from govops.errors import Conflict, NotFound, ServiceUnavailable
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


# What an action keeps of the picture, in the transaction that records it: details for the audit.
Keep = Callable[[Session, datetime], dict[str, Any]]


def _write(
    sessions: sessionmaker[Session],
    camera_id: str,
    result: DiagnosisResult,
    policy: Policy,
    actor: str,
    action: str,
    keep: Keep,
) -> tuple[Outcome, dict[str, Any]]:
    with transaction(sessions) as session:
        cam = session.get(Camera, camera_id)
        if cam is None:
            raise NotFound(f"camera {camera_id} was removed while it was being diagnosed")
        outcome = record(session, cam, result, origin="on_demand", policy=policy)
        detail: dict[str, Any] = {"verdict": outcome.verdict, "faults": result.codes}
        detail.update(keep(session, datetime.now(UTC)))
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

    def learn(session: Session, now: datetime) -> dict[str, Any]:
        baselines.learn(session, camera_id, target.settings, result, now)
        return {}

    outcome, watch = _write(sessions, camera_id, result, policy, actor, "video.diagnose", learn)
    return {"record": outcome.record_id, "verdict": outcome.verdict, **result.as_dict(), "watch": watch}


# A cover judged without a baseline is read from the picture alone: a large plain region at a
# border (checks/occlusion.py), which a dim sky, a wall or water filling part of a still view is
# too. A person who sees the picture may say it is the view, and that is audited. Against a
# baseline a cover is a change from the camera's own view, and never normal.
GUESSED_COVER = "occlusion"


def _never_normal(result: DiagnosisResult, plain_is_view: bool) -> list[str]:
    """The codes of `result` that no picture may teach: NEVER_NORMAL, less a cover judged
    without a baseline when the person vouched that the plain region is the view."""
    never = set(NEVER_NORMAL)
    if plain_is_view and result.without_baseline:
        never.discard(GUESSED_COVER)
    return sorted(set(result.codes) & never)


def refresh_reference(
    sessions: sessionmaker[Session],
    box: SecretBox,
    camera_id: str,
    *,
    actor: str,
    base: Thresholds,
    policy: Policy = Policy(),
    plain_is_view: bool = False,
) -> dict[str, Any]:
    """Re-take the camera's baseline (建档) for the mode its picture is in, day or night: its
    reference picture and the statistics of its normal view (after a deliberate change: the
    camera moved or replaced). The person vouches for the picture, but a picture that is no
    one's normal (no signal, frozen, striped, covered) is refused and the old baseline kept.
    With `plain_is_view` the person also vouches that a plain region read as a cover is the
    view itself (the new view is judged without a baseline, so a cover there is a guess)."""
    target = _target(sessions, box, camera_id, base)
    # Judge the new view against nothing of the old: that is what is being replaced.
    plain = replace(target, settings=CameraSettings(target.settings.thresholds))
    first = diagnose_target(plain)
    refused = _never_normal(first, plain_is_view)
    if first.error is not None or first.frame is None or (refused and refused != [GUESSED_COVER]):
        raise ServiceUnavailable(
            f"camera {camera_id} gives no usable picture ({', '.join(refused) or 'no picture'}); "
            "the old reference is kept",
            hint=first.error or "check the camera, then try again",
        )
    if refused:
        raise Conflict(
            f"camera {camera_id}: its new view reads as covered without a baseline; the old reference is kept",
            hint="a cover judged without a baseline is a large plain region at a border; look at the picture "
            f"(`govops video history {camera_id}`): if that region is the view itself (a dim sky, a wall, "
            f"water), take it with `govops video reference {camera_id} --plain-is-view` (in the console: "
            "tick 平坦区域是场景本身); if the lens is covered, raise a work order",
        )
    vouched = sorted(set(first.codes) & {GUESSED_COVER})
    t = target.settings.thresholds
    hour = local_hour(datetime.now(UTC))
    baseline = Baseline.measure(AnalysedFrame(first.frame), t, first.metrics.get("mode"), hour)
    # The picture judged against its own new baseline: what the next round will see.
    fresh = CameraSettings(t, None, {baseline.mode: baseline})
    result = diagnose_frames([first.frame], fresh, first.source)
    result.metrics["taken_from"] = {"faults": first.codes, "basis": first.metrics.get("basis")}

    def retake(session: Session, now: datetime) -> dict[str, Any]:
        if result.frame is None:
            return {}
        store_reference(session, camera_id, result.frame, now)
        baselines.store(session, camera_id, baseline, result.frame, now, actor)
        return {"baseline": baseline.summary(), **({"vouched": vouched} if vouched else {})}

    outcome, watch = _write(sessions, camera_id, result, policy, actor, "video.reference.refresh", retake)
    return {
        "record": outcome.record_id,
        "verdict": outcome.verdict,
        "faults": result.codes,
        "baseline": baseline.summary(),
        **({"vouched": vouched} if vouched else {}),
        "watch": watch,
    }


# A false alarm of these alone is the hour of the day, not the camera's whole normal picture.
BRIGHTNESS = frozenset({"too_dark", "too_bright"})
# The audit action of an accepted false alarm; its detail lists the codes (`accepted`).
ACCEPT_ACTION = "video.baseline.accept"
CONFIRM_S = Thresholds.model_fields["freeze_confirm_s"].default  # how long a freeze is watched, by default


def _still_view_hint(camera_id: str, metrics: dict[str, Any]) -> str:
    """What to do when a picture reads frozen: a live view where nothing moves reads so once the
    encoder smooths the sensor's noise away (a low bit rate), and only a person who sees the
    camera's clock tick can tell. Its own freeze limit then, below what it shows."""
    shows = metrics.get("freeze_block_diff")
    later = metrics.get("freeze_later_s")
    watched = (
        f"this picture also stood still over the {later:g} s of stream after its window"
        if later
        else f"this picture was not watched longer: `govops video thresholds {camera_id} "
        f"freeze_confirm_s={CONFIRM_S:g}` watches a stream {CONFIRM_S:g} s more before calling it frozen"
    )
    return (
        "a live view where nothing moves reads frozen when a low bit rate smooths its noise away; "
        f"{watched}; if the camera's OSD clock ticks, raise its bit rate or set its own freeze limit below what "
        f"it shows (`govops video thresholds {camera_id} freeze_max_block_diff=…`; it shows {shows}); "
        "else raise a work order for it"
    )


def accept_normal(
    sessions: sessionmaker[Session],
    box: SecretBox,
    camera_id: str,
    *,
    actor: str,
    base: Thresholds,
    policy: Policy = Policy(),
) -> dict[str, Any]:
    """误报确认: a person says the camera's current picture is its normal, and the fault it shows
    is a false alarm (the first dusk of a camera commissioned at noon, a new warm street lamp, a
    lens that is soft by nature). The camera learns that picture without forgetting the rest:
    - brightness faults only (too_dark, too_bright): the picture's brightness becomes the normal
      of this hour of the day (China Standard Time); the baseline's picture and statistics stay;
    - any other fault judged against the baseline (blur, color_cast, noise): the statistics are
      re-taken from this picture, the brightness of every other hour kept;
    - a mode (day, night) with no baseline yet: commissioned on this picture.
    The picture is judged again against what was learned, recorded (believed at once: the alert
    clears) and audited. Nothing is learned, and nothing written, when the picture shows a fault
    that is nobody's normal (no signal, frozen, striped, covered, turned away: a camera moved on
    purpose is re-taken with `refresh_reference`), when it shows none, or when learning it would
    not clear the fault (an absolute limit: the camera's own thresholds are the way). A cover
    judged without a baseline is a guess the person may refuse (a still camera's dim sky): the
    mode is then commissioned on the picture, and a cover against a baseline is never normal."""
    target = _target(sessions, box, camera_id, base)
    first = diagnose_target(target)
    if first.error is not None or first.frame is None:
        raise ServiceUnavailable(
            f"camera {camera_id} gives no picture; nothing was learned",
            hint=first.error or "check the camera, then try again",
        )
    shown = first.codes
    refused = _never_normal(first, plain_is_view=True)
    if refused:
        hint = "raise a work order for it; a camera moved on purpose is re-taken with `govops video reference`"
        if refused == ["freeze"]:
            hint = _still_view_hint(camera_id, first.metrics)
        raise Conflict(
            f"camera {camera_id} shows {', '.join(refused)}, which is no camera's normal; nothing was learned",
            hint=hint,
        )
    if not shown:
        raise Conflict(
            f"camera {camera_id} shows no fault now: there is no false alarm to accept",
            hint="accept a false alarm while the camera shows it (`govops video rediagnose` reads it again)",
        )
    at = datetime.now(UTC)
    hour = local_hour(at)
    t = target.settings.thresholds
    mode = str(first.metrics.get("mode") or "day")
    current = target.settings.baseline_for(mode)
    luma = first.metrics.get("brightness_mean")
    if current is not None and luma is not None and set(shown) <= BRIGHTNESS:
        luma = float(luma)
        learned, how = current.normal_at(hour, luma), "hour"
    else:
        learned = Baseline.measure(AnalysedFrame(first.frame), t, mode, hour, target.settings.osd)
        how = "commissioned" if current is None else "statistics"
    fresh = replace(target.settings, baselines={**target.settings.baselines, mode: learned})
    result = diagnose_frames([first.frame], fresh, first.source, taken_at=at)
    left = sorted(set(result.codes) & set(shown))
    if left:
        raise Conflict(
            f"camera {camera_id}: {', '.join(left)} is judged on an absolute limit that its normal picture "
            "does not move; nothing was learned",
            hint="set the camera's own limit with `govops video thresholds` (e.g. dark_mean=15 for a dark view)",
        )
    result.metrics["accepted"] = {"faults": shown, "learned": how, "hour": hour}

    written: dict[str, Any] = {}

    def keep(session: Session, now: datetime) -> dict[str, Any]:
        # Applied to the baseline as it is now: the patrol may have refined it while the camera
        # was being read, and that is kept.
        latest = baselines.stored(session, camera_id, mode) or current
        if how == "hour" and latest is not None and luma is not None:
            final = latest.normal_at(hour, luma)
            baselines.update(session, camera_id, final, now)
        else:
            hours = {**((latest.hours or {}) if latest is not None else {}), **(learned.hours or {})}
            final = replace(learned, hours=hours)
            baselines.store(session, camera_id, final, first.frame, now, actor)  # type: ignore[arg-type]
        written["baseline"] = final.summary()
        return {"accepted": shown, "learned": how, "hour": hour, "mode": mode}

    outcome, watch = _write(sessions, camera_id, result, policy, actor, ACCEPT_ACTION, keep)
    return {
        "record": outcome.record_id,
        "verdict": outcome.verdict,
        "faults": result.codes,
        "accepted": shown,
        "learned": how,
        "hour": hour,
        **written,
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
