"""`/metrics` with 100,000 cameras: time and bytes of a scrape.

    .venv/bin/python bench/video_metrics.py [--cameras 100000] [--scrapes 10] [--postgresql]

The catalogue is bench/video_catalogue.py's district (2,000 grids with polygons, key grids,
five departments, the "1+2+X" platforms, 综治 with area and camera grants), loaded in bulk into
SQLite (or a throw-away PostgreSQL). The app is the real gateway; each scrape goes through HTTP
(an in-process ASGI client) to the registry with the catalogue and coverage collectors. Prints
one JSON object: scrape time p50/max, bytes, series; goal ≤ 1 s and ≤ 20 MB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastapi.testclient import TestClient
from video_catalogue import load

from gateway.app import create_app
from gateway.runtime import Runtime
from govops.settings import load_settings


def scrape(rt: Runtime, n: int, scrapes: int) -> dict[str, Any]:
    info = load(rt, n)
    client = TestClient(create_app(rt))
    times, sizes, body = [], [], ""
    for _ in range(scrapes):
        t = time.perf_counter()
        r = client.get("/metrics")
        times.append(time.perf_counter() - t)
        assert r.status_code == 200
        body = r.text
        sizes.append(len(r.content))
    series = [ln for ln in body.splitlines() if ln and not ln.startswith("#")]
    video = [ln for ln in series if ln.startswith("govops_video_")]
    return {
        **info,
        "scrape_p50_s": round(statistics.median(times), 3),
        "scrape_max_s": round(max(times), 3),
        "bytes": sizes[-1],
        "series": len(series),
        "video_series": len(video),
        "meets_goal": max(times) <= 1.0 and sizes[-1] <= 20 * 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=100_000)
    ap.add_argument("--scrapes", type=int, default=10)
    ap.add_argument("--postgresql", action="store_true", help="Also measure on PostgreSQL.")
    args = ap.parse_args()
    out: dict[str, Any] = {"benchmark": "video_metrics", "cameras": args.cameras, "goal": "scrape <= 1 s and <= 20 MB"}
    with tempfile.TemporaryDirectory(prefix="govops-bench-metrics-") as d:
        rt = Runtime.build(load_settings(data_dir=Path(d), environment="test"))
        out["sqlite"] = scrape(rt, args.cameras, args.scrapes)
        rt.engine.dispose()
    if args.postgresql:
        from tools.lab.postgres import start_postgres

        with tempfile.TemporaryDirectory(prefix="govops-bench-metrics-pg-") as d:
            pg = start_postgres(Path(d))
            try:
                rt = Runtime.build(load_settings(data_dir=Path(d) / "data", environment="test", database_url=pg.url))
                out["postgresql"] = scrape(rt, args.cameras, args.scrapes)
                rt.engine.dispose()
            finally:
                pg.stop()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
