"""The MLPS baseline on real hosts: three systemd-nspawn targets with a real systemd and sshd, in
network namespaces this test creates (10.213.0.0/24 exists nowhere else). Applied twice, the second
run changes nothing (molecule-style); then controls are checked from inside and outside the targets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from infra.cluster.runner import run_playbook
from tests.fixtures.platform import need
from tools.lab.targets import TargetLab

pytestmark = pytest.mark.integration

# A PAM conversation run inside a target: authenticate USER with PASSWORD through the "login" stack.
PAM_TRY = r"""
import ctypes, ctypes.util, sys
pam = ctypes.CDLL(ctypes.util.find_library("pam"))
class Msg(ctypes.Structure): _fields_ = [("style", ctypes.c_int), ("msg", ctypes.c_char_p)]
class Resp(ctypes.Structure): _fields_ = [("resp", ctypes.c_char_p), ("code", ctypes.c_int)]
CONV = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.POINTER(Msg)),
                        ctypes.POINTER(ctypes.POINTER(Resp)), ctypes.c_void_p)
class Conv(ctypes.Structure): _fields_ = [("conv", CONV), ("data", ctypes.c_void_p)]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.calloc.restype = ctypes.c_void_p
libc.strdup.restype = ctypes.c_void_p
password = sys.argv[2].encode()
def answer(n, msgs, resp, _):
    block = libc.calloc(n, ctypes.sizeof(Resp))
    arr = ctypes.cast(block, ctypes.POINTER(Resp))
    for i in range(n):
        arr[i].resp = ctypes.cast(libc.strdup(password), ctypes.c_char_p)
        arr[i].code = 0
    resp[0] = arr
    return 0
handle = ctypes.c_void_p()
conv = Conv(CONV(answer), None)
pam.pam_start(b"login", sys.argv[1].encode(), ctypes.byref(conv), ctypes.byref(handle))
rc = pam.pam_authenticate(handle, 0)
pam.pam_end(handle, rc)
print(rc)
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetLab]:
    lab = TargetLab(tmp_path_factory.mktemp("targets"), count=3)
    need(lab.start)
    yield lab
    lab.stop()


def write_inventory(lab: TargetLab, path: Path, extra_hosts: dict[str, dict[str, str]] | None = None) -> Path:
    inventory = lab.inventory()
    hosts = inventory["cluster"]["hosts"]  # type: ignore[index]
    for name, address in (extra_hosts or {}).items():
        hosts[name] = {**next(iter(hosts.values())), **address}
    path.write_text(yaml.safe_dump(inventory))
    return path


@pytest.fixture(scope="module")
def hardened(lab: TargetLab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    inventory = write_inventory(lab, tmp_path_factory.mktemp("inv") / "hosts.yml")
    first = run_playbook(inventory)
    assert first.ok, first.failures
    second = run_playbook(inventory)
    return {"first": first, "second": second}


def test_baseline_applies_to_three_targets_then_changes_nothing(lab: TargetLab, hardened: dict) -> None:
    first, second = hardened["first"], hardened["second"]
    assert sorted(first.stats) == ["tgt1", "tgt2", "tgt3"]
    assert all(s.get("changed", 0) >= 10 for s in first.stats.values()), first.stats
    assert second.ok, second.failures
    assert sorted(second.stats) == ["tgt1", "tgt2", "tgt3"]
    assert [s.get("changed", 0) for s in second.stats.values()] == [0, 0, 0], second.stats


def test_evidence_is_honest_about_the_container(lab: TargetLab, hardened: dict) -> None:
    out = lab.exec(lab.targets[0], "cat", "/etc/govops/baseline.json")
    assert out.returncode == 0, out.stderr
    evidence = json.loads(out.stdout)
    status = {c["id"]: c["status"] for c in evidence["controls"]}
    assert evidence["virtualization"] in ("systemd-nspawn", "container")  # how Ansible names an nspawn guest
    assert status["ssh-hardening"] == "applied"
    assert status["audit-rules"] == "configured, not applied: container"
    assert status["kernel-sysctl"] == "configured, not applied: container"
    # the network parameters really are applied inside the target's namespace
    assert lab.exec(lab.targets[0], "sysctl", "-n", "net.ipv4.conf.all.send_redirects").stdout.strip() == "0"


def _ssh(lab: TargetLab, *options: str, user: str = "govops") -> tuple[int, str]:
    import subprocess

    done = subprocess.run(
        [
            "ssh", "-o", f"ProxyCommand=ip netns exec {lab.hub} nc %h %p", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=INFO", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=20", *options, f"{user}@{lab.targets[1].address}", "true",
        ],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return done.returncode, done.stderr


def test_sshd_refuses_passwords_and_root_and_shows_the_banner(lab: TargetLab, hardened: dict) -> None:
    assert lab.key is not None
    code, err = _ssh(lab, "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password")
    assert code != 0 and "Permission denied (publickey)" in err
    code, err = _ssh(lab, "-i", str(lab.key), user="root")
    assert code != 0 and "Permission denied" in err
    code, err = _ssh(lab, "-i", str(lab.key))
    assert code == 0, err
    assert "仅限授权人员使用" in err  # the login banner, shown before authentication


def test_password_rules_and_lockout_hold(lab: TargetLab, hardened: dict) -> None:
    target = lab.targets[2]
    assert lab.exec(target, "useradd", "--create-home", "victim").returncode == 0
    weak = lab.exec(target, "sh", "-c", "echo victim:abc123 | chpasswd")
    assert weak.returncode != 0 and "BAD PASSWORD" in weak.stderr
    strong = "Kx9!vT4#qLw2^Rb-7"
    assert lab.exec(target, "sh", "-c", f"echo 'victim:{strong}' | chpasswd").returncode == 0
    copy = lab.exec(target, "sh", "-c", f"cat > /tmp/pam_try.py <<'PY'\n{PAM_TRY}\nPY")
    assert copy.returncode == 0, copy.stderr
    assert lab.exec(target, "python3", "/tmp/pam_try.py", "victim", strong).stdout.strip() == "0"
    failures = 0
    for _ in range(5):  # baseline_faillock_deny
        failures += lab.exec(target, "python3", "/tmp/pam_try.py", "victim", "wrong").stdout.strip() != "0"
    assert failures == 5
    # locked now: even the right password is refused until unlock_time passes
    assert lab.exec(target, "python3", "/tmp/pam_try.py", "victim", strong).stdout.strip() != "0"
    assert "victim" in lab.exec(target, "faillock", "--user", "victim").stdout


def test_container_runtime_runs_in_the_targets_and_is_idempotent(lab: TargetLab, hardened: dict, tmp_path) -> None:
    inventory = write_inventory(lab, tmp_path / "hosts.yml")
    first = run_playbook(inventory, "runtime.yml")
    assert first.ok, first.failures
    again = run_playbook(inventory, "runtime.yml")
    assert again.ok and [s.get("changed", 0) for s in again.stats.values()] == [0, 0, 0], again.stats
    for target in lab.targets:
        assert lab.exec(target, "systemctl", "is-active", "containerd").stdout.strip() == "active"
        config = lab.exec(target, "cat", "/etc/containerd/config.toml").stdout
        assert "restrict_oom_score_adj = true" in config and "SystemdCgroup = false" in config
