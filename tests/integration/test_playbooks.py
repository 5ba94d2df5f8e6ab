"""The baseline playbook, run for real through ansible-runner against this machine (connection
local) with the managed root in a scratch directory; the second run changes nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from infra.cluster.runner import run_playbook

pytestmark = pytest.mark.integration


@pytest.fixture
def local_inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        yaml.safe_dump(
            {
                "cluster": {
                    "hosts": {
                        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                    }
                }
            }
        )
    )
    return inv


def test_baseline_applies_then_is_idempotent(local_inventory, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    tasks: list[str] = []
    first = run_playbook(
        local_inventory, extravars={"govops_root": str(root)}, on_task=lambda host, task: tasks.append(task)
    )
    assert first.ok, first.failures
    assert first.changed >= 8 and "SSH daemon hardening drop-in" in tasks
    sshd = (root / "etc/ssh/sshd_config.d/50-govops-hardening.conf").read_text()
    assert "PermitRootLogin no" in sshd and "MaxAuthTries 3" in sshd
    assert (root / "etc/ssh/sshd_config.d/50-govops-hardening.conf").stat().st_mode & 0o777 == 0o600
    assert "PASS_MAX_DAYS\t90" in (root / "etc/login.defs").read_text()
    assert "-w /etc/shadow -p wa" in (root / "etc/audit/rules.d/60-govops.rules").read_text()
    # 北京时间 by default: the backup timer's OnCalendar and the journal read the host's zone
    assert (root / "etc/localtime").readlink() == Path("/usr/share/zoneinfo/Asia/Shanghai")
    assert (root / "etc/timezone").read_text() == "Asia/Shanghai\n"
    second = run_playbook(local_inventory, extravars={"govops_root": str(root)})
    assert second.ok and second.changed == 0 and second.stats["localhost"]["ok"] >= 8


def test_check_mode_reports_drift_without_changing(local_inventory, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    assert run_playbook(local_inventory, extravars={"govops_root": str(root)}).ok
    target = root / "etc/ssh/sshd_config.d/50-govops-hardening.conf"
    target.write_text("PermitRootLogin yes\n")
    drift = run_playbook(local_inventory, extravars={"govops_root": str(root)}, check=True)
    assert drift.ok and drift.changed == 1
    assert target.read_text() == "PermitRootLogin yes\n"


@pytest.mark.parametrize("zone", ["Beijing", "../../etc/passwd"])
def test_an_unknown_time_zone_is_a_clear_failure_and_sets_nothing(local_inventory, tmp_path, zone):
    root = tmp_path / "root"
    root.mkdir()
    result = run_playbook(local_inventory, extravars={"govops_root": str(root), "timesync_timezone": zone})
    assert not result.ok
    assert any("give an IANA name such as Asia/Shanghai" in f for f in result.failures), result.failures
    assert not (root / "etc/localtime").is_symlink() and not (root / "etc/timezone").exists()


def test_unreachable_host_is_a_clean_failure(tmp_path):
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        yaml.safe_dump(
            {
                "cluster": {
                    "hosts": {
                        "ghost": {
                            "ansible_host": "127.0.0.1",
                            "ansible_port": 1,
                            "ansible_connection": "ssh",
                            "ansible_ssh_common_args": "-o ConnectTimeout=3 -o StrictHostKeyChecking=no",
                        }
                    }
                }
            }
        )
    )
    result = run_playbook(inv, extravars={"govops_root": str(tmp_path)})
    assert not result.ok and result.stats["ghost"].get("dark") == 1
    assert result.failures and result.failures[0].startswith("ghost:")
