"""误报确认: what accepting a false alarm costs, against the re-diagnosis of the same picture.

    .venv/bin/python bench/vqd_accept.py [--runs 20]

The sample district on SQLite; the road camera is commissioned by a patrol round on a healthy
clip of its road, then shows a dim picture (too_dark: the hour's brightness is learned) or a
colour cast (color_cast: the baseline's statistics are re-taken). Each run times
`ondemand.diagnose_now` on the faulty picture (the baseline: what a person pays to look again)
and then `ondemand.accept_normal` on it (read the stream, judge, learn, judge again, record,
audit), and checks that the accepted picture is healthy. Prints one JSON object: p50/p95/max in
ms per action, accepts per second, the ratio p50(accept) / p50(diagnose), peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, select

from gateway import sample_district
from gateway.runtime import Runtime
from govops.settings import load_settings
from tests.support.synthetic import ClipSpec, write_condition_clip
from video.catalogue.models import Camera
from video.clips import write_clip
from video.diagnosis import Thresholds
from video.patrol import Patrol, Policy
from video.patrol.models import CameraBaseline
from video.patrol.ondemand import accept_normal, diagnose_now

CAMERA = "龙山路主干道"
FAULTS = {"hour": ("dark", 0.2), "statistics": ("cast", 0.5)}


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return round(s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] * 1000, 1)


def district(root: Path) -> Runtime:
    rt = Runtime.build(load_settings(data_dir=root / "data", environment="test"))
    rt.migrate()
    rt.settings.ensure_data_dir()
    for serial, cam in enumerate(sample_district.CAMERAS, start=1):
        write_clip(root / "clips" / f"{cam[4]}.mp4", cam[4], seed=serial)
    rt.clips_dir.symlink_to(root / "clips", target_is_directory=True)
    rt.load_sample_district()
    return rt


def run(runs: int) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="vqd-accept-"))
    rt = district(root)
    t, once = Thresholds(), Policy(raise_after=1, clear_after=1)
    with rt.transaction() as s:
        cam = s.scalars(select(Camera.id).where(Camera.name == CAMERA)).one()

    def show(clip: Path) -> None:
        with rt.transaction() as s:
            s.get(Camera, cam).stream_url = str(clip)  # type: ignore[union-attr]

    healthy = write_condition_clip(root / "healthy.mp4", ClipSpec("healthy", scene="road"))
    clips = {
        how: write_condition_clip(root / f"{c}.mp4", ClipSpec(c, scene="road", strength=s))
        for how, (c, s) in FAULTS.items()
    }
    times: dict[str, list[float]] = {"diagnose_now": [], **{f"accept_{how}": [] for how in FAULTS}}
    for _ in range(runs):
        for how, clip in clips.items():
            with rt.transaction() as s:  # commissioned afresh on the healthy picture
                s.execute(delete(CameraBaseline).where(CameraBaseline.camera_id == cam))
            show(healthy)
            Patrol(rt.sessions, rt.box, concurrency=1, thresholds=t, policy=once).run_round([cam])
            show(clip)
            started = time.perf_counter()
            seen = diagnose_now(rt.sessions, rt.box, cam, actor="bench", base=t, policy=once)
            times["diagnose_now"].append(time.perf_counter() - started)
            assert seen["faults"], seen
            started = time.perf_counter()
            out = accept_normal(rt.sessions, rt.box, cam, actor="bench", base=t, policy=once)
            times[f"accept_{how}"].append(time.perf_counter() - started)
            assert out["learned"] == how and out["faults"] == [], out
    p50 = {k: pct(v, 50) for k, v in times.items()}
    return {
        "bench": "vqd_accept",
        "runs": runs,
        "latency_ms": {k: {"p50": p50[k], "p95": pct(v, 95), "max": pct(v, 100)} for k, v in times.items()},
        "accepts_per_s": {k: round(1000 / p50[k], 1) for k in times if k.startswith("accept_")},
        "ratio_to_diagnose_now": {k: round(p50[k] / p50["diagnose_now"], 2) for k in times if k != "diagnose_now"},
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    print(json.dumps(run(max(1, ap.parse_args().runs))))


if __name__ == "__main__":
    main()
