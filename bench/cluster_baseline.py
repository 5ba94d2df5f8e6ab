"""Benchmark: the MLPS baseline (site.yml) through govops' ansible-runner adapter on 1, 4 and 8
systemd-nspawn lab targets, against `ansible-playbook` run directly on the same targets.

Per size N, on a fresh lab: govops applies the baseline to new targets (the cold wall time a
first hardening costs); then govops and `ansible-playbook` each re-apply it, alternately, R
rounds (the idempotent run a schedule repeats), and the ratio of their medians is reported. Both
runs see the same hosts in the same state, so the ratio is the adapter's own cost (events,
the follower, the private data directory). Needs root and the `targets` component.

Prints one JSON object. Usage: python bench/cluster_baseline.py [--sizes 1,4,8] [--rounds 2]
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

from infra.cluster import PLAYBOOKS  # noqa: E402
from infra.cluster.runner import run_playbook  # noqa: E402
from tools.lab.targets import TargetLab  # noqa: E402


def direct(inventory: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "site.yml"],
        cwd=PLAYBOOKS, capture_output=True, text=True,
        # its own ssh ControlPath directory: ~/.ansible/cp is keyed by address and user only, so a
        # master left from another lab (or another test) on 10.213.0.11 would be reused and hang
        env={
            **os.environ,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(inventory.parent / f"cp-{inventory.stem}"),
        },
    )  # fmt: skip
    return time.perf_counter() - t0, done.returncode


def govops(inventory: Path) -> tuple[float, bool, int]:
    t0 = time.perf_counter()
    result = run_playbook(inventory)
    return time.perf_counter() - t0, result.ok, result.changed


def one_size(n: int, rounds: int, work: Path) -> dict[str, object]:
    lab = TargetLab(work / f"lab{n}", count=n)
    t0 = time.perf_counter()
    lab.start(timeout=300)
    booted = time.perf_counter() - t0
    try:
        inventory = work / f"hosts{n}.yml"
        inventory.write_text(yaml.safe_dump(lab.inventory()))
        cold, cold_ok, cold_changed = govops(inventory)
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(rounds):
            s, ok, changed = govops(inventory)
            assert ok and changed == 0, "the re-apply must change nothing"
            ours.append(s)
            s, rc = direct(inventory)
            assert rc == 0, "ansible-playbook failed on the same targets"
            theirs.append(s)
        return {
            "targets": n,
            "boot_s": round(booted, 1),
            "cold_apply_s": round(cold, 1),
            "cold_ok": cold_ok,
            "cold_changed": cold_changed,
            "reapply_govops_median_s": round(statistics.median(ours), 1),
            "reapply_ansible_playbook_median_s": round(statistics.median(theirs), 1),
            "ratio_govops_to_ansible_playbook": round(statistics.median(ours) / statistics.median(theirs), 3),
        }
    finally:
        lab.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,4,8")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            results.append(one_size(n, args.rounds, Path(tmp)))
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)  # partial results as they come
    print(
        json.dumps(
            {
                "benchmark": "cluster_baseline",
                "playbook": "site.yml",
                "rounds": args.rounds,
                "baseline": "ansible-playbook (same venv) on the same targets, idempotent re-apply",
                "sizes": results,
                "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
