"""A 1,000,000-camera catalogue: a filtered, keyset-paged list, on SQLite and on PostgreSQL.

    .venv/bin/python bench/video_catalogue.py [--cameras 1000000] [--runs 200] [--only sqlite|postgresql]

The district has 20 streets × 10 communities × 10 grids (2,000 grids), five departments, the
"1+2+X" platforms, and 综治 holds area grants on three streets plus 1,000 single-camera grants.
Cameras are bulk-loaded (executemany on SQLite, COPY on PostgreSQL) through the real migrations.

Each case runs `list_cameras` (the code the API runs: the viewer's grants and area subtrees
resolved, the page read as `CameraRow` tuples through statements compiled once per shape) from
random keyset positions, then replays exactly the SQL it sent, statement for statement with the
same parameters (captured at the driver by `before_cursor_execute`), on a raw DBAPI connection:
same query shape, same values, only the Python around them differs. For reference it also times
the ORM-entity way of reading the same page (`select(Camera)` + `load_only`, the same WHERE
clause, built per call: what list_cameras did before). Printed as one JSON object: p50/p95 in ms
per case and database, the ratio p95(list_cameras) / p95(same raw SQL), and the page query
alone. Goal: p95 ≤ 50 ms and ≤ 2× raw.

The named baseline is SQLAlchemy's own compiled-statement cache: the same list_cameras with
statements built per call and run through `Connection.execute`, as it stood when it was tried
(#11). Its code is read from git (the parent of the commit that brought prepared.py back, or
--baseline REV) into private modules and timed in the same loop, call by call, so
`ratio_vs_sqlalchemy_cache_*` = p(list_cameras) / p(SQLAlchemy's cache) in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event
from sqlalchemy.orm import load_only

from gateway.runtime import Runtime
from gateway.sample_district import DEPARTMENTS, PLATFORMS
from govops.org import Department
from govops.principal import DEPT_ADMIN, OPS_ENGINEER, SECURITY_STAFF, Principal
from govops.settings import load_settings
from video.catalogue.models import AdminArea, Camera, ShareGrant, SharePlatform
from video.catalogue.queries import LIST_COLUMNS, CameraFilter, camera_query, list_cameras
from video.catalogue.tree import polygon_km2

ROOT = Path(__file__).resolve().parents[1]
STREETS, COMMUNITIES, GRIDS = 20, 10, 10
STATUSES = ["online"] * 90 + ["offline"] * 5 + ["faulty"] * 3 + ["unknown"] * 2
LIMIT = 50


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return round(s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] * 1000, 2)


def grid_codes() -> list[str]:
    return [
        f"310116{s:03d}{c:03d}G{g:02d}"
        for s in range(1, STREETS + 1)
        for c in range(1, COMMUNITIES + 1)
        for g in range(1, GRIDS + 1)
    ]


def camera_id(i: int) -> str:
    # 1M serials need more than one 14-digit prefix: vary the type code (131/132) and network.
    prefix = ["13260", "13160", "13250", "13150"][i // 999_999]
    return f"3101160000{prefix[:3]}{prefix[3]}{i % 999_999 + 1:06d}"


def rows(n: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    grids = grid_codes()
    depts = [d[0] for d in DEPARTMENTS]
    now = datetime.now(UTC).isoformat()
    for i in range(n):
        g = grids[rng.randrange(len(grids))]
        yield (
            camera_id(i),
            f"摄像机{i:07d}",
            depts[rng.randrange(len(depts))],
            g,
            round(30.7 + rng.random() * 0.3, 6),
            round(121.0 + rng.random() * 0.4, 6),
            rng.random() < 0.1,
            STATUSES[rng.randrange(100)],
            rng.random() < 0.97,
            now,
        )


def load(rt: Runtime, n: int) -> dict[str, Any]:
    """Areas, departments, platforms and grants through the ORM; cameras in bulk."""
    t0 = time.perf_counter()
    rt.migrate()
    with rt.transaction() as s:
        for code, name, zone in DEPARTMENTS:
            s.merge(Department(code=code, name=name, sso_group=f"/310116/{code}", zone=zone))
        s.merge(AdminArea(code="310116", name="金山区", level="district", parent_code=None))
        s.flush()
        for st in range(1, STREETS + 1):
            sc = f"310116{st:03d}"
            s.add(AdminArea(code=sc, name=f"街镇{st}", level="street", parent_code="310116"))
            for c in range(1, COMMUNITIES + 1):
                cc = f"{sc}{c:03d}"
                s.add(AdminArea(code=cc, name=f"社区{st}-{c}", level="community", parent_code=sc))
                for g in range(1, GRIDS + 1):
                    lon, lat = 121.0 + (st - 1) * 0.02 + (g - 1) * 0.002, 30.7 + (c - 1) * 0.002
                    ring = [[lon, lat], [lon + 0.002, lat], [lon + 0.002, lat + 0.002], [lon, lat + 0.002], [lon, lat]]
                    s.add(
                        AdminArea(
                            code=f"{cc}G{g:02d}",
                            name=f"网格{st}-{c}-{g}",
                            level="grid",
                            parent_code=cc,
                            key_place=g == 1,
                            geometry={"type": "Polygon", "coordinates": [ring]},
                            area_km2=polygon_km2({"type": "Polygon", "coordinates": [ring]}),
                        )
                    )
        s.flush()
        for code, name, kind, parent in PLATFORMS:
            s.add(SharePlatform(code=code, name=name, kind=kind, parent_code=parent))
        s.flush()
        now = datetime.now(UTC)
        for st in (3, 7, 11):
            s.add(
                ShareGrant(
                    platform_code="zongzhi",
                    subject_kind="area",
                    subject_id=f"310116{st:03d}",
                    reason="bench",
                    granted_by="bench",
                    created_at=now,
                )
            )
        rng = random.Random(3)
        for i in rng.sample(range(n), min(1000, n)):
            s.add(
                ShareGrant(
                    platform_code="zongzhi",
                    subject_kind="camera",
                    subject_id=camera_id(i),
                    reason="bench",
                    granted_by="bench",
                    created_at=now,
                )
            )
    cols = (
        "id, name, department_code, area_code, lat, lon, key_place, status, networked, created_at, "
        "profiles, capabilities, presets, picture_fault"
    )
    dialect = rt.engine.dialect.name
    raw = rt.engine.raw_connection()
    try:
        cur = raw.cursor()
        if dialect == "postgresql":
            with cur.copy(f"COPY cameras ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for r in rows(n):
                    copy.write_row((*r, "[]", "{}", "[]", False))
        else:
            batch: list[tuple[Any, ...]] = []
            sql = f"INSERT INTO cameras ({cols}) VALUES (?,?,?,?,?,?,?,?,?,?,'[]','{{}}','[]',0)"
            cur.execute("BEGIN")
            for r in rows(n):
                batch.append(r)
                if len(batch) == 50_000:
                    cur.executemany(sql, batch)
                    batch.clear()
            if batch:
                cur.executemany(sql, batch)
            cur.execute("COMMIT")
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return {"load_s": round(time.perf_counter() - t0, 1)}


# --- the cases ---------------------------------------------------------------------------------

CASES: dict[str, tuple[Principal, CameraFilter]] = {
    "ops: street + online": (
        Principal("b", "ops", frozenset({OPS_ENGINEER})),
        CameraFilter(area="310116005", status="online"),
    ),
    "ops: one grid": (Principal("b", "ops", frozenset({OPS_ENGINEER})), CameraFilter(area="310116005003G07")),
    "综治 staff: shared + online": (
        Principal("b", "zz", frozenset({SECURITY_STAFF}), platform="zongzhi"),
        CameraFilter(status="online"),
    ),
    "dept admin: key places": (
        Principal("b", "cgj", frozenset({DEPT_ADMIN}), department="cgj"),
        CameraFilter(key_place=True),
    ),
}


def capture(rt: Runtime, principal: Principal, f: CameraFilter, after: str) -> list[tuple[str, Any]]:
    """The SQL statements (with their parameters) one list_cameras call sends to the driver."""
    seen: list[tuple[str, Any]] = []

    def hook(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(rt.engine, "before_cursor_execute", hook)
    try:
        with rt.sessions() as s:
            list_cameras(s, principal, f, after, LIMIT)
    finally:
        event.remove(rt.engine, "before_cursor_execute", hook)
    return [(sql, params) for sql, params in seen if sql.lstrip().upper().startswith(("SELECT", "WITH"))]


def load_baseline(rev: str | None) -> Any:
    """`list_cameras` on SQLAlchemy's own statement cache, from git, as private modules."""
    import subprocess
    import types

    def source(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout

    if rev is None:
        removed = subprocess.run(
            ["git", "log", "-1", "--format=%H", "--diff-filter=A", "--", "video/catalogue/prepared.py"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.strip()
        rev = f"{removed}^"
    renames = {"from video.catalogue.tree import": "from baseline_tree import"}
    modules: dict[str, Any] = {}
    for name, path in (
        ("baseline_tree", "video/catalogue/tree.py"),
        ("baseline_queries", "video/catalogue/queries.py"),
    ):
        text = source(path)
        for old, new in renames.items():
            text = text.replace(old, new)
        module = types.ModuleType(name)
        sys.modules[name] = module
        exec(compile(text, f"{rev}:{path}", "exec"), module.__dict__)
        modules[name] = module
    modules["baseline_queries"].REV = rev
    return modules["baseline_queries"]


def orm_page_statement(s: Any, principal: Principal, f: CameraFilter, after: str) -> Any:
    """The reference: the same page as ORM entities, the statement built for every call."""
    return (
        camera_query(s, principal, f)
        .where(Camera.id > after)
        .options(load_only(*LIST_COLUMNS))
        .order_by(Camera.id)
        .limit(LIMIT)
    )


def measure(rt: Runtime, n: int, runs: int, baseline: Any) -> dict[str, Any]:
    """Per case: list_cameras, the same SQL raw, and the ORM-entity reference, interleaved call
    by call (which of list_cameras and raw goes first alternates), so that a busy machine or a
    cold page cache weighs on all of them alike."""
    rng = random.Random(11)
    starts = [camera_id(rng.randrange(n)) for _ in range(runs)]
    out: dict[str, Any] = {}
    for case, (principal, f) in CASES.items():
        # The SQL each call sends, statement for statement (this also warms every cache).
        calls = [capture(rt, principal, f, after) for after in starts]
        api: list[float] = []
        old: list[float] = []
        raw: list[float] = []
        main_only: list[float] = []
        orm: list[float] = []
        conn = rt.engine.raw_connection()
        try:
            cur = conn.cursor()
            with rt.sessions() as s:
                list_cameras(s, principal, f, starts[0], LIMIT)
                baseline.list_cameras(s, principal, f, starts[0], LIMIT)
                list(s.scalars(orm_page_statement(s, principal, f, starts[0])))
                for i, (after, statements) in enumerate(zip(starts, calls, strict=True)):
                    for step in (0, 2, 1) if i % 2 == 0 else (1, 2, 0):
                        t = time.perf_counter()
                        if step == 0:
                            page = list_cameras(s, principal, f, after, LIMIT)
                            api.append(time.perf_counter() - t)
                        elif step == 2:
                            old_page = baseline.list_cameras(s, principal, f, after, LIMIT)
                            old.append(time.perf_counter() - t)
                        else:
                            for sql, params in statements:
                                cur.execute(sql, params)
                                rows_ = cur.fetchall()
                            raw.append(time.perf_counter() - t)
                    assert len(rows_) == len(page) and [r.id for r in old_page] == [r.id for r in page]
                    t = time.perf_counter()
                    cur.execute(*statements[-1])
                    cur.fetchall()
                    main_only.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    orm_page = list(s.scalars(orm_page_statement(s, principal, f, after)))
                    orm.append(time.perf_counter() - t)
                    assert [c.id for c in orm_page] == [c.id for c in page]
                    s.expunge_all()
            conn.rollback()
        finally:
            conn.close()
        out[case] = {
            "p50_ms": pct(api, 50),
            "p95_ms": pct(api, 95),
            "raw_p50_ms": pct(raw, 50),
            "raw_p95_ms": pct(raw, 95),
            "ratio_p50": round(pct(api, 50) / max(pct(raw, 50), 0.01), 2),
            "ratio_p95": round(pct(api, 95) / max(pct(raw, 95), 0.01), 2),
            "sqlalchemy_cache_p50_ms": pct(old, 50),
            "sqlalchemy_cache_p95_ms": pct(old, 95),
            "ratio_vs_sqlalchemy_cache_p50": round(pct(api, 50) / max(pct(old, 50), 0.01), 2),
            "ratio_vs_sqlalchemy_cache_p95": round(pct(api, 95) / max(pct(old, 95), 0.01), 2),
            "orm_entities_p95_ms": pct(orm, 95),
            "statements": len(calls[0]),
            "page_query_raw_p95_ms": pct(main_only, 95),
            "rows_per_page": len(page),
        }
        out[case]["meets_goal"] = out[case]["p95_ms"] <= 50 and out[case]["ratio_p95"] <= 2
    return out


def run_sqlite(n: int, runs: int, baseline: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="govops-bench-") as d:
        rt = Runtime.build(load_settings(data_dir=Path(d), environment="test"))
        info = load(rt, n)
        info["db_mb"] = round((Path(d) / "govops.db").stat().st_size / 2**20)
        info.update(measure(rt, n, runs, baseline))
        rt.engine.dispose()
        return info


def run_postgres(n: int, runs: int, baseline: Any) -> dict[str, Any]:
    from tools.lab.postgres import start_postgres

    with tempfile.TemporaryDirectory(prefix="govops-bench-pg-") as d:
        pg = start_postgres(Path(d))
        try:
            rt = Runtime.build(load_settings(data_dir=Path(d) / "data", environment="test", database_url=pg.url))
            info = load(rt, n)
            info.update(measure(rt, n, runs, baseline))
            rt.engine.dispose()
            return info
        finally:
            pg.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    ap.add_argument("--baseline", help="git revision of the SQLAlchemy-cache variant (default: found)")
    args = ap.parse_args()
    baseline = load_baseline(args.baseline)
    result: dict[str, Any] = {
        "benchmark": "video_catalogue",
        "cameras": args.cameras,
        "page": LIMIT,
        "runs": args.runs,
        "goal": "p95 <= 50 ms and <= 2x raw SQL",
        "baseline": f"SQLAlchemy's compiled-statement cache, list_cameras at {baseline.REV}",
    }
    if args.only in (None, "sqlite"):
        result["sqlite"] = run_sqlite(args.cameras, args.runs, baseline)
        result["sqlite"]["load_avg_1m"] = round(os.getloadavg()[0], 1)  # p95 of sub-ms calls
    if args.only in (None, "postgresql"):  # is at the mercy of other processes: say how busy
        result["postgresql"] = run_postgres(args.cameras, args.runs, baseline)
        result["postgresql"]["load_avg_1m"] = round(os.getloadavg()[0], 1)
    result["cpus"] = os.cpu_count()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
