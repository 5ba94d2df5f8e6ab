"""The one adapter over ansible-runner: run a playbook asynchronously, follow it through event and
status callbacks (never by scraping stdout), and return per-host outcomes: counts, duration, the
cause of a failure in one line, what `--check --diff` would change, and the baseline evidence the
role hands back with `set_stats`."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

from govops.errors import ValidationFailed
from govops.inputs import read_text
from infra.cluster import PLAYBOOKS
from infra.cluster.events import HostOutcome, diff_text, failure_line

TaskSink = Callable[[str, str], None]  # (host, task name)
EventSink = Callable[[str, str, str], None]  # (host, task name, what: start|ok|changed|failed|unreachable|skipped)


@dataclass
class PlaybookResult:
    status: str  # successful | failed | timeout | canceled
    rc: int
    stats: dict[str, dict[str, int]] = field(default_factory=dict)  # host -> ok/changed/failures/...
    failures: list[str] = field(default_factory=list)
    hosts: dict[str, HostOutcome] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    @property
    def changed(self) -> int:
        return sum(h.get("changed", 0) for h in self.stats.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "rc": self.rc,
            "changed": self.changed,
            "stats": self.stats,
            "failures": self.failures,
            "hosts": {h: asdict(o) for h, o in self.hosts.items()},
        }


class _Follower:
    """The event handler's state: everything a run tells about each host."""

    def __init__(self, on_task: TaskSink | None, on_event: EventSink | None) -> None:
        self.on_task, self.on_event = on_task, on_event
        self.hosts: dict[str, HostOutcome] = {}
        self.started: dict[str, float] = {}
        self.failures: list[str] = []
        self.stats: dict[str, dict[str, int]] = {}
        self.errors: list[str] = []

    def host(self, name: str) -> HostOutcome:
        if name not in self.hosts:
            self.hosts[name] = HostOutcome(name)
            self.started[name] = time.monotonic()
        return self.hosts[name]

    def __call__(self, event: dict[str, Any]) -> bool:
        data = event.get("event_data") or {}
        kind = str(event.get("event", ""))
        name, task = str(data.get("host") or ""), str(data.get("task") or "")
        if kind in ("verbose", "error") and "ERROR" in str(event.get("stdout", "")):
            # ansible stopped before a host ran (a bad inventory, a syntax error): its own words
            self.errors.append(" ".join(str(event["stdout"]).split())[:300])
            return False
        if kind == "playbook_on_stats":
            self._stats(data)
            return False
        if not name or not kind.startswith("runner_on_"):
            return False
        outcome = self.host(name)
        outcome.duration_s = round(time.monotonic() - self.started[name], 3)
        res = data.get("res") or {}
        what = kind.removeprefix("runner_on_")
        if what == "start":
            if self.on_task:
                self.on_task(name, task)
        elif what in ("failed", "unreachable") and not data.get("ignore_errors"):
            line = failure_line(what, task, res)
            if outcome.failure is None:  # the first cause, not its consequences
                outcome.failure = line
            self.failures.append(f"{name}: {line}")
        elif what == "ok":
            if res.get("changed"):
                what = "changed"
            if text := diff_text(res):
                outcome.diffs.append({"task": task, "diff": text})
            # set_stats per_host: the runner's stats event carries only the global ("_run") stats,
            # so the host's own evidence is taken from the set_stats result itself
            stats = (res.get("ansible_stats") or {}).get("data") or {}
            if isinstance(stats.get("baseline_controls"), dict):
                outcome.controls = stats["baseline_controls"]
        if self.on_event:
            self.on_event(name, task, what)
        return False

    def _stats(self, data: dict[str, Any]) -> None:
        for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored"):
            for name, n in (data.get(key) or {}).items():
                self.stats.setdefault(name, {})[key] = n
        for name, counts in self.stats.items():
            self.host(name).count(counts)
        # global set_stats keyed by host ({baseline_controls: {host: …}}), if a role uses that form
        by_host = (data.get("artifact_data") or {}).get("baseline_controls") or {}
        for name, controls in by_host.items() if isinstance(by_host, dict) else ():
            if name in self.hosts and isinstance(controls, dict) and self.hosts[name].controls is None:
                self.hosts[name].controls = controls


def check_inventory(inventory: Path) -> None:
    """Refuse an inventory ansible would choke on, before anything runs."""
    import yaml

    if not inventory.is_file():
        raise ValidationFailed(
            f"inventory {inventory} does not exist", hint="copy playbooks/inventory/sample/ and edit hosts.yml"
        )
    if inventory.suffix in (".yml", ".yaml"):
        try:
            doc = yaml.safe_load(read_text(inventory, "an inventory file"))
        except (yaml.YAMLError, RecursionError) as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark else ""
            raise ValidationFailed(
                f"inventory {inventory} is not valid YAML{where}", hint="fix the file; see playbooks/inventory/sample"
            ) from None
        if not isinstance(doc, dict) or not _has_hosts(doc):
            raise ValidationFailed(
                f"inventory {inventory} names no hosts",
                hint="give a group with `hosts:` as in playbooks/inventory/sample/hosts.yml",
            )


def _has_hosts(group: Any) -> bool:
    if not isinstance(group, dict):
        return False
    if isinstance(group.get("hosts"), dict) and group["hosts"]:
        return True
    children = group.get("children")
    if isinstance(children, dict) and any(_has_hosts(c) for c in children.values()):
        return True
    return any(_has_hosts(v) for k, v in group.items() if k not in ("hosts", "vars", "children"))


def run_playbook(
    inventory: Path,
    playbook: str = "site.yml",
    *,
    extravars: dict[str, Any] | None = None,
    limit: str | None = None,
    check: bool = False,
    timeout: int = 1800,
    on_task: TaskSink | None = None,
    on_event: EventSink | None = None,
) -> PlaybookResult:
    check_inventory(inventory)
    follow = _Follower(on_task, on_event)
    private = Path(tempfile.mkdtemp(prefix="govops-ansible-"))
    try:
        thread, runner = ansible_runner.run_async(
            private_data_dir=str(private),
            project_dir=str(PLAYBOOKS),
            playbook=playbook,
            inventory=str(inventory.resolve()),
            extravars=extravars or {},
            limit=limit,
            cmdline="--check --diff" if check else None,
            quiet=True,
            timeout=timeout,
            event_handler=follow,
            status_handler=lambda status, runner_config=None: None,
            envvars={
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_RETRY_FILES_ENABLED": "0",
                # one ssh exec per task instead of mkdir, put, chmod, run, rm: measured 101-105 s
                # against 115-150 s for the baseline's idempotent run on one lab target, more on
                # a real network; sudoers with `requiretty` need `ansible_pipelining: false` in
                # the inventory (a variable outranks this)
                "ANSIBLE_PIPELINING": "True",
                # ssh masters of this run only: ~/.ansible/cp is keyed by address and user, so a
                # master left by another run on the same address (a lab reused) would hang this one
                "ANSIBLE_SSH_CONTROL_PATH_DIR": str(private / "cp"),
                # ansible-playbook comes with our own environment, not the system's
                "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            },
        )
        thread.join(timeout + 60)
        result = PlaybookResult(str(runner.status), int(runner.rc or 0), follow.stats, follow.failures, follow.hosts)
        if not follow.stats and not result.ok and not follow.failures:
            result.failures.append(
                follow.errors[0] if follow.errors else f"ansible-playbook ended {runner.status} before any host ran"
            )
        return result
    finally:
        shutil.rmtree(private, ignore_errors=True)
