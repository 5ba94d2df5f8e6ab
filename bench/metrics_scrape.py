"""`/metrics` with 100,000 cameras, 10,000 work orders and every subsystem: time, bytes, memory.

    .venv/bin/python bench/metrics_scrape.py [--cameras 100000] [--alerts 100000] [--orders 10000]
        [--scrapes 20] [--only sqlite|postgresql]

The data: bench/alerts_inbox.py's district (100,000 cameras over 2,000 grids, the "1+2+X"
platforms with area and camera grants, 100,000 alerts, 10,000 orders with five contractors), plus
every other subsystem a collector reads: 8% of the cameras faulty or offline with their fault
codes, patrol rounds of four shards, 500 Pulumi runs, 60 cluster hosts over 20 runs with their
baseline evidence, 5,000 issued certificates and a CRL, 500 sign-in failures in the audit log.

Each scrape is `GET /metrics` through the real gateway (in-process ASGI client). Reported: p50,
p95 and max seconds; the body's bytes and series; the peak of Python memory allocated during one
scrape (tracemalloc) and the process's peak RSS; the gateway process's CPU seconds per scrape
beside the wall clock (the machine may be shared; on PostgreSQL the server's time is only in the
wall clock). The named baseline, measured in the same run:
the SQL statements one scrape sends (captured at the driver), replayed on the raw DBAPI
connection with every row fetched, i.e. the database's share of a scrape; ratio = scrape p50 /
SQL p50. Goal: ≤ 1 s and ≤ 20 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from alerts_inbox import fill as fill_inbox
from databases import on_each_database
from fastapi.testclient import TestClient
from sqlalchemy import event, insert, select, text, update

from gateway.app import create_app
from gateway.runtime import Runtime
from identity.models import IssuedCertificate, PublishedCrl
from infra.cluster.models import ClusterHostResult, ClusterRun
from infra.provisioning.models import CloudRun
from video.catalogue.models import Camera
from video.patrol.models import PatrolRound

FAULTS = [["blur"], ["too_dark"], ["color_cast"], ["noise", "blur"], ["freeze"], ["signal_loss"]]


def _p(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def fill_rest(rt: Runtime) -> dict[str, Any]:
    """Every other subsystem's stored state."""
    t0 = time.perf_counter()
    rng = random.Random(9)
    now = datetime.now(UTC)
    with rt.transaction() as s:
        ids = list(s.scalars(select(Camera.id)))
        bad = rng.sample(ids, len(ids) * 8 // 100)
        for k in range(0, len(bad), 5000):
            chunk = bad[k : k + 5000]
            for j, faults in enumerate(FAULTS):
                part = chunk[j :: len(FAULTS)]
                s.execute(
                    update(Camera)
                    .where(Camera.id.in_(part))
                    .values(status="faulty" if j % 2 else "offline", diagnosis_faults=faults, picture_fault=True)
                )
        for shard in range(4):
            for r in range(50):
                at = now - timedelta(minutes=10 * (50 - r))
                s.add(
                    PatrolRound(
                        shard=shard,
                        shards=4,
                        started_at=at,
                        finished_at=at + timedelta(minutes=8),
                        status="done",
                        cameras=len(ids) // 4,
                        ok=len(ids) // 4 - 2000,
                        faulty=1000,
                        offline=1000,
                    )
                )
        s.execute(
            insert(CloudRun),
            [
                {
                    "stack": f"tenant-{i % 20}",
                    "kind": ("preview", "up", "refresh", "drift")[i % 4],
                    "status": "succeeded" if i % 9 else "failed",
                    "actor": "bench",
                    "started_at": now - timedelta(hours=500 - i),
                    "finished_at": now - timedelta(hours=500 - i) + timedelta(minutes=3),
                    "summary": {},
                    "log": "",
                    "changes": [{"urn": f"r{j}"} for j in range(i % 3)],
                }
                for i in range(500)
            ],
        )
        for r in range(20):
            run = ClusterRun(
                kind="check" if r % 2 else "apply",
                playbook="site.yml",
                inventory="lab",
                status="succeeded",
                actor="bench",
                started_at=now - timedelta(hours=20 - r),
                finished_at=now - timedelta(hours=20 - r) + timedelta(minutes=5),
            )
            s.add(run)
            s.flush()
            controls = [{"id": f"c{k}", "status": "applied" if k % 7 else "failed"} for k in range(40)]
            s.execute(
                insert(ClusterHostResult),
                [
                    {
                        "run_id": run.id,
                        "host": f"host-{h:02d}",
                        "status": "unreachable" if h == r else "ok",
                        "diffs": [],
                        "controls": {"controls": controls},
                    }
                    for h in range(60)
                ],
            )
        s.execute(
            insert(IssuedCertificate),
            [
                {
                    "serial": f"{i:040X}",
                    "kind": ("civil-servant", "server")[i % 10 == 0],
                    "common_name": f"cs{i}",
                    "subject": f"CN=cs{i}",
                    "not_before": now - timedelta(days=300),
                    "not_after": now + timedelta(days=(i % 400) - 20),
                    "fingerprint_sha256": f"{i:064x}",
                    "pem": "-",
                    "issued_by": "bench",
                    "issued_at": now - timedelta(days=300),
                    "revoked_at": now if i % 50 == 0 else None,
                }
                for i in range(5000)
            ],
        )
        s.add(PublishedCrl(number=1, this_update=now, next_update=now + timedelta(days=1), revoked_count=100, der=b"-"))
    # Sign-in failures: the audit log is a keyed chain, written through its own API.
    from govops import audit

    with rt.transaction() as s:
        for i in range(500):
            audit.append(
                s,
                actor=f"user{i % 50}",
                action="auth.login" if i % 2 else "identity.login.certificate",
                target="gateway",
                result="failure",
            )
    with rt.engine.begin() as c:
        c.execute(text("ANALYZE"))
    return {"fill_rest_s": round(time.perf_counter() - t0, 1)}


def _replay(rt: Runtime, statements: list[tuple[str, Any]], runs: int) -> list[float]:
    raw = rt.engine.raw_connection()
    try:
        times = []
        for _ in range(runs):
            cur = raw.cursor()
            t = time.perf_counter()
            for sql, params in statements:
                cur.execute(sql, params)
                if cur.description is not None:
                    cur.fetchall()
            times.append(time.perf_counter() - t)
            cur.close()
            raw.rollback()
        return times
    finally:
        raw.close()


def scrape(rt: Runtime, scrapes: int) -> dict[str, Any]:
    client = TestClient(create_app(rt))
    assert client.get("/metrics").status_code == 200  # warm the statement caches
    times, cpu, body = [], [], b""
    for _ in range(scrapes):
        t, c = time.perf_counter(), time.process_time()
        r = client.get("/metrics")
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        assert r.status_code == 200
        body = r.content
    tracemalloc.start()
    client.get("/metrics")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    event.listen(rt.engine, "before_cursor_execute", capture)
    client.get("/metrics")
    event.remove(rt.engine, "before_cursor_execute", capture)
    sql = _replay(rt, captured, scrapes)
    lines = body.decode().splitlines()
    series = [ln for ln in lines if ln and not ln.startswith("#")]
    families = {ln.split()[2] for ln in lines if ln.startswith("# TYPE")}
    p50 = statistics.median(times)
    return {
        "scrape_p50_s": round(p50, 3),
        "scrape_p95_s": round(_p(times, 0.95), 3),
        "scrape_max_s": round(max(times), 3),
        "scrape_cpu_p50_s": round(statistics.median(cpu), 3),
        "scrape_cpu_p95_s": round(_p(cpu, 0.95), 3),
        "bytes": len(body),
        "series": len(series),
        "families": len(families),
        "scrape_peak_alloc_mib": round(peak / 2**20, 2),
        "baseline": "the scrape's own SQL statements replayed on the raw DBAPI connection, all rows fetched",
        "statements": len(captured),
        "baseline_p50_s": round(statistics.median(sql), 3),
        "ratio_p50_to_baseline": round(p50 / max(statistics.median(sql), 1e-6), 2),
        "meets_goal": _p(times, 0.95) <= 1.0 and len(body) <= 20 * 2**20 and peak <= 20 * 2**20,
    }


def run(rt: Runtime, args: argparse.Namespace) -> dict[str, Any]:
    info = fill_inbox(rt, args.cameras, args.alerts, args.orders)
    info.update(fill_rest(rt))
    return {**info, **scrape(rt, args.scrapes)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=100_000)
    ap.add_argument("--alerts", type=int, default=100_000)
    ap.add_argument("--orders", type=int, default=10_000)
    ap.add_argument("--scrapes", type=int, default=20)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args()
    out: dict[str, Any] = {
        "benchmark": "metrics_scrape",
        "cameras": args.cameras,
        "alerts": args.alerts,
        "orders": args.orders,
        "goal": "scrape <= 1 s and <= 20 MB",
    }
    out |= on_each_database(args.only, "metrics", lambda rt: run(rt, args))
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
