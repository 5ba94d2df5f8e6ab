"""Accuracy of video quality diagnosis on camera-like clips of natural scenes, held out from fitting.

    .venv/bin/python bench/vqd_accuracy.py [--workers 2] [--strengths 0,1] [--details]

The clips come from `tests.support.natural`: photographs bundled in installable packages
(scikit-learn, matplotlib, mahotas; never scikit-image's), a shaded terrain, procedural textured
and street scenes, each panned slowly with a moving object and sensor noise, under one
condition: a healthy hard case (IR night, dusk, fog, rain on the lens, backlight and flare, a
strong single-colour scene, low bit rate with blocking, a vehicle filling the view, warm street
light, a naturally soft view, a camera knocked slightly) or a fault (disc-PSF defocus and
Gaussian blur, a stuck IR-cut filter, a pushed white balance, dark, bright, noise, dirt, grey and
translucent occluders, stripes, freeze, black and blue screens, a camera turned away). Each is
encoded as H.264 (every sixth clip at 720p) and decoded again, as a camera's stream would be.

This bench reports on the held-out scenes only. The thresholds come from `bench/vqd_fit.py`,
which reads only the fit scenes and records them in video/diagnosis/fitted.json (printed here
as `thresholds_fitted_on`). Each clip is diagnosed twice:
- without reference: the absolute thresholds, as `govops video diagnose` without --camera;
- with reference: against the camera's baselines (建档), a day baseline and reference picture
  from its normal view and a night baseline from its IR picture, both taken at other moments and
  through the same encode and decode, as the patrol commissions a camera (`govops video diagnose
  --reference` takes the day one the same way, from the picture it is given).
scene_change can only be judged with a reference, so turned-away clips count only in that mode.
With `--reference-picture` the reference is instead a still picture, as an operator hands one to
`govops video diagnose --reference`: the normal view's picture before any encoding (a PNG),
a day baseline only, while the clips still go through H.264 (every sixth at 720p).

With `--size 1280x720` every clip is 720p, the size of the issue's own labelled set and of most
cameras' main streams (`--size each`: every clip at both sizes). With `--osd` every picture, the
commissioning views' too, carries a camera's OSD (tests.support.osd: the date and time ticking at
the top left, the channel name at the bottom right, Chinese; `--osd en`: ASCII, another typeface;
`--osd zh-black`: black text; `--osd zh-auto`: black over a bright picture, white over a dark one).

With `--still` the cameras do not pan: the view stands still with its moving object and its noise,
as most fixed cameras' views do. The slow pan gives the occlusion check its strongest evidence
(a cover stays put while the view moves behind it) and the freeze check a picture that always
changes; a still camera gives neither, so the regions of a view are judged by their look alone.

Prints one JSON object: per-code precision and recall, the false-alarm rate on healthy clips
(any fault), a confusion matrix (expected → reported), macro-F1 over the codes, the same two
figures for each picture size (`by_size`), and every clip whose result differs from its label.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tests.support.natural as natural
from tests.support.natural import (
    CONDITIONS,
    HEALTHY,
    HELD_OUT_SCENES,
    Clip,
    condition_frames,
    night_clip,
    normal_clip,
    write_clip,
)
from tests.support.osd import STYLES, osd_frames, write_osd_clip
from video.diagnosis import (
    FAULT_CODES,
    Baseline,
    CameraSettings,
    DiagnosisResult,
    Thresholds,
    commissioned_on,
    diagnose_frames,
    diagnose_source,
)
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import FITTED_ON

KEEP = ".keep-clips"
KEEP_METRICS = (
    "mode",
    "blur_effect",
    "edge_sharpness",
    "edge_kept",
    "step_edge_sharpness",
    "edge_spread",
    "defocus_ring",
    "baseline_edge_spread",
    "edge_spread_added",
    "blur_rule",
    "noise_sigma",
    "noise_temporal",
    "brightness_mean",
    "cast_offset",
    "cast_shift",
    "cast_light_shift",
    "cast_light_reach",
    "cast_light_whole",
    "cast_parts_green",
    "cast_parts_magenta",
    "cast_tint",
    "cast_shift_tint",
    "cast_tint_magenta",
    "cast_shift_magenta",
    "occlusion_fraction",
    "occlusion_regions",
    "occlusion_motion",
    "texture_lost",
    "look_moved",
    "reference_similarity",
    "reference_coarse",
    "reference_lost",
    "reference_hidden",
    "reference_outside",
    "noise_excess",
    "stripe_prominence",
    "stripe_amplitude",
    "stripe_rule",
    "stripe_drift",
    "stripe_max_drift",
    "stripe_visible_prominence",
    "stripe_moving_prominence",
    "stripe_static_prominence",
    "stripe_static_share",
    "stripe_roll_prominence",
    "osd_lines",
    "freeze_diff",
    "baseline_blur_effect",
    "baseline_noise_sigma",
)


SIZES = {"640x360": (640, 360), "1280x720": (1280, 720)}


def labelled_set(
    scenes: tuple[str, ...], strengths: list[float], frames: int = 10, size_name: str = "mixed"
) -> list[Clip]:
    """Every condition on every scene at every strength. `size_name` "mixed" makes every sixth
    clip 720p and the rest 640x360, "each" makes every clip at both sizes, else every clip has
    the size named."""
    clips, i = [], 0
    for condition in CONDITIONS:
        for scene in scenes:
            for strength in strengths:
                i += 1
                if size_name == "mixed":
                    sizes = [SIZES["1280x720" if i % 6 == 0 else "640x360"]]
                else:
                    sizes = list(SIZES.values()) if size_name == "each" else [SIZES[size_name]]
                for w, h in sizes:
                    clips.append(Clip(condition, scene, strength, seed=i % 8, frames=frames, width=w, height=h))
    return clips


CAMERAS = {"still": ""}  # "-still" when the cameras stand still (still_cameras)


def still_cameras() -> None:
    """Every view of tests.support.natural without its slow pan, in this process and the workers
    it forks, and their clips kept apart from the panning ones."""
    natural._view = functools.partial(natural._view, pan=0.0)
    CAMERAS["still"] = "-still"


def _path(workdir: Path, clip: Clip, osd: str | None) -> Path:
    return workdir / f"{clip.name}-{clip.t0}{f'-osd-{osd}' if osd else ''}{CAMERAS['still']}.mp4"


def _write(path: Path, clip: Clip, osd: str | None) -> None:
    if osd:
        write_osd_clip(path, clip, osd)
    else:
        write_clip(path, clip)


def _diagnose(
    clip: Clip, workdir: Path, settings: CameraSettings, raw: bool, osd: str | None = None
) -> DiagnosisResult:
    if raw:  # the pictures as the camera made them, without the encode and decode
        return diagnose_frames(osd_frames(clip, osd) if osd else condition_frames(clip), settings, clip.name)
    path = _path(workdir, clip, osd)
    keep = (workdir / KEEP).exists()  # a second pass over the same clips reads them again
    if not (keep and path.exists()):
        _write(path, clip, osd)
    try:
        return diagnose_source(str(path), settings)
    finally:
        if not keep:
            path.unlink(missing_ok=True)


def camera_key(clip: Clip) -> tuple[Any, ...]:
    return (normal_clip(clip).condition, clip.scene, clip.seed, clip.width, clip.height)


def commission(
    clip: Clip, workdir: str, raw: bool, t: Thresholds | None = None, picture: bool = False, osd: str | None = None
) -> dict[str, Baseline]:
    """The camera's baselines after commissioning: day baseline (with its reference picture) from
    its normal view, night baseline from its IR picture, each taken at another moment. With
    `picture`, only the day baseline, from the normal view's picture before any encoding, as
    `govops video diagnose --reference PICTURE` takes it. With `osd`, every picture shows the
    camera's OSD (tests.support.osd)."""
    t = t or Thresholds()
    if picture:
        normal = (osd_frames(normal_clip(clip), osd) if osd else condition_frames(normal_clip(clip)))[0]
        return dict(commissioned_on(CameraSettings(t), normal).baselines)
    baselines: dict[str, Baseline] = {}
    for view in (normal_clip(clip), night_clip(clip)):
        result = _diagnose(view, Path(workdir), CameraSettings(t), raw, osd)
        if result.frame is None:
            continue
        base = Baseline.measure(AnalysedFrame(result.frame), t, known=CameraSettings(t, None, baselines).osd)
        baselines.setdefault(base.mode, base)
    return baselines


def judge(
    clip: Clip,
    workdir: str,
    baselines: dict[str, Baseline],
    raw: bool,
    t: Thresholds | None = None,
    osd: str | None = None,
) -> dict[str, Any]:
    t = t or Thresholds()
    d = Path(workdir)
    plain = _diagnose(clip, d, CameraSettings(t), raw, osd)
    with_ref = _diagnose(clip, d, CameraSettings(t, None, baselines), raw, osd)
    return {
        "clip": clip.name,
        "condition": clip.condition,
        "scene": clip.scene,
        "strength": clip.strength,
        "size": f"{clip.width}x{clip.height}",
        "expected": clip.expected,
        "no_reference": plain.codes,
        "reference": with_ref.codes,
        "error": plain.error or with_ref.error,
        "metrics": {
            "no_reference": {k: plain.metrics.get(k) for k in KEEP_METRICS if k in plain.metrics},
            "reference": {k: with_ref.metrics.get(k) for k in KEEP_METRICS if k in with_ref.metrics},
        },
    }


def score(rows: list[dict[str, Any]], mode: str, details: bool) -> dict[str, Any]:
    rows = [r for r in rows if mode == "reference" or r["expected"] != "scene_change"]
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        expected = {r["expected"]} if r["expected"] else set()
        got = set(r[mode])
        for code in got & expected:
            tp[code] += 1
        for code in got - expected:
            fp[code] += 1
        for code in expected - got:
            fn[code] += 1
        confusion[r["expected"] or "healthy"][",".join(sorted(got)) or "healthy"] += 1
    per_code = {}
    f1s = []
    for code in FAULT_CODES:
        if mode == "no_reference" and code == "scene_change":
            continue
        p_den, r_den = tp[code] + fp[code], tp[code] + fn[code]
        precision = tp[code] / p_den if p_den else None
        recall = tp[code] / r_den if r_den else None
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision is not None and recall is not None and precision + recall > 0
            else 0.0
        )
        if r_den:
            f1s.append(f1)
        per_code[code] = {
            "precision": None if precision is None else round(precision, 3),
            "recall": None if recall is None else round(recall, 3),
            "f1": round(f1, 3),
            "tp": tp[code],
            "fp": fp[code],
            "fn": fn[code],
        }
    healthy = [r for r in rows if r["expected"] is None]
    alarms = [r for r in healthy if r[mode]]
    out: dict[str, Any] = {
        "clips": len(rows),
        "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else None,
        "healthy_clips": len(healthy),
        "false_alarm_rate": round(len(alarms) / len(healthy), 4) if healthy else None,
        "false_alarms_by_condition": dict(Counter(r["condition"] for r in alarms)),
        "per_code": per_code,
        "confusion": {k: dict(v) for k, v in sorted(confusion.items())},
    }
    out["mismatches"] = [
        {
            "clip": r["clip"],
            "expected": r["expected"],
            "got": r[mode],
            **({"metrics": r["metrics"][mode]} if details else {}),
        }
        for r in rows
        if r[mode] != ([r["expected"]] if r["expected"] else [])
    ]
    return out


def run(
    clips: list[Clip],
    workers: int,
    raw: bool,
    t: Thresholds | None = None,
    workdir: str | None = None,
    picture: bool = False,
    osd: str | None = None,
) -> list[dict[str, Any]]:
    """Commission every camera of `clips` once, then judge every clip both ways. With a
    `workdir`, the encoded clips stay there for another pass."""
    with tempfile.TemporaryDirectory(prefix="vqd-acc-") as scratch, ProcessPoolExecutor(workers) as pool:
        tmp = workdir or scratch
        if workdir:
            Path(workdir).mkdir(parents=True, exist_ok=True)
            (Path(workdir) / KEEP).touch()
        cameras = {camera_key(c): c for c in clips}
        keys = list(cameras)
        k = len(keys)
        made = pool.map(commission, [cameras[x] for x in keys], [tmp] * k, [raw] * k, [t] * k, [picture] * k, [osd] * k)
        commissioned = dict(zip(keys, made, strict=True))
        n = len(clips)
        return list(
            pool.map(
                judge,
                clips,
                [tmp] * n,
                [commissioned[camera_key(c)] for c in clips],
                [raw] * n,
                [t] * n,
                [osd] * n,
                chunksize=4,
            )
        )


def report(
    name: str, split: str, scenes: tuple[str, ...], clips: list[Clip], rows: list[dict[str, Any]], args: Any
) -> dict:
    return {
        "bench": name,
        "labelled_set": {
            "split": split,
            "scenes": list(scenes),
            "clips": len(clips),
            "conditions": len({c.condition for c in clips}),
            "healthy_conditions": [c for c in HEALTHY if any(x.condition == c for x in clips)],
            "healthy_clips": sum(1 for c in clips if c.expected is None),
            "strengths": args.strengths,
            "unreadable": sum(1 for r in rows if r["error"]),
            "encoded": not args.raw,
            "reference": "picture (not encoded)" if getattr(args, "reference_picture", False) else "clip",
            "frames_per_clip": args.frames,
            "osd": args.osd,
            "cameras": "still" if CAMERAS["still"] else "panning",
            "sizes": dict(Counter(f"{c.width}x{c.height}" for c in clips)),
        },
        "with_reference": score(rows, "reference", args.details),
        "without_reference": score(rows, "no_reference", args.details),
        "by_size": by_size(rows),
    }


def by_size(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Macro-F1 and the false-alarm rate of each picture size on its own, both ways."""
    sizes = sorted({r["size"] for r in rows})
    out = {}
    for size in sizes:
        subset = [r for r in rows if r["size"] == size]
        out[size] = {
            mode: {k: s[k] for k in ("clips", "macro_f1", "healthy_clips", "false_alarm_rate")}
            for mode, s in (
                ("with_reference", score(subset, "reference", False)),
                ("without_reference", score(subset, "no_reference", False)),
            )
        }
    return out


def arguments(description: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--strengths", default="0,1", help="strengths per condition and scene (0 = weakest), or boundary")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--conditions", default="", help="only these conditions (comma-separated)")
    ap.add_argument("--details", action="store_true", help="the measurements of every mismatch")
    ap.add_argument("--raw", action="store_true", help="skip the H.264 encode and decode (quick runs)")
    ap.add_argument("--frames", type=int, default=10, help="frames per clip (the freeze window needs 2)")
    ap.add_argument("--workdir", default=None, help="keep the encoded clips here and reuse them on the next run")
    ap.add_argument("--prepare", action="store_true", help="only encode the clips into --workdir")
    ap.add_argument(
        "--osd",
        nargs="?",
        const="zh",
        choices=STYLES,
        help="every picture shows the camera's OSD, date and time (ticking) and channel name: Chinese (the default), "
        "ASCII in another typeface, Chinese in black, or Chinese black or white by what is behind each line",
    )
    ap.add_argument(
        "--size",
        default="mixed",
        choices=["mixed", "each", *SIZES],
        help="mixed (the default): every sixth clip 720p, the rest 640x360; each: every clip at both sizes",
    )
    ap.add_argument("--still", action="store_true", help="the cameras stand still: no slow pan of the view")
    return ap


def prepare(clip: Clip, workdir: str, osd: str | None = None) -> None:
    """Encode a clip and its camera's commissioning views ahead of a run (they do not depend on
    any threshold)."""
    for view in (clip, normal_clip(clip), night_clip(clip)):
        path = _path(Path(workdir), view, osd)
        if not path.exists():
            _write(path, view, osd)


def chosen(scenes: tuple[str, ...], args: Any) -> list[Clip]:
    if args.strengths == "boundary":  # the hardest of each: faults at their weakest, healthy at their strongest
        clips = labelled_set(scenes, [0.0, 1.0], args.frames, args.size)
        clips = [c for c in clips if c.strength == (0.0 if c.expected else 1.0)]
    else:
        clips = labelled_set(scenes, [float(s) for s in args.strengths.split(",")], args.frames, args.size)
    if args.conditions:
        wanted = set(args.conditions.split(","))
        clips = [c for c in clips if c.condition in wanted]
    return clips


def main() -> None:
    ap = arguments(__doc__.splitlines()[0])
    ap.add_argument("--rows", default=None, help="also write every clip's verdicts and measurements here (JSON)")
    ap.add_argument(
        "--reference-picture", action="store_true", help="the reference is the normal view's picture, not encoded"
    )
    args = ap.parse_args()
    if args.still:
        still_cameras()
    clips = chosen(HELD_OUT_SCENES, args)
    started = time.perf_counter()
    if args.prepare:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
        (Path(args.workdir) / KEEP).touch()
        with ProcessPoolExecutor(args.workers) as pool:
            list(pool.map(prepare, clips, [args.workdir] * len(clips), [args.osd] * len(clips), chunksize=4))
        return
    rows = run(clips, args.workers, args.raw, workdir=args.workdir, picture=args.reference_picture, osd=args.osd)
    if args.rows:
        Path(args.rows).write_text(json.dumps(rows))
    out = report("vqd_accuracy", "held_out", HELD_OUT_SCENES, clips, rows, args)
    out["thresholds_fitted_on"] = FITTED_ON
    out["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
