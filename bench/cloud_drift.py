"""Benchmark: `govops cloud drift` (a refresh preview through the provisioning service, with the
per-resource diff, the run record and the drift alert) over N tenants on a real kube-apiserver
with kwok, against the same `pulumi refresh --preview-only` run by hand on the same stack.

K tenants' ResourceQuotas are edited out of band first, so both find real drift. The two are run
alternately, R rounds each; the report gives their p50 (median) and the ratio.

Prints one JSON object. Usage: python bench/cloud_drift.py [--tenants 100] [--drifted 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.cloud_tenants import departments  # noqa: E402
from gateway.runtime import Runtime  # noqa: E402
from govops.settings import load_settings  # noqa: E402
from infra.provisioning.engine import PulumiEngine  # noqa: E402
from infra.provisioning.service import Provisioning  # noqa: E402
from tools.lab.kube import start_kube  # noqa: E402


def by_hand(svc: Provisioning) -> tuple[float, int]:
    """The bare CLI on the same stack, workspace, backend and binaries the service uses."""
    cfg = svc._engine_config(svc.declared_file)
    ws = PulumiEngine(cfg)._stack()[0].workspace
    env = {**os.environ, **(ws.env_vars or {}), "PULUMI_HOME": str(cfg.pulumi_home)}
    argv = [str(cfg.bin_dirs[0] / "pulumi"), "refresh", "--preview-only", "--stack", cfg.stack]
    argv += ["--non-interactive", "--color", "never", "--parallel", "64"]
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ws.work_dir, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--drifted", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    kube = start_kube(tmp / "kube", kwok_nodes=1)
    try:
        settings = load_settings(
            data_dir=tmp / "data",
            kubeconfig=kube.kubeconfig,
            pulumi_passphrase="bench",
            pulumi_stack="bench",
            environment="test",
        )
        rt = Runtime.build(settings)
        rt.migrate()
        svc = Provisioning(settings, rt.sessions)
        raw = departments(a.tenants)
        svc.declared_file.write_text(yaml.safe_dump(raw, allow_unicode=True))
        t0 = time.perf_counter()
        first = svc.up("bench")
        t_up = time.perf_counter() - t0
        if not first.ok:
            raise RuntimeError(f"first up failed: {first.error}")
        with kube.client() as c:
            for d in raw["departments"][: a.drifted]:
                r = c.patch(
                    f"/api/v1/namespaces/dept-{d['code']}/resourcequotas/tenant-quota",
                    params={"fieldManager": "kubectl-edit"},
                    headers={"Content-Type": "application/merge-patch+json"},
                    json={"spec": {"hard": {"requests.cpu": "77"}}},
                )
                r.raise_for_status()
        ours: list[float] = []
        theirs: list[float] = []
        found: list[int] = []
        codes: list[int] = []
        for _ in range(a.rounds):
            t0 = time.perf_counter()
            run = svc.drift("bench")
            ours.append(time.perf_counter() - t0)
            if not run.ok:
                raise RuntimeError(f"drift failed: {run.error}")
            found.append(len(run.changes))
            elapsed, code = by_hand(svc)
            theirs.append(elapsed)
            codes.append(code)
        objects = sum(first.counts.values())
        # Before the cluster stops: its processes, once reaped, would count as this bench's children.
        children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    finally:
        kube.stop()
    med_ours, med_theirs = statistics.median(ours), statistics.median(theirs)
    print(
        json.dumps(
            {
                "benchmark": "cloud_drift",
                "tenants": a.tenants,
                "objects_in_stack": objects,
                "drifted_quotas": a.drifted,
                "drift_found_per_round": found,
                "first_up_s": round(t_up, 1),
                "govops_cloud_drift_s": [round(x, 2) for x in ours],
                "baseline": "pulumi refresh --preview-only (the bare CLI, same stack, same binaries)",
                "baseline_s": [round(x, 2) for x in theirs],
                "baseline_exit_codes": codes,
                "p50_s": {"govops": round(med_ours, 2), "baseline": round(med_theirs, 2)},
                "ratio_govops_vs_baseline": round(med_ours / med_theirs, 2),
                "objects_per_s_drift": round(objects / med_ours, 1),
                "peak_rss_mb_bench_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                # the largest of the Pulumi CLI, language host, policy pack and provider processes
                "peak_rss_mb_largest_pulumi_process": round(children_rss, 1),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
