"""Every playbook parses (`ansible-playbook --syntax-check`) against both shipped inventories."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra.cluster import PLAYBOOKS

PLAYS = sorted(p.name for p in PLAYBOOKS.glob("*.yml"))
INVENTORIES = ("sample", "production.example")


def test_there_are_playbooks_to_check() -> None:
    assert {"site.yml", "backup.yml", "restore.yml"} <= set(PLAYS)


@pytest.mark.parametrize("inventory", INVENTORIES)
@pytest.mark.parametrize("playbook", PLAYS)
def test_syntax(playbook: str, inventory: str) -> None:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "--syntax-check",
            "-i",
            str(PLAYBOOKS / "inventory" / inventory / "hosts.yml"),
            playbook,
        ],
        cwd=PLAYBOOKS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
