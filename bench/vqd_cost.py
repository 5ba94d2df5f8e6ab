"""Cost of video quality diagnosis per camera, against a naive full-decode baseline.

    .venv/bin/python bench/vqd_cost.py [--clips 3] [--runs 4] [--naive-clips 1] [--naive-frames 25] [--seconds 2]

Clips are generated H.264 like a camera's main stream (libx264, 25 fps, a keyframe every 2 s,
rate capped at 2 Mbit/s for 720p and 4 Mbit/s for 1080p) from several scenes and conditions.
One process, one thread per diagnosis (PyAV decoder threads = 1, OpenCV threads = 1), since
the patrol spreads cameras over cores.

- `diagnose`: what `diagnose_source` does: the first keyframe and a window of 8 frames, the
  judged picture downscaled to 640 wide in the decoder's scaler, checks sharing one picture.
- `naive` (the named baseline): decode every frame of the first `--naive-clips` clips at full
  resolution (at most `--naive-frames` of them), convert each to BGR and run every check on every
  frame at full resolution, then freeze over those frames. It is costly by design, so it runs on
  a few clips only; its cost per camera is per clip, like `diagnose`'s.

`diagnose` judges against a commissioned camera's day baseline and reference picture (the
patrol's steady state: every check including scene_change); `diagnose_absolute` against the
absolute thresholds only (a camera not yet commissioned, or the CLI without --camera);
`diagnose_osd` as `diagnose`, on the same clips with a camera's OSD drawn over them (date and
time, channel name: found and filled in before the checks, see video.diagnosis.overlay).
`diagnose_frozen` diagnoses a frozen camera (one 3-second clip per resolution): its window reads
freeze, so the stream is decoded on for `freeze_confirm_s` to confirm it (checks/motion.py);
`diagnose_frozen_unconfirmed`, the named baseline of that row, stops at the window
(`freeze_confirm_s = 0`). A quiet view that the window alone took for frozen pays the same.
`cli_batch` runs `govops video diagnose` once over 60 clip paths, as a patrol shelling out
would, and reports the CPU per clip of the child process, start-up included (and a one-clip
call, to show the start-up's share).

CPU time is `time.process_time()` around each diagnosis; diagnoses per core-hour is
3,600,000 ms / CPU ms. Latency is wall time. Peak RSS is the process high-water mark, read
after the `diagnose` runs (before the naive runs inflate it) and at the end. Progress goes to
stderr; one JSON object to stdout, with the load average at start and end (the figures are CPU
time, but a loaded machine still inflates them). Goal: ≤ 60 ms CPU per 720p camera and
≤ 100 ms per 1080p camera.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av
import cv2

from tests.support.osd import draw
from tests.support.synthetic import ClipSpec, condition_frames, write_frames
from video.diagnosis import Baseline, CameraSettings, Thresholds, diagnose_source
from video.diagnosis.checks.exposure import flat_screen
from video.diagnosis.checks.motion import freeze
from video.diagnosis.diagnose import measure_frame
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.sources import read_source

RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
GOAL_MS = {"720p": 60, "1080p": 100}
CAMERA_KBPS = {"720p": 2048, "1080p": 4096}
MIX = [
    ("healthy", "crossroad", 0.0),
    ("busy", "market", 0.5),
    ("blur", "gate", 0.5),
    ("snow", "road", 0.3),
    ("static", "plaza", 0.5),
    ("stripes", "parking", 0.7),
]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))], 1)


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def progress(text: str) -> None:
    print(f"[vqd_cost {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def naive(path: Path, max_frames: int) -> list[str]:
    """Every frame at full resolution, every check on every frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        t = Thresholds(analysis_width=min(1920, stream.codec_context.width))
        lumas: list[Any] = []
        found: set[str] = set()
        for i, frame in enumerate(container.decode(stream)):
            if i >= max_frames:
                break
            picture = AnalysedFrame(frame.to_ndarray(format="bgr24"))
            lumas.append(picture.gray)
            scores = {**flat_screen(picture, t).scores, **measure_frame(picture, t).scores}
            found |= {code for code, score in scores.items() if score >= 0.5}
        found |= {c for c, s in freeze(lumas, t).scores.items() if s >= 0.5}
    return sorted(found)


def commissioned_settings(path: Path, t: Thresholds) -> CameraSettings:
    """The settings of a camera commissioned on this clip's first picture (day or night)."""
    first = diagnose_source(str(path), CameraSettings(t))
    assert first.frame is not None
    base = Baseline.measure(AnalysedFrame(first.frame), t)
    return CameraSettings(t, None, {base.mode: base})


def _cli_cpu_s(paths: list[Path]) -> tuple[float, float, int, int]:
    """(CPU s of the child, wall s, exit code, output lines) of one `govops video diagnose` call."""
    govops = Path(sys.executable).with_name("govops")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    out = subprocess.run(
        [str(govops), "video", "diagnose", *map(str, paths), "--json"], capture_output=True, check=False
    )
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu_s, wall, out.returncode, len(out.stdout.splitlines())


def cli_batch(paths: list[Path]) -> dict[str, Any]:
    """`govops video diagnose` over the clips in one call: the child's CPU, start-up included;
    and one call over a single clip, whose CPU is mostly the start-up (imports, settings)."""
    one_cpu, one_wall, _, _ = _cli_cpu_s(paths[:1])
    cpu_s, wall, code, lines = _cli_cpu_s(paths)
    return {
        "clips": len(paths),
        "exit_code": code,
        "lines": lines,
        "cpu_ms_per_clip": round(cpu_s * 1000 / len(paths), 1),
        "cpu_s_total": round(cpu_s, 2),
        "wall_s": round(wall, 2),
        "one_clip_call_cpu_ms": round(one_cpu * 1000, 1),
        "one_clip_call_wall_s": round(one_wall, 2),
        "cpu_ms_per_further_clip": round((cpu_s - one_cpu) * 1000 / max(1, len(paths) - 1), 1),
    }


def make_clips(tmp: str, count: int, seconds: float) -> dict[str, list[Path]]:
    clips: dict[str, list[Path]] = {}
    for label, (w, h) in RESOLUTIONS.items():
        clips[label] = []
        for i, (condition, scene, strength) in enumerate(MIX[:count]):
            spec = ClipSpec(condition, scene, strength, w, h, fps=25, seconds=seconds, seed=i)
            kbps = CAMERA_KBPS[label]
            path = Path(tmp) / f"{label}-{spec.name}.mp4"
            clips[label].append(write_frames(path, condition_frames(spec), fps=25, max_kbps=kbps))
            with_osd = draw(condition_frames(spec), f"雪亮-{i:02d} {scene}")  # the same pictures again
            clips.setdefault(f"{label} osd", []).append(
                write_frames(Path(tmp) / f"{label}-{spec.name}-osd.mp4", with_osd, fps=25, max_kbps=kbps)
            )
    return clips


def make_frozen(tmp: str) -> dict[str, Path]:
    """A frozen camera per resolution, three seconds: long enough to confirm the freeze."""
    out = {}
    for label, (w, h) in RESOLUTIONS.items():
        spec = ClipSpec("freeze", "crossroad", 1.0, w, h, fps=25, seconds=3.0, seed=0)
        path = Path(tmp) / f"{label}-{spec.name}.mp4"
        out[label] = write_frames(path, condition_frames(spec), fps=25, max_kbps=CAMERA_KBPS[label])
    return out


def measure(paths: list[Path], runs: int, fn: Any, what: str = "") -> dict[str, Any]:
    cpu, wall = [], []
    for run in range(runs):
        for path in paths:
            c0, w0 = time.process_time(), time.perf_counter()
            fn(path)
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
        if what:
            progress(f"{what}: {run + 1}/{runs} passes over {len(paths)} clips")
    assert cpu, "nothing was measured"
    mean_cpu = statistics.fmean(cpu)
    return {
        "diagnoses": len(cpu),
        "cpu_ms_per_camera": {"mean": round(mean_cpu, 1), "p50": pct(cpu, 50), "p95": pct(cpu, 95)},
        "diagnoses_per_core_hour": round(3_600_000 / mean_cpu),
        "diagnoses_per_s_wall": round(1000 * len(wall) / sum(wall), 1),
        "latency_ms": {"p50": pct(wall, 50), "p95": pct(wall, 95), "max": pct(wall, 100)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=3, help="clips per resolution (scene mix)")
    ap.add_argument("--runs", type=int, default=4, help="diagnoses per clip")
    ap.add_argument("--naive-clips", type=int, default=1, help="clips per resolution the naive baseline runs on")
    ap.add_argument("--naive-frames", type=int, default=25, help="frames the naive baseline analyses per clip")
    ap.add_argument("--seconds", type=float, default=2.0, help="clip length")
    ap.add_argument("--cli-clips", type=int, default=60, help="clips in the one `govops video diagnose` call")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    load_start = os.getloadavg()
    report: dict[str, Any] = {
        "bench": "vqd_cost",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "pyav": av.__version__,
            "opencv": cv2.__version__,
            "loadavg_at_start": [round(x, 2) for x in load_start],
        },
        "clip": {
            "codec": "libx264 (preset veryfast, crf 23)",
            "fps": 25,
            "gop_s": 2,
            "max_kbps": CAMERA_KBPS,
            "seconds": args.seconds,
        },
        "goal": {"cpu_ms_per_camera": GOAL_MS},
    }
    report["naive"] = {"clips_per_resolution": args.naive_clips, "frames_per_clip": args.naive_frames}
    with tempfile.TemporaryDirectory(prefix="vqd-cost-") as tmp:
        # Clips are made in a child process, so this process's peak RSS is the diagnosis's.
        progress(f"making {args.clips} clips per resolution")
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            clips = pool.submit(make_clips, tmp, args.clips, args.seconds).result()
            frozen = pool.submit(make_frozen, tmp).result()
        t = Thresholds()
        plain = CameraSettings(t)
        unconfirmed = CameraSettings(t.model_copy(update={"freeze_confirm_s": 0.0}))
        # Warm up imports, codecs and OpenCV kernels outside the measurement.
        diagnose_source(str(clips["720p"][0]), plain)
        report["peak_rss_mib_before"] = peak_rss_mib()
        for label in RESOLUTIONS:
            commissioned = {str(p): commissioned_settings(p, t) for p in clips[label]}
            osd_commissioned = {str(p): commissioned_settings(p, t) for p in clips[f"{label} osd"]}
            report[label] = {
                "diagnose": measure(
                    clips[label],
                    args.runs,
                    lambda p, c=commissioned: diagnose_source(str(p), c[str(p)]),
                    f"{label} diagnose",
                ),
                "diagnose_absolute": measure(
                    clips[label], args.runs, lambda p: diagnose_source(str(p), plain), f"{label} absolute"
                ),
                # The same clips with a camera's OSD (date, time, channel name): found and filled in.
                "diagnose_osd": measure(
                    clips[f"{label} osd"],
                    args.runs,
                    lambda p, c=osd_commissioned: diagnose_source(str(p), c[str(p)]),
                    f"{label} with OSD",
                ),
                # A frozen camera: the window reads freeze and is confirmed over more of the stream.
                "diagnose_frozen": measure(
                    [frozen[label]], args.runs, lambda p: diagnose_source(str(p), plain), f"{label} frozen"
                ),
                "diagnose_frozen_unconfirmed": measure(
                    [frozen[label]],
                    args.runs,
                    lambda p: diagnose_source(str(p), unconfirmed),
                    f"{label} frozen, window",
                ),
                # The decoding part alone (open, demux, decode, scale the judged picture).
                "decode_only_cpu_ms": measure(
                    clips[label], args.runs, lambda p: read_source(str(p), t), f"{label} decode only"
                )["cpu_ms_per_camera"]["mean"],
            }
            frozen_ms = [
                report[label][k]["cpu_ms_per_camera"]["mean"]
                for k in ("diagnose_frozen", "diagnose_frozen_unconfirmed")
            ]
            report[label]["frozen_cpu_ratio_confirmed_over_window"] = round(frozen_ms[0] / frozen_ms[1], 2)
            report[label]["frozen_verdict"] = diagnose_source(str(frozen[label]), plain).codes
        report["peak_rss_mib_after_diagnose"] = peak_rss_mib()
        for label in RESOLUTIONS:
            base = measure(clips[label][: args.naive_clips], 1, lambda p: naive(p, args.naive_frames), f"{label} naive")
            ours = report[label]["diagnose"]
            report[label]["naive_full_decode"] = base
            report[label]["cpu_ratio_naive_over_diagnose"] = round(
                base["cpu_ms_per_camera"]["mean"] / ours["cpu_ms_per_camera"]["mean"], 1
            )
            report[label]["meets_goal"] = ours["cpu_ms_per_camera"]["mean"] <= GOAL_MS[label]
        report["peak_rss_mib_at_end"] = peak_rss_mib()
        progress(f"govops video diagnose over {args.cli_clips} clips in one call")
        report["cli_batch"] = cli_batch([clips["720p"][i % len(clips["720p"])] for i in range(args.cli_clips)])
    report["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
