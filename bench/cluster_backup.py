"""Benchmark: `govops cluster backup` and `restore` of a real etcd with 100,000 keys and of the
platform database (SQLite) with up to 1,000,000 cameras: wall time and archive size, and, as the
baseline measured in the same run, the bare tools on the same data (`etcdctl snapshot save`, the
SQLite online backup API) so the cost of the manifest, the hashes and the encryption shows.

etcd runs as playbooks/cluster.yml runs it: TLS with client certificates required, from a CA made
by the cluster_pki role's own module; the backup presents its own client certificate
(etcd-backup-client), the baseline etcdctl the same one.

Prints one JSON object. Usage: python bench/cluster_backup.py [--keys 100000] [--cameras 1000000]
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import resource
import shutil
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gateway.runtime import Runtime  # noqa: E402
from govops.settings import load_settings  # noqa: E402
from infra.cluster import PLAYBOOKS  # noqa: E402
from infra.cluster.backup import create_backup, restore_backup  # noqa: E402
from infra.cluster.backup_etcd import EtcdClientTLS  # noqa: E402
from infra.cluster.envelope import new_operator_key  # noqa: E402
from tools.lab.etcd import start_etcd as etcd_member  # noqa: E402
from tools.lab.process import ManagedProcess  # noqa: E402


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def make_pki(d: Path) -> tuple[EtcdClientTLS, Path, Path]:
    """The cluster CA, etcd's member certificate and the backup's client certificate, made by the
    cluster_pki role's module (library/cluster_cert.py) as the playbook makes them."""
    spec = importlib.util.spec_from_file_location(
        "cluster_cert", PLAYBOOKS / "roles" / "cluster_pki" / "library" / "cluster_cert.py"
    )
    assert spec is not None and spec.loader is not None
    cc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cc)
    base = {"kind": "cert", "ca": "ca", "organization": [], "dns_names": [], "ip_addresses": [], "days": 30}
    base["renew_before_days"] = 1
    d.mkdir(parents=True, exist_ok=True)
    cc.ensure_ca(d, {**base, "name": "ca", "common_name": "bench-ca"})
    member = {"name": "etcd-member", "common_name": "bench", "ip_addresses": ["127.0.0.1"], "usage": "both"}
    cc.ensure_cert(d, {**base, **member})
    client = {"name": "etcd-backup-client", "common_name": "bench-etcd-backup", "usage": "client"}
    cc.ensure_cert(d, {**base, **client})
    tls = EtcdClientTLS(d / "ca.crt", d / "etcd-backup-client.crt", d / "etcd-backup-client.key")
    return tls, d / "etcd-member.crt", d / "etcd-member.key"


def start_etcd(data: Path, log: Path, pki: tuple[EtcdClientTLS, Path, Path]) -> tuple[ManagedProcess, str]:
    tls, member_crt, member_key = pki
    proc, url = etcd_member(
        data,
        log,
        scheme="https",
        extra=(
            "--quota-backend-bytes", str(4 << 30),
            "--cert-file", member_crt, "--key-file", member_key, "--trusted-ca-file", tls.cacert,
            "--client-cert-auth=true",
        ),
    )  # fmt: skip
    proc.wait_until(lambda: httpx.get(f"{url}/health", timeout=2, verify=_ssl(tls)).status_code == 200, 60, "healthy")
    return proc, url


def _ssl(tls: EtcdClientTLS) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(tls.cacert))
    ctx.load_cert_chain(str(tls.cert), str(tls.key))
    return ctx


def count_keys(url: str, tls: EtcdClientTLS) -> int:
    r = httpx.post(
        f"{url}/v3/kv/range",
        json={"key": b64("/registry/"), "range_end": b64("/registry0"), "count_only": True},
        verify=_ssl(tls),
    )
    return int(r.json().get("count", 0))


def load_etcd(url: str, n: int, tls: EtcdClientTLS) -> float:
    """n keys shaped like Kubernetes objects (~300 bytes each), over the v3 JSON gateway."""
    value = b64("x" * 300)
    t0 = time.perf_counter()

    def put(chunk: range) -> None:
        with httpx.Client(timeout=30, verify=_ssl(tls)) as c:
            for i in chunk:
                c.post(f"{url}/v3/kv/put", json={"key": b64(f"/registry/configmaps/ns{i % 100}/cm{i}"), "value": value})

    step = max(1, n // 16)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, [range(i, min(i + step, n)) for i in range(0, n, step)]))
    return time.perf_counter() - t0


def load_cameras(db: Path, n: int) -> float:
    t0 = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute(
        "INSERT OR IGNORE INTO departments (code, name, sso_group, zone) VALUES ('gaj', '公安局', '/gaj', '政务外网')"
    )
    rows = (
        (
            f"31011600001320{i:06d}", f"camera {i}", "gaj", round(30.7 + i % 1000 * 1e-4, 6),
            round(121.3 + i // 1000 % 1000 * 1e-4, 6), i % 7 == 0, f"rtsp://10.0.{i // 65536 % 256}.{i % 256}/main",
            "online" if i % 10 else "offline", True, "2026-12-05 00:00:00", "[]", "{}", "[]", False,
        )
        for i in range(n)
    )  # fmt: skip
    con.executemany(
        "INSERT INTO cameras (id, name, department_code, lat, lon, key_place, stream_url, status, networked,"
        " created_at, profiles, capabilities, presets, picture_fault) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    con.commit()
    con.close()
    return time.perf_counter() - t0


def ratio(out: dict[str, object], measured: str, baseline: str) -> float:
    a, b = out[measured], out[baseline]
    assert isinstance(a, float) and isinstance(b, float)
    return round(a / max(b, 1e-6), 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--cameras", type=int, default=1_000_000)
    args = ap.parse_args()
    private, public = new_operator_key()
    out: dict[str, object] = {"benchmark": "cluster_backup", "keys": args.keys, "cameras": args.cameras}
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        work = Path(tmp)
        settings = load_settings(data_dir=work / "data", environment="test")
        rt = Runtime.build(settings)
        rt.migrate()
        rt.engine.dispose()

        # -- the database ------------------------------------------------------------------
        db = settings.data_dir / "govops.db"
        out["cameras_load_s"] = round(load_cameras(db, args.cameras), 2)
        out["database_bytes"] = db.stat().st_size
        t0 = time.perf_counter()
        with sqlite3.connect(db) as src, sqlite3.connect(work / "bare.db") as dst:
            src.backup(dst)
        out["database_baseline_sqlite_backup_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        backup = create_backup(settings, public, work / "backups-db")
        out["database_backup_s"] = round(time.perf_counter() - t0, 2)
        out["database_archive_bytes"] = backup.size
        shutil.rmtree(settings.data_dir)  # the disaster
        t0 = time.perf_counter()
        restored = restore_backup(settings, backup.path, private, items=("database", "keys"))
        out["database_restore_s"] = round(time.perf_counter() - t0, 2)
        out["database_restore_checks"] = restored.checks
        out["database_backup_ratio_to_sqlite_backup"] = ratio(
            out, "database_backup_s", "database_baseline_sqlite_backup_s"
        )

        # -- etcd (with an empty platform database, so the archive is the snapshot's) ------------
        settings = load_settings(data_dir=work / "data-etcd", environment="test")
        rt = Runtime.build(settings)
        rt.migrate()
        rt.engine.dispose()
        pki = make_pki(work / "pki")
        tls = pki[0]
        out["etcd_tls"] = "client certificates required (etcd-backup-client)"
        etcd, url = start_etcd(work / "etcd", work / "etcd.log", pki)
        try:
            out["etcd_load_s"] = round(load_etcd(url, args.keys, tls), 2)
            out["etcd_keys_before"] = count_keys(url, tls)
            t0 = time.perf_counter()
            subprocess.run(
                ["etcdctl", "--endpoints", url, "snapshot", "save", str(work / "bare.snap")],
                check=True, capture_output=True, env={**os.environ, "ETCDCTL_API": "3", **tls.env()},
            )  # fmt: skip
            out["etcd_baseline_etcdctl_snapshot_s"] = round(time.perf_counter() - t0, 2)
            out["etcd_snapshot_bytes"] = (work / "bare.snap").stat().st_size
            t0 = time.perf_counter()
            backup = create_backup(settings, public, work / "backups-etcd", etcd_endpoints=url, etcd_tls=tls)
            out["etcd_backup_s"] = round(time.perf_counter() - t0, 2)
            out["etcd_archive_bytes"] = backup.size
        finally:
            etcd.stop()
        shutil.rmtree(work / "etcd")
        t0 = time.perf_counter()
        restore_backup(settings, backup.path, private, items=("etcd",), etcd_data_dir=work / "etcd-restored")
        out["etcd_restore_s"] = round(time.perf_counter() - t0, 2)
        etcd, url = start_etcd(work / "etcd-restored", work / "etcd2.log", pki)
        try:
            out["etcd_keys_after_restore"] = count_keys(url, tls)
        finally:
            etcd.stop()
        out["etcd_backup_ratio_to_etcdctl"] = ratio(out, "etcd_backup_s", "etcd_baseline_etcdctl_snapshot_s")
    out["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
