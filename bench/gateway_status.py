"""`GET /api/v1/status` with every subsystem configured: latency percentiles; goal p95 ≤ 300 ms.

    .venv/bin/python bench/gateway_status.py [--requests 200] [--no-keycloak] [--no-kube]

Real components on loopback, started here and stopped by PID: Prometheus (with the project's
rules), Alertmanager, Keycloak (realm applied), kube-apiserver + etcd, plus the CA, a cluster run
report, the sample district's cameras and SQLite. A component that cannot start is configured at
a dead loopback port instead (and named under "dead"), which is the other half of the point: a
dead subsystem must not stall the page. The gateway is the real app under uvicorn; requests go
over HTTP. Three cases: the board as served (answers fresh for GOVOPS_STATUS_CACHE_S), the board
with no cache (every request probes every subsystem, waiting at most the budget), and /healthz as
the baseline measured in the same run. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from gateway.auth import SESSION_COOKIE
from govops.principal import LOCAL_SYSTEM_ADMIN
from tools.lab.process import ManagedProcess, free_port

REPO = Path(__file__).resolve().parents[1]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * p))] * 1000, 1)


def start_alertmanager(workdir: Path) -> tuple[ManagedProcess, str]:
    from tools.components import system_binary

    binary = system_binary("alertmanager", "prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "alertmanager.yml"
    cfg.write_text(
        "route: {receiver: govops}\nreceivers:\n- name: govops\n  webhook_configs:\n"
        "  - url: http://127.0.0.1:9/api/v1/alerts/webhook\n"
    )
    port, cluster = free_port(), free_port()
    proc = ManagedProcess(
        "alertmanager",
        [
            str(binary),
            f"--config.file={cfg}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--cluster.listen-address=127.0.0.1:{cluster}",
        ],
        workdir / "alertmanager.log",
    )
    proc.wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60, ok=lambda r: r.status_code == 200)
    return proc, f"http://127.0.0.1:{port}"


def components(work: Path, env: dict[str, str], args: argparse.Namespace, stops: list[Any]) -> dict[str, str]:
    """Start what can start; point the rest at a dead port. Returns {subsystem: live|dead: why}."""
    dead = f"http://127.0.0.1:{free_port()}"
    report: dict[str, str] = {}
    try:
        from tools.lab.prometheus import start_prometheus

        rules = sorted((REPO / "monitoring" / "rules").glob("*.yml"))
        prom = start_prometheus(work / "prometheus", {"self": "127.0.0.1:9"}, rule_files=rules)
        stops.append(prom.stop)
        env["GOVOPS_PROMETHEUS_URL"], report["prometheus"] = prom.url, "live"
    except Exception as exc:
        env["GOVOPS_PROMETHEUS_URL"], report["prometheus"] = dead, f"dead: {exc}"
    try:
        proc, url = start_alertmanager(work / "alertmanager")
        stops.append(proc.stop)
        env["GOVOPS_ALERTS_ALERTMANAGER_URL"], report["alertmanager"] = url, "live"
    except Exception as exc:
        env["GOVOPS_ALERTS_ALERTMANAGER_URL"], report["alertmanager"] = dead, f"dead: {exc}"
    if args.kube:
        try:
            from tools.lab.kube import start_kube

            kube = start_kube(work / "kube", controllers=False, kwok_nodes=0)
            stops.append(kube.stop)
            env["GOVOPS_KUBECONFIG"], report["kubernetes"] = str(kube.kubeconfig), "live"
        except Exception as exc:
            report["kubernetes"] = f"dead: {str(exc)[:200]}"
    if "GOVOPS_KUBECONFIG" not in env:
        kc = work / "dead-kubeconfig"
        kc.write_text(
            "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: '"
            + dead.replace("http", "https")
            + "', insecure-skip-tls-verify: true}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
            "current-context: c\nusers: [{name: u, user: {token: x}}]\n"
        )
        env["GOVOPS_KUBECONFIG"] = str(kc)
        report.setdefault("kubernetes", "dead: --no-kube")
    if args.keycloak:
        try:
            from tools.lab.keycloak import start_keycloak

            kc_handle = start_keycloak(work / "keycloak", admin_password="Bench#admin-2026")
            stops.append(kc_handle.stop)
            env.update(
                {
                    "GOVOPS_KEYCLOAK_URL": kc_handle.base_url,
                    "GOVOPS_KEYCLOAK_ADMIN_USER": kc_handle.admin_user,
                    "GOVOPS_KEYCLOAK_ADMIN_PASSWORD": kc_handle.admin_password,
                }
            )
            report["keycloak"] = "live"
        except Exception as exc:
            report["keycloak"] = f"dead: {str(exc)[:200]}"
    if "GOVOPS_KEYCLOAK_URL" not in env:
        env["GOVOPS_KEYCLOAK_URL"] = dead
        report.setdefault("keycloak", "dead: --no-keycloak")
    return report


def prepare(data: Path) -> Any:
    """A runtime with the sample district, a CA, a cluster run report, and the realm applied."""
    from gateway.runtime import Runtime
    from govops.settings import load_settings
    from identity.pki import CertificateAuthority

    rt = Runtime.build(load_settings(data_dir=data, environment="test"))
    rt.migrate()
    rt.settings.ensure_data_dir()
    rt.load_sample_district()
    with rt.transaction() as s:
        CertificateAuthority.from_settings(rt.settings, rt.box).init(s, actor="bench")
    from datetime import UTC, datetime

    from infra.cluster.models import ClusterHostResult, ClusterRun

    with rt.transaction() as s:  # a baseline run of three hosts, as `govops cluster harden` keeps it
        now = datetime.now(UTC)
        run = ClusterRun(
            kind="apply",
            playbook="site.yml",
            inventory="lab",
            status="succeeded",
            actor="bench",
            started_at=now,
            finished_at=now,
        )
        s.add(run)
        s.flush()
        s.add_all(ClusterHostResult(run_id=run.id, host=f"node{i}", status="ok", ok=40) for i in range(3))
    if rt.settings.keycloak_admin_user:
        try:
            from identity import realm
            from identity.keycloak_adapter import KeycloakAdapter

            with rt.transaction() as s:
                realm.apply(KeycloakAdapter.from_settings(rt.settings), realm.spec_from_settings(rt.settings, s))
        except Exception as exc:
            print(f"realm not applied: {exc}", file=sys.stderr)
    return rt


def serve(app: Any) -> tuple[str, Any]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def timed(client: httpx.Client, path: str, n: int) -> tuple[list[float], dict[str, Any]]:
    times, last = [], {}
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(path)
        times.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text[:200]
        last = r.json()
    return times, last


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--no-keycloak", dest="keycloak", action="store_false")
    ap.add_argument("--no-kube", dest="kube", action="store_false")
    args = ap.parse_args()
    stops: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="govops-status-") as d:
        work = Path(d)
        env: dict[str, str] = {}
        try:
            live = components(work, env, args, stops)
            os.environ.update(env)
            rt = prepare(work / "data")
            from gateway.app import create_app

            app = create_app(rt)
            url, server = serve(app)
            sid = app.state.local_login.open_session(LOCAL_SYSTEM_ADMIN)
            with httpx.Client(base_url=url, cookies={SESSION_COOKIE: sid}, timeout=30) as c:
                deadline = time.monotonic() + 120  # the first answers (Keycloak's drift takes longest)
                while time.monotonic() < deadline:
                    first = c.get("/api/v1/status").json()
                    if all(s["state"] != "unknown" for s in first["subsystems"]):
                        break
                    time.sleep(0.5)
                served, body = timed(c, "/api/v1/status", args.requests)
                board = app.state.status_board
                board.ctx.status.status_cache_s = 0.0  # every request probes every subsystem
                uncached, body_uncached = timed(c, "/api/v1/status", max(20, args.requests // 5))
                health, _ = timed(c, "/healthz", args.requests)
            server.should_exit = True
        finally:
            for stop in reversed(stops):
                stop()
    states = {s["subsystem"]: s["state"] for s in body["subsystems"]}
    probe_ms = {s["subsystem"]: s["elapsed_ms"] for s in body_uncached["subsystems"]}
    print(
        json.dumps(
            {
                "bench": "gateway_status",
                "requests": args.requests,
                "components": live,
                "states": states,
                "probe_elapsed_ms": probe_ms,
                "served": {"p50_ms": pct(served, 0.5), "p95_ms": pct(served, 0.95), "p99_ms": pct(served, 0.99)},
                "uncached": {
                    "p50_ms": pct(uncached, 0.5),
                    "p95_ms": pct(uncached, 0.95),
                    "max_ms": pct(uncached, 1.0),
                    "states": {s["subsystem"]: s["state"] for s in body_uncached["subsystems"]},
                },
                "baseline_healthz": {"p50_ms": pct(health, 0.5), "p95_ms": pct(health, 0.95)},
                "ratio_p95_to_healthz": round(pct(served, 0.95) / max(pct(health, 0.95), 0.1), 2),
                "goal_p95_ms": 300,
                "meets_goal": pct(served, 0.95) <= 300 and pct(uncached, 0.95) <= 300,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
