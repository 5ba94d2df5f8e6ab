"""The one adapter over ansible-runner: run a playbook asynchronously, follow it through event and
status callbacks (never by scraping stdout), and return per-host stats."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

from govops.errors import ValidationFailed
from infra.cluster import PLAYBOOKS

TaskSink = Callable[[str, str], None]  # (host, task name)


@dataclass
class PlaybookResult:
    status: str  # successful | failed | timeout | canceled
    rc: int
    stats: dict[str, dict[str, int]] = field(default_factory=dict)  # host -> ok/changed/failures/...
    failures: list[str] = field(default_factory=list)

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
        }


def run_playbook(
    inventory: Path,
    playbook: str = "site.yml",
    *,
    extravars: dict[str, Any] | None = None,
    limit: str | None = None,
    check: bool = False,
    timeout: int = 1800,
    on_task: TaskSink | None = None,
) -> PlaybookResult:
    if not inventory.exists():
        raise ValidationFailed(
            f"inventory {inventory} does not exist", hint="copy playbooks/inventory/sample/ and edit hosts.yml"
        )
    failures: list[str] = []
    stats: dict[str, dict[str, int]] = {}
    done = threading.Event()
    status_box: dict[str, str] = {}

    def event_handler(event: dict[str, Any]) -> bool:
        data = event.get("event_data") or {}
        kind = event.get("event")
        if kind == "runner_on_start" and on_task:
            on_task(data.get("host", ""), data.get("task", ""))
        elif kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            msg = (data.get("res") or {}).get("msg", "")
            failures.append(f"{data.get('host')}: {data.get('task')}: {str(msg)[:300]}")
        elif kind == "playbook_on_stats":
            for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored"):
                for host, n in (data.get(key) or {}).items():
                    stats.setdefault(host, {})[key] = n
        return False  # do not keep event files beyond what the runner needs

    def status_handler(status: dict[str, Any], runner_config: Any = None) -> None:
        status_box["status"] = status.get("status", "")
        if status_box["status"] in ("successful", "failed", "timeout", "canceled"):
            done.set()

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
            event_handler=event_handler,
            status_handler=status_handler,
            envvars={
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_RETRY_FILES_ENABLED": "0",
                # ansible-playbook comes with our own environment, not the system's
                "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            },
        )
        thread.join(timeout + 60)
        return PlaybookResult(runner.status, int(runner.rc or 0), stats, failures)
    finally:
        shutil.rmtree(private, ignore_errors=True)
