"""Diagnose one source or a list of pictures with one camera's settings: run the checks, judge
them against the camera's baseline (or the absolute thresholds), report.

Cost: every check reads the same `AnalysedFrame`, so the downscale, grey and Lab pictures are
made once; a flat screen stops the run early, since signal_loss excludes every other code.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from govops.errors import ValidationFailed
from video import pictures
from video.diagnosis.baseline import Baseline, CameraSettings, local_hour, picture_mode
from video.diagnosis.checks import Measurement, r
from video.diagnosis.checks.colour import color_cast
from video.diagnosis.checks.exposure import brightness, flat_screen
from video.diagnosis.checks.motion import freeze
from video.diagnosis.checks.noise import noise
from video.diagnosis.checks.occlusion import MIN_REGION, held_still, occlusion
from video.diagnosis.checks.scene import Reference, scene_change
from video.diagnosis.checks.sharpness import blur
from video.diagnosis.checks.stripes import stripes
from video.diagnosis.frame import AnalysedFrame, Window, luma_thumb
from video.diagnosis.overlay import Share, filled_window, where, without_osd, without_osd_at
from video.diagnosis.result import FAULT_CODES, DiagnosisResult, Fault
from video.diagnosis.sampling import Sample, SourceError
from video.diagnosis.sources import read_source, redact
from video.diagnosis.thresholds import Thresholds

log = logging.getLogger(__name__)

# The checks are CPU-bound and need about 10 MB of temporaries per picture at 640 px (float
# copies, Lab, gradients). Running more of them at once than there are cores only adds memory:
# the patrol keeps hundreds of streams in flight, and their analyses queue here instead.
ANALYSIS_SLOTS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))

ReferenceLike = Reference | np.ndarray | str | Path | None

# A fault that makes another code's measurement meaningless hides that code, in this order (a
# hidden fault hides nothing). An occluder darkens the picture and brings its own colour and soft
# edge (whether it or a new view explains the lost edges is decided first, see
# covered_not_turned); a picture too dark or too bright has no judgeable sharpness,
# colour, cover, motion or view; a new view has new colours, sharpness and texture, so the
# camera's baseline no longer applies; bands and snow wipe out or swamp the edges that
# sharpness and the view are judged on, and bands that roll are new in every picture, as snow
# is, so the noise read over the window counts them; a washed-out picture has flat clipped
# areas and snow buries the texture and boundaries a cover is judged on: neither is a cover. A
# cover may hide the part of the view where things move (the road, not the sky above it): a
# still picture is then no evidence of a frozen stream. The grey edge takes a scene's fine
# detail to average to grey, and a blur leaves only its large coloured boundaries: a blurred
# picture's colour is not judged. Hidden scores stay in the metrics.
HIDES: dict[str, tuple[str, ...]] = {
    "occlusion": ("too_dark", "blur", "color_cast", "freeze"),
    "too_dark": ("blur", "color_cast", "occlusion", "freeze", "scene_change"),
    "too_bright": ("blur", "color_cast", "scene_change", "occlusion"),
    "scene_change": ("color_cast", "blur", "noise"),
    "stripes": ("blur", "scene_change", "noise"),
    "noise": ("blur", "scene_change", "occlusion"),
    "blur": ("color_cast",),
}
# Against the reference, a view that is kept but of which at least this share of the tiles kept
# next to none of their edges is partly covered (or filled by something close): the moving part
# may be behind it, so freeze is not judged (see HIDES). A frozen picture of the view itself
# loses one tile at most (where a mover stood in the reference), on the fit scenes; in a street
# whose reference tiles held only passing cars, more. A cover also changes how that part of the
# picture looks since commissioning (its blocks lost their texture or moved away from their
# look), over at least the smallest region a cover is measured on: a frozen picture of the
# view itself does not (at most 0.054 of the blocks on the fit scenes).
COVERED_TILES = 0.25
COVER_CHANGED = MIN_REGION
# Turned away, the camera sees another view: the baseline's texture, sharpness, colour and noise
# no longer apply, and a striped thing in the new view (a flag, railings) is no interference
# (real bands over the camera's own view keep its layout, so they never meet this).
TURNED_HIDES = ("occlusion", "blur", "color_cast", "noise", "stripes")


def turned(metrics: Mapping[str, Any], t: Thresholds) -> bool:
    """The camera is turned away: the layout of light and dark is gone and so are most of the
    reference's edges (backlight or fog change the layout, not the edges; a defocus wipes out
    the edges, not the layout). False without a reference."""
    coarse, kept = metrics.get("reference_coarse"), metrics.get("reference_similarity")
    return coarse is not None and kept is not None and coarse < t.scene_turned and kept < t.scene_similarity


def covered_not_turned(metrics: Mapping[str, Any], t: Thresholds) -> bool:
    """When both a cover and a new view are found: a cover hides part of the view while the rest
    still matches the reference; a camera turned away loses the reference's edges outside the
    plain region too. So the share of the reference's edges kept where the picture still shows
    structure of its own decides, on the view-kept scale; or the cover's boundary standing still
    on the picture while the scene panned behind it (it is on the lens)."""
    return float(metrics.get("reference_outside", 0.0)) >= t.scene_similarity or held_still(metrics, t)


def partly_covered(metrics: Mapping[str, Any]) -> bool:
    """A quarter of the reference's tiles lost, and the picture changed since commissioning over
    a region a cover could be (see COVERED_TILES): the moving part may be behind a cover."""
    changed = max(float(metrics.get("texture_lost", 0.0)), float(metrics.get("look_moved", 0.0)))
    return float(metrics.get("reference_lost", 0.0)) >= COVERED_TILES and changed >= COVER_CHANGED


# The smallest picture the checks judge (its blocks are 20 and 32 pixels, its spectra's tiles
# 64): a camera's smallest sub-stream (QCIF, 176 x 144) is well above it.
MIN_WIDTH, MIN_HEIGHT = 64, 48


def too_small(frame: AnalysedFrame) -> str | None:
    """Why a picture cannot be judged (too few pixels), or None."""
    w, h = frame.size
    if w >= MIN_WIDTH and h >= MIN_HEIGHT:
        return None
    sw, sh = frame.source_size
    return f"the picture is {sw}×{sh} pixels, too small to diagnose (at least {MIN_WIDTH}×{MIN_HEIGHT})"


def _read_picture(path: Path) -> np.ndarray | None:
    try:
        return pictures.read(path) if path.is_file() else None
    except pictures.PictureTooLarge as exc:
        hint = "give a picture of the camera's normal view"
        raise ValidationFailed(f"reference {path.name}: {exc}", hint=hint) from None


def _reference_frame(reference: str | Path | np.ndarray, t: Thresholds, known: Sequence[Share] = ()) -> AnalysedFrame:
    """The picture of a reference: a picture, an image file or a clip (its first keyframe), its
    OSD filled in (also where `known` says the camera draws it). A reference that cannot be
    read is the caller's mistake, not the camera's: ValidationFailed."""
    if isinstance(reference, np.ndarray):
        frame = AnalysedFrame.from_bgr(reference, t.analysis_width)
    elif (image := _read_picture(Path(reference))) is not None:
        frame = AnalysedFrame.from_bgr(image, t.analysis_width)
    else:
        try:
            frame = read_source(str(reference), t).frames[0]
        except SourceError as exc:
            raise ValidationFailed(
                f"cannot read the reference picture {reference}: {exc}", hint="give an image file (JPEG, PNG) or a clip"
            ) from None
    small = too_small(frame)
    if small is not None:
        raise ValidationFailed(f"reference: {small}", hint="give a picture of the camera's normal view at its own size")
    return without_osd(frame, known=known)


def load_reference(reference: ReferenceLike, thresholds: Thresholds) -> Reference | None:
    """A scene `Reference` from a picture, an image file or a clip (its first keyframe)."""
    if reference is None or isinstance(reference, Reference):
        return reference
    return Reference.from_frame(_reference_frame(reference, thresholds))


def commissioned_on(settings: CameraSettings, reference: str | Path | np.ndarray) -> CameraSettings:
    """The settings with `reference` as the camera's normal picture (建档 on it, not stored): the
    baseline of its mode (day or IR night) and the scene reference, so blur, colour, noise,
    brightness and covers are judged against that camera's own normal, as the patrol judges a
    commissioned camera. A flat screen (no signal) is no one's normal: ValidationFailed."""
    t = settings.thresholds
    frame = _reference_frame(reference, t, settings.osd)
    if flat_screen(frame, t).scores["signal_loss"] >= 0.5:
        name = "" if isinstance(reference, np.ndarray) else f" {reference}"
        raise ValidationFailed(
            f"the reference picture{name} shows no signal (a flat screen)",
            hint="give a picture of the camera's normal view",
        )
    base = Baseline.measure(frame, t)
    return replace(settings, reference=base.reference, baselines={**settings.baselines, base.mode: base})


def measure_frame(
    frame: AnalysedFrame,
    t: Thresholds,
    ref: Reference | None = None,
    base: Baseline | None = None,
    lumas: Sequence[np.ndarray] = (),
    hour: int | None = None,
) -> Measurement:
    """Every per-picture check on one picture (all but signal_loss and freeze), against the
    camera's baseline for the picture's mode when there is one. `lumas` is the window after it
    (stripes: a band that rolls between frames is interference); `hour` the hour of the day it
    was taken at (local_hour), for the baseline's brightness at that hour."""
    found = Measurement()
    luma, luma_basis = base.brightness_at(hour) if base else (None, None)
    view = scene_change(frame, t, ref) if ref is not None else None
    # A camera turned away sees another scene: its baseline's periodic texture no longer applies.
    away = view is not None and turned(view.metrics, t)
    noise_m = noise(frame, t, base.noise_sigma if base else None, lumas)
    sigma = float(noise_m.metrics["noise_sigma"])
    for m in (
        brightness(frame, t, luma, hourly=luma_basis not in (None, "mode")),
        blur(
            frame,
            t,
            base.blur_effect if base else None,
            base.edge_sharpness if base else None,
            base.edge_blocks if base else None,
            lumas,
            base.edge_spread if base else None,
        ),
        color_cast(frame, t, base.illuminants if base else None, base.light if base else None),
        noise_m,
        occlusion(
            frame,
            t,
            sigma,
            base.texture if base else None,
            base.brightness if base else None,
            base.blocks if base else None,
            lumas,
        ),
        stripes(frame, t, lumas, None if base is None or away else base.periodic),
    ):
        found.scores.update(m.scores)
        found.metrics.update(m.metrics)
    if luma_basis is not None:
        found.metrics["brightness_basis"] = luma_basis
    if view is not None:
        found.scores.update(view.scores)
        found.metrics.update(view.metrics)
    return found


def without_overlay(sample: Sample, settings: CameraSettings) -> Sample:
    """The sample with the OSD lines of its first picture, and those the camera showed at
    commissioning, filled in, in every picture of it (video.diagnosis.overlay): the checks judge
    the camera's picture, not the text over it."""
    first = without_osd(sample.frames[0], sample.lumas[-1] if sample.lumas else None, settings.osd)
    if not first.osd:
        return sample
    shape = first.gray.shape
    return replace(
        sample,
        frames=[first] + [without_osd_at(f, first.osd, shape) for f in sample.frames[1:]],
        lumas=filled_window(sample.lumas, first.osd, shape),
        later=filled_window(sample.later, first.osd, shape),
    )


def judge(sample: Sample, settings: CameraSettings) -> tuple[list[Fault], dict]:
    """The faults and measurements for a decoded sample, judged with one camera's settings."""
    t = settings.thresholds
    sample = without_overlay(sample, settings)
    judged = sample.frames[0]
    w, h = judged.size
    metrics: dict = {**sample.info, "analysis_width": w, "analysis_height": h, "keyframes": len(sample.frames)}
    if judged.osd:
        metrics["osd_lines"] = where(judged.osd, (h, w))
    flat = flat_screen(judged, t)
    metrics.update(flat.metrics)
    if flat.scores["signal_loss"] >= 0.5:
        metrics.update(brightness(judged, t).metrics)
        metrics["scores"] = {"signal_loss": r(flat.scores["signal_loss"])}
        return [Fault("signal_loss", flat.scores["signal_loss"])], metrics
    mode = picture_mode(judged, t)
    base = settings.baseline_for(mode)
    ref = settings.reference_for(mode)
    # The verdict says what it was judged against: the camera's own baseline, or the absolute
    # thresholds (the conservative fallback for a camera not yet commissioned).
    metrics["mode"] = mode
    metrics["basis"] = "baseline" if base is not None else "absolute"
    if base is not None:
        metrics["baseline_samples"] = base.samples
        metrics["baseline_blur_effect"] = r(base.blur_effect)
        metrics["baseline_noise_sigma"] = r(base.noise_sigma, 2)
    hour = local_hour(sample.taken_at)
    per_frame = [measure_frame(f, t, ref, base, sample.lumas, hour) for f in sample.frames]
    scores = {code: float(np.median([m.scores[code] for m in per_frame])) for code in per_frame[0].scores}
    metrics.update(per_frame[0].metrics)
    motion = freeze(sample.lumas, t, sample.window_s, sample.later, sample.later_s)
    scores.update(motion.scores)
    metrics.update(motion.metrics)
    scores["signal_loss"] = flat.scores["signal_loss"]
    if mode == "night":
        scores["color_cast"] = 0.0  # an IR picture is grayscale by design
    coarse = metrics.get("reference_coarse")
    if coarse is not None and scores.get("blur", 0) >= 0.5 and coarse >= t.scene_coarse:
        # Defocus wipes out the fine edges but keeps the layout: the same view, blurred.
        scores["scene_change"] = min(scores.get("scene_change", 0.0), 0.45)
    metrics["scores"] = {code: r(scores[code]) for code in FAULT_CODES if code in scores}
    found = {code for code, score in scores.items() if score >= 0.5}
    hidden: set[str] = set()
    if "freeze" in found and "scene_change" not in found and partly_covered(metrics):
        hidden.add("freeze")
        found.discard("freeze")
    if base is None and {"blur", "occlusion"} <= found and not held_still(metrics, t):
        # Without a baseline: the view is blurred where it shows structure (a cover hides the
        # structure behind it; it does not blur the rest). Out of focus, a plain region's soft
        # boundary is no evidence of something on the lens, unless it stood still while the
        # view panned.
        hidden.add("occlusion")
        found.discard("occlusion")
    if {"scene_change", "occlusion"} <= found:
        # A cover, or a camera turned towards a view with a plain, soft region?
        loser = "scene_change" if covered_not_turned(metrics, t) else "occlusion"
        hidden.add(loser)
        found.discard(loser)
    if "scene_change" in found and turned(metrics, t):
        # Turned away: what differs from the baseline is the view itself.
        hidden |= found & set(TURNED_HIDES)
        found -= set(TURNED_HIDES)
    for code, hides in HIDES.items():
        if code in found:
            hidden |= found & set(hides)
            found -= set(hides)
    if hidden:
        metrics["hidden"] = sorted(hidden)
    faults = [Fault(code, scores[code]) for code in FAULT_CODES if code in found]
    return faults, metrics


def _lost(source: str, message: str, started: float) -> DiagnosisResult:
    return DiagnosisResult(
        source, [Fault("signal_loss", 1.0)], {}, (time.perf_counter() - started) * 1000, error=message
    )


def diagnose_sample(sample: Sample, source: str, settings: CameraSettings) -> DiagnosisResult:
    started = time.perf_counter()
    with ANALYSIS_SLOTS:
        faults, metrics = judge(sample, settings)
    return DiagnosisResult(source, faults, metrics, (time.perf_counter() - started) * 1000, frame=sample.frames[0].bgr)


def diagnose_frames(
    frames: Sequence[np.ndarray], settings: CameraSettings, source: str = "frames", taken_at: datetime | None = None
) -> DiagnosisResult:
    """Diagnose pictures already decoded (BGR, consecutive, any size): the first is judged,
    all of them form the freeze window. For the patrol, which reads snapshots itself.
    `taken_at`: when they were taken (now when not given), for the brightness of that hour."""
    started = time.perf_counter()
    t = settings.thresholds
    if not frames:
        return _lost(source, "no pictures to diagnose", started)
    first = AnalysedFrame.from_bgr(frames[0], t.analysis_width)
    small = too_small(first)
    if small is not None:
        return _lost(source, small, started)
    lumas = Window(
        luma_thumb(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) if f.ndim == 3 else f, t.analysis_width)
        for f in (frames if len(frames) > 1 else ())
    )
    h, w = frames[0].shape[:2]
    info = {"codec": "frames", "width": w, "height": h, "frames_decoded": len(frames)}
    sample = Sample([first], lumas, None, info, taken_at) if taken_at else Sample([first], lumas, None, info)
    result = diagnose_sample(sample, source, settings)
    result.elapsed_ms = (time.perf_counter() - started) * 1000
    return result


def diagnose_source(source: str, settings: CameraSettings) -> DiagnosisResult:
    """Diagnose a file, rtsp:// stream or http(s):// snapshot URL with one camera's settings.
    Never raises for a bad source: an unreadable one comes back as signal_loss with an `error`
    text. The one function behind the CLI, the patrol, the API's re-diagnose and the console."""
    started = time.perf_counter()
    cpu = time.thread_time()
    t = settings.thresholds
    shown = redact(source)  # camera passwords never reach a log or a printed result
    try:
        sample = read_source(source, t)
        small = too_small(sample.frames[0])
        if small is not None:
            raise SourceError(f"{small}: check that the source gives the camera's picture")
        with ANALYSIS_SLOTS:
            faults, metrics = judge(sample, settings)
    except SourceError as exc:
        log.info("diagnosis source=%s result=signal_loss error=%r", shown, str(exc))
        return _lost(shown, str(exc), started)
    except Exception as exc:  # a decoder or library failure must not end a batch
        reason = f"{type(exc).__name__}: {redact(str(exc))}"
        log.warning("diagnosis source=%s failed error=%r", shown, reason)
        return _lost(shown, f"diagnosis failed: {reason}", started)
    metrics["cpu_ms"] = r((time.thread_time() - cpu) * 1000, 1)
    result = DiagnosisResult(shown, faults, metrics, (time.perf_counter() - started) * 1000, frame=sample.frames[0].bgr)
    log.info(
        "diagnosis source=%s faults=%s basis=%s elapsed_ms=%.1f",
        shown,
        ",".join(result.codes) or "none",
        metrics.get("basis"),
        result.elapsed_ms,
    )
    return result
