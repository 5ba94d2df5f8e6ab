"""Benchmark: the MLPS baseline (site.yml) through govops' ansible-runner adapter on 1, 4 and 8
systemd-nspawn lab targets, against `ansible-playbook` run directly on the same targets.

Per size N, on a fresh lab: govops applies the baseline to new targets (the cold wall time a
first hardening costs); then govops and `ansible-playbook` each re-apply it, R rounds, the order
alternating each round (the idempotent run a schedule repeats), and the ratio of their medians is
reported. Both runs see the same hosts in the same state, so the ratio is the adapter's own cost
(events, the follower, the private data directory).

The lab targets share this machine's CPUs with the controller, so on a busy machine wall time
swings with everybody else's load; the controller's CPU time (ansible-playbook and its forks, plus
govops' own process) is reported too, and so is the time spent in govops' event handler itself.
Needs root and the `targets` component.

Measured 2026-12-05 on 2 shared CPUs (load average 17-26 from other sessions), 3 rounds, before
ssh pipelining (both arms without it): re-apply median govops / ansible-playbook 82.8/91.8 s (1
target), 190.8/173.2 s (4), 194.0/191.0 s (8); controller CPU ratio 1.03, 1.07, 1.17; govops' own
event handler 1, 6 and 11 ms per run (110, 341, 649 events). The extra CPU is ansible-runner's
event plumbing (its awx_display callback and the partial-event files), not the handler.

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
from infra.cluster.runner import _Follower, run_playbook  # noqa: E402
from tools.lab.targets import TargetLab  # noqa: E402


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children (ansible-playbook and its forks)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class HandlerClock:
    """Time spent inside govops' event handler (the follower), and how many events it saw."""

    def __init__(self) -> None:
        self.seconds, self.events = 0.0, 0
        original = _Follower.__call__

        def timed(follower: _Follower, event: dict[str, object]) -> bool:
            t0 = time.perf_counter()
            try:
                return original(follower, event)
            finally:
                self.seconds += time.perf_counter() - t0
                self.events += 1

        _Follower.__call__ = timed  # type: ignore[method-assign]

    def take(self) -> tuple[float, int]:
        seconds, events = self.seconds, self.events
        self.seconds, self.events = 0.0, 0
        return seconds, events


CLOCK = HandlerClock()


def direct(inventory: Path) -> tuple[float, int, float]:
    t0, c0 = time.perf_counter(), _cpu()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "site.yml"],
        cwd=PLAYBOOKS, capture_output=True, text=True,
        # its own ssh ControlPath directory: ~/.ansible/cp is keyed by address and user only, so a
        # master left from another lab (or another test) on 10.213.0.11 would be reused and hang
        env={
            **os.environ,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            # the ansible settings govops' runner passes (infra/cluster/runner.py), so that the ratio
            # is the adapter's own cost, not a difference in configuration
            "ANSIBLE_PIPELINING": "True",
            # and a fresh one per run, as govops' runner has: no run inherits another's warm masters
            "ANSIBLE_SSH_CONTROL_PATH_DIR": tempfile.mkdtemp(prefix="cp-", dir=inventory.parent),
        },
    )  # fmt: skip
    return time.perf_counter() - t0, done.returncode, _cpu() - c0


def govops(inventory: Path) -> tuple[float, bool, int, float]:
    t0, c0 = time.perf_counter(), _cpu()
    result = run_playbook(inventory)
    return time.perf_counter() - t0, result.ok, result.changed, _cpu() - c0


def one_size(n: int, rounds: int, work: Path) -> dict[str, object]:
    lab = TargetLab(work / f"lab{n}", count=n)
    t0 = time.perf_counter()
    lab.start(timeout=300)
    booted = time.perf_counter() - t0
    try:
        inventory = work / f"hosts{n}.yml"
        inventory.write_text(yaml.safe_dump(lab.inventory()))
        cold, cold_ok, cold_changed, _ = govops(inventory)
        CLOCK.take()
        ours: list[float] = []
        theirs: list[float] = []
        ours_cpu: list[float] = []
        theirs_cpu: list[float] = []
        handler: list[float] = []
        events = 0

        def run_ours() -> None:
            nonlocal events
            s, ok, changed, cpu = govops(inventory)
            assert ok and changed == 0, "the re-apply must change nothing"
            ours.append(s)
            ours_cpu.append(cpu)
            spent, events = CLOCK.take()
            handler.append(spent)

        def run_theirs() -> None:
            s, rc, cpu = direct(inventory)
            assert rc == 0, "ansible-playbook failed on the same targets"
            theirs.append(s)
            theirs_cpu.append(cpu)

        for i in range(rounds):
            for run in (run_ours, run_theirs) if i % 2 == 0 else (run_theirs, run_ours):
                run()
        med = statistics.median
        return {
            "targets": n,
            "boot_s": round(booted, 1),
            "cold_apply_s": round(cold, 1),
            "cold_ok": cold_ok,
            "cold_changed": cold_changed,
            "reapply_govops_s": [round(x, 1) for x in ours],
            "reapply_ansible_playbook_s": [round(x, 1) for x in theirs],
            "reapply_govops_median_s": round(med(ours), 1),
            "reapply_ansible_playbook_median_s": round(med(theirs), 1),
            "ratio_govops_to_ansible_playbook": round(med(ours) / med(theirs), 3),
            "ratio_of_minimums": round(min(ours) / min(theirs), 3),
            "controller_cpu_govops_median_s": round(med(ours_cpu), 2),
            "controller_cpu_ansible_playbook_median_s": round(med(theirs_cpu), 2),
            "cpu_ratio_govops_to_ansible_playbook": round(med(ours_cpu) / med(theirs_cpu), 3),
            "event_handler_s_median": round(med(handler), 3),
            "events_per_run": events,
            "load_avg_1m_at_end": round(os.getloadavg()[0], 1),
        }
    finally:
        lab.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,4,8")
    ap.add_argument("--rounds", type=int, default=3)
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
                "cpus": os.cpu_count(),
                "sizes": results,
                "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
