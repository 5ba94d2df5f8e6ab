"""运维日报 on SQLite with a week of a large district's records: p50/p95 of the report, against
reading the day's patrol verdicts alone with raw SQL.

    .venv/bin/python bench/daily_report.py [--cameras 2000] [--rounds 24] [--days 7] [--alerts 20000]
                                           [--orders 10000] [--runs 20]

The sample district gets `--cameras` cameras, `--days` days of patrol history (`--rounds` rounds a
day, every camera each round, 3% of verdicts faulty and 2% offline: 2000 × 24 × 7 = 336,000
diagnosis records), `--alerts` alerts and `--orders` work orders over the last year, and a KPI
sample an hour. Each run calls `monitoring.reports.daily.daily` for yesterday (what
`GET /api/v1/reports/daily` and `govops report daily` do). The baseline is the report's heaviest
part alone, as hand-written SQL on the raw DBAPI connection: how many cameras were diagnosed that
day, and the day's faulty and offline verdicts (rows as tuples, faults left as JSON text).
Printed as one JSON object: p50/p95 in ms, the ratio p95(report) / p95(raw), peak RSS.
Goal: p95 ≤ 1 s.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

from bench.workorders import DEPTS, pct
from gateway.runtime import Runtime
from govops.alerts import Alert
from govops.localtime import configured_zone
from govops.settings import load_settings
from monitoring.kpi_history.models import KpiSample
from monitoring.reports.daily import daily, the_day
from monitoring.workorders.models import WorkOrder
from video.catalogue.models import AdminArea, Camera
from video.patrol.models import DiagnosisRecord

CODES = ["blur", "color_cast", "occlusion", "too_dark", "noise"]


def load(rt: Runtime, args: argparse.Namespace) -> int:
    rng = random.Random(7)
    now = datetime.now(UTC)
    with rt.transaction() as s:
        grids = [a.code for a in s.scalars(select(AdminArea).where(AdminArea.level == "grid"))]
        cams = [f"31011600001329{n:06d}" for n in range(args.cameras)]
        s.execute(
            insert(Camera),
            [
                {"id": c, "name": f"bench camera {n}", "department_code": DEPTS[n % len(DEPTS)],
                 "area_code": grids[n % len(grids)], "status": "online", "created_at": now, "key_place": False,
                 "networked": True, "picture_fault": False, "profiles": [], "capabilities": {}, "presets": []}
                for n, c in enumerate(cams)
            ],
        )  # fmt: skip
        records = 0
        start = now - timedelta(days=args.days)
        for r in range(args.days * args.rounds):
            at = start + timedelta(hours=24 * r / args.rounds)
            rows = []
            for c in cams:
                roll = rng.random()
                verdict = "faulty" if roll < 0.03 else "offline" if roll < 0.05 else "ok"
                faults = [{"code": rng.choice(CODES), "score": 0.8}] if verdict == "faulty" else []
                rows.append({"camera_id": c, "at": at, "origin": "patrol", "verdict": verdict, "faults": faults,
                             "metrics": {}})  # fmt: skip
            s.execute(insert(DiagnosisRecord), rows)
            records += len(rows)
            for metric, value in (("online_rate", 0.98), ("intact_rate", 0.95), ("networking_rate", 1.0)):
                s.add(
                    KpiSample(recorded_at=at, scope="district", key="310116", name="金山区", metric=metric, value=value)
                )
        alerts = []
        for i in range(args.alerts):
            starts = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
            ended = starts + timedelta(minutes=rng.randrange(10, 600)) if rng.random() < 0.97 else None
            alerts.append(
                {"fingerprint": f"bench:{i}", "source": "video", "severity": rng.choice(["critical", "warning"]),
                 "summary": f"bench alert {i}", "labels": {}, "status": "resolved" if ended else "firing",
                 "starts_at": starts, "last_seen": ended or now, "ends_at": ended}
            )  # fmt: skip
        s.execute(insert(Alert), alerts)
        orders = []
        for _ in range(args.orders):
            c = rng.randrange(args.cameras)
            opened = now - timedelta(hours=rng.randrange(24 * 365))
            closed = opened + timedelta(hours=rng.randrange(1, 72)) if rng.random() < 0.9 else None
            orders.append(
                {"camera_id": cams[c], "camera_name": f"bench camera {c}", "area_code": grids[c % len(grids)],
                 "contractor_code": None, "key_area": False, "state": "closed" if closed else "dispatched",
                 "fault": "offline", "verdict": "offline", "sla_hours": 48, "opened_at": opened,
                 "due_at": opened + timedelta(hours=48), "closed_at": closed, "reopened": 0, "breached": False}
            )  # fmt: skip
        s.execute(insert(WorkOrder), orders)
    return records


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=2_000)
    ap.add_argument("--rounds", type=int, default=24, help="patrol rounds a day")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--alerts", type=int, default=20_000)
    ap.add_argument("--orders", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime.build(load_settings(data_dir=Path(tmp), environment="test"))
        rt.migrate()
        rt.load_sample_district()
        t0 = time.perf_counter()
        records = load(rt, args)
        load_s = time.perf_counter() - t0
        zone = configured_zone()
        day = the_day(None, zone)
        report: list[float] = []
        raw: list[float] = []
        raw_conn = rt.engine.raw_connection()
        bounds = [day.start.strftime("%Y-%m-%d %H:%M:%S.%f"), day.end.strftime("%Y-%m-%d %H:%M:%S.%f")]
        try:
            for _ in range(args.runs):
                with rt.sessions() as s:
                    t = time.perf_counter()
                    r = daily(s, rt.settings, rt.video, zone=zone)
                    report.append(time.perf_counter() - t)
                t = time.perf_counter()
                day_sql = "FROM diagnosis_records WHERE at >= ? AND at < ?"
                diagnosed = raw_conn.execute(f"SELECT count(DISTINCT camera_id) {day_sql}", bounds).fetchone()
                rows = raw_conn.execute(
                    f"SELECT camera_id, verdict, faults {day_sql} AND verdict != 'ok'", bounds
                ).fetchall()
                raw.append(time.perf_counter() - t)
        finally:
            raw_conn.close()
        assert r["video"]["diagnosed_cameras"] == args.cameras == diagnosed[0] and rows, "the day has its records"
    result: dict[str, Any] = {
        "benchmark": "daily_report",
        "database": "sqlite",
        "cameras": args.cameras,
        "diagnosis_records": records,
        "faulty_or_offline_that_day": len(rows),
        "alerts": args.alerts,
        "orders": args.orders,
        "runs": args.runs,
        "load_s": round(load_s, 2),
        "p50_ms": pct(report, 50),
        "p95_ms": pct(report, 95),
        "baseline": "the day's diagnosed-camera count and faulty/offline rows, raw SQL on the DBAPI connection",
        "raw_p50_ms": pct(raw, 50),
        "raw_p95_ms": pct(raw, 95),
        "ratio_p95": round(pct(report, 95) / max(pct(raw, 95), 0.001), 2),
        "meets_goal": pct(report, 95) <= 1000,
        "faults_that_day": r["video"]["faults"],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
