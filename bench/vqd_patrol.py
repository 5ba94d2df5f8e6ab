"""The patrol (巡检) against many live RTSP streams at once, against a serial patrol.

    .venv/bin/python bench/vqd_patrol.py [--cameras 200] [--concurrency 200] [--mounts 20]
                                         [--serial 20] [--width 1280 --height 720]

The lab's GStreamer RTSP server on 127.0.0.1 serves `--mounts` camera streams as the cameras'
encoders made them (`copy:` mounts: H.264 clips of street scenes, a mix of healthy and faulty,
at a keyframe every second); `--cameras` catalogue cameras point at them, so every camera is a
separate RTSP session. One patrol round runs with `--concurrency` streams in flight; the
baseline is the same patrol with one stream in flight over `--serial` cameras.

Reported: round wall time, cameras per second, per-camera latency percentiles (wall time of
each diagnosis, as stored), CPU ms per camera, the patrol process's peak RSS (including the
~300 MiB of libraries every govops process maps) and the RTSP server's RSS, and the ratio of
throughputs. Prints one JSON object. Goal: ≥ 200 streams in flight per worker, < 1 GiB RSS.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from gateway.runtime import Runtime
from govops.settings import load_settings
from tests.support.synthetic import ClipSpec, write_condition_clip
from tools.lab.rtsp import start_rtsp_server
from video.catalogue.models import Camera
from video.diagnosis import Thresholds
from video.patrol import Patrol, Policy
from video.patrol.models import DiagnosisRecord

MIX = [
    ("healthy", "crossroad"),
    ("busy", "market"),
    ("healthy", "road"),
    ("dim", "parking"),
    ("blur", "gate"),
    ("freeze", "plaza"),
    ("snow", "road"),
    ("healthy", "park"),
]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))], 1) if s else 0.0


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def catalogue(rt: Runtime, urls: list[str], n: int) -> list[str]:
    ids = []
    with rt.transaction() as s:
        now = datetime.now(UTC)
        for i in range(n):
            cid = f"31011600001320{900000 + i:06d}"
            s.add(
                Camera(
                    id=cid,
                    name=f"bench {i}",
                    department_code="gaj",
                    status="unknown",
                    stream_url=urls[i % len(urls)],
                    created_at=now,
                    profiles=[],
                    capabilities={},
                    presets=[],
                )
            )
            ids.append(cid)
    return ids


def round_figures(rt: Runtime, report, cameras: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with rt.transaction() as s:
        lat = [
            r.elapsed_ms or 0.0
            for r in s.scalars(select(DiagnosisRecord).where(DiagnosisRecord.round_id == report.round_id))
        ]
    return {
        "cameras": cameras,
        "round_s": round(report.elapsed_s, 2),
        "cameras_per_s": round(cameras / report.elapsed_s, 2),
        "latency_ms": {"p50": pct(lat, 50), "p95": pct(lat, 95), "max": pct(lat, 100)},
        "cpu_ms_per_camera": round(report.cpu_s * 1000 / cameras, 1),
        "verdicts": report.counts,
        "timed_out": report.timed_out,
        "faults": report.faults,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--mounts", type=int, default=20)
    ap.add_argument("--serial", type=int, default=20)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="govops-bench-patrol-"))
    specs = []
    for i in range(args.mounts):
        cond, scene = MIX[i % len(MIX)]
        # Each RTSP session starts at the file's first keyframe; the patrol reads about a second.
        specs.append(
            ClipSpec(cond, scene, 0.6, width=args.width, height=args.height, fps=25, seconds=4, seed=i, max_kbps=2048)
        )
    # Clips are made in a child process, so this process's peak RSS is the patrol's own.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        paths = list(pool.map(write_condition_clip, [work / "clips" / f"{s.name}.mp4" for s in specs], specs))
    clips = {f"cam{i}": f"copy:{p}" for i, p in enumerate(paths)}
    server = start_rtsp_server(work, clips, timeout=60)
    try:
        rt = Runtime.build(load_settings(data_dir=work / "data"))
        rt.migrate()
        rt.load_sample_district()
        urls = list(server.urls.values())
        ids = catalogue(rt, urls, args.cameras)
        t = Thresholds(open_timeout_s=15, read_timeout_s=15)
        rss_before = rss_mib(os.getpid())
        serial = Patrol(rt.sessions, rt.box, concurrency=1, policy=Policy(), thresholds=t)
        base = serial.run_round(ids[: args.serial])
        baseline = round_figures(rt, base, args.serial)
        server_rss_idle = rss_mib(server.pid)
        peak_server = [server_rss_idle]
        patrol = Patrol(
            rt.sessions, rt.box, concurrency=args.concurrency, policy=Policy(), thresholds=t, camera_timeout_s=60
        )
        report = patrol.run_round(ids, on_result=lambda *_: peak_server.append(rss_mib(server.pid)))
        concurrent = round_figures(rt, report, args.cameras)
    finally:
        server.stop()
    print(
        json.dumps(
            {
                "bench": "vqd_patrol",
                "resolution": f"{args.width}x{args.height}",
                "cpus": os.cpu_count(),
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "rtsp_mounts": args.mounts,
                "in_flight": args.concurrency,
                "concurrent": concurrent,
                "serial_baseline": baseline,
                "throughput_ratio_vs_serial": round(concurrent["cameras_per_s"] / baseline["cameras_per_s"], 2),  # type: ignore[operator]
                "patrol_peak_rss_mib": round(report.peak_rss_mib, 1),
                "patrol_rss_before_rounds_mib": round(rss_before, 1),
                "rtsp_server_peak_rss_mib": round(max(peak_server), 1),
                "goal": {
                    "in_flight": 200,
                    "rss_mib_below": 1024,
                    "met": args.concurrency >= 200 and report.peak_rss_mib < 1024 and report.timed_out == 0,
                },
                "latency_p50_ratio_vs_serial": round(
                    concurrent["latency_ms"]["p50"] / max(1.0, baseline["latency_ms"]["p50"]), 2
                ),  # type: ignore[index]
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
