"""Work-order list with 10,000 orders on SQLite: p50/p95 of the code the API runs, against the
same page read with raw SQL.

    .venv/bin/python bench/workorders.py [--orders 10000] [--cameras 2000] [--runs 300]

The sample district (3 streets, their communities and grids, 5 departments, the "1+2+X"
platforms) gets `--cameras` cameras spread over its grids and `--orders` work orders over those
cameras (most closed, as in a year of operation), three contractors by street. Each case calls
`lifecycle.list_orders` + `as_dict` (what `GET /api/v1/workorders` does) from random cursor
positions, for an ops engineer (everything), a contractor (its street) and a dept-admin (its
department's cameras, a sub-select on the catalogue). The baseline replays the same page as one
hand-written SQL statement on the raw DBAPI connection, rows fetched as tuples. Printed as one
JSON object: p50/p95 in ms per case, the ratio p95(list) / p95(raw), peak RSS. Goal: p95 ≤ 50 ms.
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

from gateway.runtime import Runtime
from govops.principal import CONTRACTOR, DEPT_ADMIN, OPS_ENGINEER, Principal
from govops.settings import load_settings
from monitoring.workorders import contractors, lifecycle
from monitoring.workorders.models import WorkOrder
from video.catalogue.models import AdminArea, Camera

LIMIT = 50
STATES = ["closed"] * 80 + ["open"] * 5 + ["dispatched"] * 10 + ["repaired"] * 5
DEPTS = ["gaj", "zzb", "cgj", "dsjj", "xzspj"]


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return round(s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] * 1000, 3)


def load(rt: Runtime, n_cameras: int, n_orders: int) -> dict[str, Any]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    with rt.transaction() as s:
        grids = [a.code for a in s.scalars(select(AdminArea).where(AdminArea.level == "grid"))]
        streets = sorted({g[:9] for g in grids})
        for i, st in enumerate(streets):
            contractors.add_contractor(s, f"c{i}", f"运维{i}", None, actor="bench")
            contractors.assign_area(s, f"c{i}", st, key_area=i == 0, actor="bench")
        cams = [
            {
                "id": f"31011600001329{n:06d}",
                "name": f"bench camera {n}",
                "department_code": DEPTS[n % len(DEPTS)],
                "area_code": grids[n % len(grids)],
                "status": "offline",
                "created_at": now,
                "key_place": False,
                "networked": True,
                "picture_fault": False,
                "profiles": [],
                "capabilities": {},
                "presets": [],
            }
            for n in range(n_cameras)
        ]
        s.execute(insert(Camera), cams)
        rows = []
        for _ in range(n_orders):
            cam = cams[rng.randrange(n_cameras)]
            opened = now - timedelta(hours=rng.randrange(24 * 365))
            rows.append(
                {
                    "camera_id": cam["id"],
                    "camera_name": cam["name"],
                    "area_code": cam["area_code"],
                    "contractor_code": f"c{streets.index(cam['area_code'][:9])}",
                    "key_area": False,
                    "state": rng.choice(STATES),
                    "fault": "摄像机 离线 offline: no picture",
                    "verdict": "offline",
                    "sla_hours": 48,
                    "opened_at": opened,
                    "due_at": opened + timedelta(hours=48),
                    "reopened": 0,
                    "breached": False,
                }
            )
        s.execute(insert(WorkOrder), rows)
    return {"streets": streets}


def raw_page(conn: Any, where: str, params: list[Any], after: int | None) -> list[tuple[Any, ...]]:
    sql = f"SELECT * FROM work_orders WHERE {where}"
    if after is not None:
        sql += " AND id < ?"
        params = [*params, after]
    cur = conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, LIMIT + 1])
    return cur.fetchall()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=10_000)
    ap.add_argument("--cameras", type=int, default=2_000)
    ap.add_argument("--runs", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime.build(load_settings(data_dir=Path(tmp), environment="test"))
        rt.migrate()
        rt.load_sample_district()
        t0 = time.perf_counter()
        load(rt, args.cameras, args.orders)
        load_s = time.perf_counter() - t0
        cases = {
            "ops": (Principal("o", "o", frozenset({OPS_ENGINEER})), "1 = 1", []),
            "contractor": (
                Principal("c", "c", frozenset({CONTRACTOR}), contractor="c1"),
                "contractor_code = ?",
                ["c1"],
            ),
            "dept_admin": (
                Principal("d", "d", frozenset({DEPT_ADMIN}), department="cgj"),
                "camera_id IN (SELECT id FROM cameras WHERE department_code = ?)",
                ["cgj"],
            ),
        }
        rng = random.Random(11)
        out: dict[str, Any] = {}
        raw_conn = rt.engine.raw_connection()
        try:
            for name, (who, where, params) in cases.items():
                api: list[float] = []
                raw: list[float] = []
                sizes = 0
                for i in range(args.runs):
                    after = None if i % 4 == 0 else rng.randrange(1, args.orders)
                    with rt.transaction() as s:
                        t = time.perf_counter()
                        rows, nxt = lifecycle.list_orders(s, who, after=after, limit=LIMIT)
                        body = {"items": [o.as_dict() for o in rows], "next_cursor": nxt}
                        api.append(time.perf_counter() - t)
                    sizes += len(body["items"])
                    t = time.perf_counter()
                    raw_rows = raw_page(raw_conn, where, params, after)
                    raw.append(time.perf_counter() - t)
                    assert len(raw_rows[:LIMIT]) == len(rows)  # the same page
                assert sizes > 0
                out[name] = {
                    "p50_ms": pct(api, 50),
                    "p95_ms": pct(api, 95),
                    "raw_p50_ms": pct(raw, 50),
                    "raw_p95_ms": pct(raw, 95),
                    "ratio_p95": round(pct(api, 95) / max(pct(raw, 95), 0.001), 2),
                    "meets_goal": pct(api, 95) <= 50,
                }
        finally:
            raw_conn.close()
    result = {
        "benchmark": "workorders_list",
        "database": "sqlite",
        "orders": args.orders,
        "cameras": args.cameras,
        "runs": args.runs,
        "page": LIMIT,
        "load_s": round(load_s, 2),
        "baseline": "the same page as raw SQL on the DBAPI connection, rows as tuples",
        "cases": out,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
