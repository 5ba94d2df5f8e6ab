"""The alert loop's benchmark: the Alertmanager receiver, the inbox list, and /metrics.

    .venv/bin/python bench/alerts_receiver.py [--batches 20] [--alerts 100000] [--cameras 100000]

1. Receiver: webhook batches of 1,000 alerts (new alerts, then the same batches replayed) through
   the real gateway (in-process ASGI client, bearer token, one transaction per batch, audit
   record, history events). Baseline, measured in the same run: a bare FastAPI endpoint that
   parses the same body and stores the same rows (one multi-row INSERT + commit) in its own SQLite
   database with the same pragmas. Reports alerts/s, batch p50/p95 and the ratio.
2. Inbox, quick look: GET /api/v1/alerts with 100,000 alerts over the sample district's few
   cameras, on SQLite. The full case (a 100,000-camera catalogue, 10,000 orders, every role,
   SQLite and PostgreSQL) is bench/alerts_inbox.py. Goal p95 <= 50 ms.
3. /metrics with 100,000 cameras (bench/video_metrics.py's catalogue); with every subsystem and
   10,000 orders it is bench/metrics_scrape.py. Goal <= 1 s and <= 20 MB. Skipped with
   --cameras 0.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastapi import Body, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert

from gateway.app import create_app
from gateway.auth import SESSION_COOKIE
from gateway.runtime import Runtime
from govops.alerts import Alert
from govops.principal import DEPT_ADMIN, OPS_ENGINEER, SECURITY_STAFF, Principal
from govops.settings import load_settings
from monitoring.inbox.receiver import parse

TOKEN = "bench-webhook-token-0123456789"


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "p95_ms": round(_p(values, 0.95) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


def _batch(b: int, size: int) -> dict[str, Any]:
    areas = [f"310116{n:03d}" for n in (1, 101, 109)]
    starts = "2026-12-05T08:00:00Z"
    return {
        "version": "4",
        "groupKey": f"bench-{b}",
        "status": "firing",
        "receiver": "govops-inbox",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "CameraFaultRateHigh",
                    "severity": "warning" if i % 5 else "critical",
                    "area": areas[i % 3],
                    "camera": f"310116000013260{(b * size + i) % 100000:05d}",
                    "department": ("gaj", "zzb", "cgj")[i % 3],
                },
                "annotations": {"summary": f"bench alert {b}-{i}", "runbook": "govops video faults"},
                "startsAt": starts,
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": f"{b:06d}{i:010d}",
            }
            for i in range(size)
        ],
    }


def _timed_posts(client: TestClient, path: str, bodies: list[dict[str, Any]], headers: dict[str, str]) -> list[float]:
    times = []
    for body in bodies:
        t = time.perf_counter()
        r = client.post(path, json=body, headers=headers)
        times.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text[:300]
    return times


def bare_app(rt: Runtime) -> FastAPI:
    """The baseline: parse the same body, store the same rows, nothing else."""
    app = FastAPI()

    @app.post("/hook")
    def hook(body: dict[str, Any] = Body()) -> dict[str, int]:
        payload = parse(body)
        now = datetime.now(UTC)
        with rt.transaction() as s:
            s.execute(
                insert(Alert),
                [
                    {
                        "fingerprint": "am:" + a.fingerprint,
                        "source": "alertmanager",
                        "severity": a.labels.get("severity", "warning"),
                        "summary": a.annotations.get("summary", ""),
                        "labels": dict(a.labels),
                        "annotations": dict(a.annotations),
                        "alertname": a.labels.get("alertname"),
                        "status": "firing",
                        "starts_at": a.startsAt,
                        "last_seen": now,
                    }
                    for a in payload.alerts
                ],
            )
        return {"stored": len(payload.alerts)}

    return app


def receiver(batches: int, size: int, base: Path) -> dict[str, Any]:
    bodies = [_batch(b, size) for b in range(batches)]
    rt = Runtime.build(load_settings(data_dir=base / "gw", environment="test", secret_key=None))
    rt.migrate()
    import os

    os.environ["GOVOPS_ALERTS_WEBHOOK_TOKEN"] = TOKEN
    client = TestClient(create_app(rt))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    new = _timed_posts(client, "/api/v1/alerts/alertmanager", bodies, headers)
    replay = _timed_posts(client, "/api/v1/alerts/alertmanager", bodies, headers)
    rt.engine.dispose()

    brt = Runtime.build(load_settings(data_dir=base / "bare", environment="test"))
    brt.migrate()
    bare = _timed_posts(TestClient(bare_app(brt)), "/hook", bodies, {})
    brt.engine.dispose()
    n = batches * size
    return {
        "batches": batches,
        "batch_size": size,
        "new_alerts_per_s": round(n / sum(new)),
        "new_batch": _ms(new),
        "replayed_alerts_per_s": round(n / sum(replay)),
        "replayed_batch": _ms(replay),
        "baseline": "bare FastAPI endpoint: same body parsed, same rows stored (one multi-row INSERT, commit)",
        "baseline_alerts_per_s": round(n / sum(bare)),
        "baseline_batch": _ms(bare),
        "ratio_new_p50_to_baseline": round(statistics.median(new) / statistics.median(bare), 2),
        "ratio_new_p95_to_baseline": round(_p(new, 0.95) / _p(bare, 0.95), 2),
    }


def _fill(rt: Runtime, n: int) -> None:
    rng = random.Random(7)
    cams = [f"3101160000132600000{i}" for i in range(1, 9)] + [f"31011600001326{i:06d}" for i in range(100, 600)]
    areas = ["310116001001G01", "310116101001G01", "310116109001G01", "310116001", "310116101"]
    depts = ["gaj", "zzb", "cgj", "xzspj", "dsjj"]
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        cam = rng.choice(cams) if i % 4 else None
        rows.append(
            {
                "fingerprint": f"bench:{i}",
                "source": rng.choice(("alertmanager", "video.diagnosis", "monitoring.notify")),
                "severity": rng.choice(("critical", "warning", "warning", "info")),
                "summary": f"bench alert {i}",
                "labels": {"camera": cam} if cam else {"alertname": "X"},
                "status": "firing" if i % 3 else "resolved",
                "starts_at": now - timedelta(seconds=n - i),
                "last_seen": now,
                "camera_id": cam,
                "area": rng.choice(areas),
                "department": rng.choice(depts),
                "platform": None,
                "alertname": "BenchAlert",
            }
        )
    with rt.transaction() as s:
        for k in range(0, n, 10_000):
            s.execute(insert(Alert), rows[k : k + 10_000])


def inbox(n: int, base: Path, runs: int = 60) -> dict[str, Any]:
    rt = Runtime.build(load_settings(data_dir=base / "inbox", environment="test"))
    rt.migrate()
    rt.settings.ensure_data_dir()
    from gateway import sample_district

    with rt.transaction() as s:  # departments, areas, platforms and grants; no clips needed
        sample_district.load(s, rt.clips_dir)
    t = time.perf_counter()
    _fill(rt, n)
    fill_s = time.perf_counter() - t
    app = create_app(rt)
    who = {
        "ops_unfiltered": (Principal("ops", "ops", frozenset({OPS_ENGINEER})), {}),
        "ops_critical_firing": (
            Principal("ops", "ops", frozenset({OPS_ENGINEER})),
            {"severity": "critical", "state": "firing"},
        ),
        "dept_admin": (Principal("d", "d", frozenset({DEPT_ADMIN}), department="cgj"), {}),
        "security_staff": (Principal("s", "s", frozenset({SECURITY_STAFF}), platform="zongzhi"), {}),
    }
    out: dict[str, Any] = {"alerts": n, "fill_s": round(fill_s, 1), "page_size": 50}
    for name, (principal, params) in who.items():
        client = TestClient(app)
        client.cookies.set(SESSION_COOKIE, app.state.local_login.open_session(principal))
        times, cursor, counts = [], None, set()
        for i in range(runs):
            q = {**params, "limit": "50", **({"cursor": cursor} if cursor and i % 2 else {})}
            t = time.perf_counter()
            r = client.get("/api/v1/alerts", params=q)
            times.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text[:200]
            page = r.json()
            cursor = page["next_cursor"] or cursor
            counts.add(len(page["items"]))
        out[name] = {**_ms(times[5:]), "items_per_page": sorted(counts)}
    worst = max(out[k]["p95_ms"] for k in who)
    out["worst_p95_ms"] = worst
    out["meets_goal"] = worst <= 50
    rt.engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--alerts", type=int, default=100_000)
    ap.add_argument("--cameras", type=int, default=100_000, help="for /metrics; 0 skips it")
    args = ap.parse_args()
    out: dict[str, Any] = {"benchmark": "alerts_receiver"}
    with tempfile.TemporaryDirectory(prefix="govops-bench-alerts-") as d:
        out["receiver"] = receiver(args.batches, args.batch_size, Path(d))
        out["inbox_sqlite"] = inbox(args.alerts, Path(d))
        if args.cameras:
            from video_metrics import scrape

            mrt = Runtime.build(load_settings(data_dir=Path(d) / "metrics", environment="test"))
            out["metrics"] = {"goal": "scrape <= 1 s and <= 20 MB", **scrape(mrt, args.cameras, 5)}
            mrt.engine.dispose()
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
