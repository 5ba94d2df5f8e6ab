"""The playbooks parse (`ansible-playbook --syntax-check`), and every playbook with its roles passes
ansible-lint's production profile (playbooks/.ansible-lint; the listed exceptions in .ansible-lint-ignore)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra.cluster import PLAYBOOKS

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
# every playbook, and through them every role
LINTED = sorted(p.name for p in PLAYBOOKS.glob("*.yml"))


@pytest.mark.parametrize("playbook", sorted(p.name for p in PLAYBOOKS.glob("*.yml")))
def test_playbook_syntax(playbook: str) -> None:
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", "inventory/sample/hosts.yml", playbook],
        cwd=PLAYBOOKS, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_playbooks_and_roles_pass_ansible_lint_production() -> None:
    assert {"site.yml", "cluster.yml", "backup.yml", "restore.yml"} <= set(LINTED), LINTED
    done = subprocess.run(
        [str(BIN / "ansible-lint"), "--offline", "--nocolor", "--profile", "production", *LINTED],
        cwd=PLAYBOOKS, capture_output=True, text=True, timeout=600, check=False,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(Path.home()), "ANSIBLE_HOME": str(Path.home() / ".ansible")},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Profile 'production' was required, and it passed" in done.stderr + done.stdout
