"""Disposable cluster hosts: systemd-nspawn containers, each in a network namespace of its own.

One cached Debian root (tools/components/targets.sh) is cloned per target with an overlay mount; the
target boots a real systemd and sshd. Every target's namespace is wired to one hub namespace with a
bridge, on addresses that exist only inside these namespaces (10.213.0.0/24 by default): nothing
routes out of them, and the host's own network is untouched. Ansible reaches a target through
`ip netns exec HUB nc HOST 22` as its SSH ProxyCommand.

Every process and mount this module makes is undone by `TargetLab.stop()`, by PID and by path.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.components import ComponentMissing, cache_root, versions
from tools.lab.process import ManagedProcess, StartupFailed

USER = "govops"


def targets_root() -> Path:
    root = cache_root() / f"targets-bookworm-{versions()['TARGETS_REVISION']}"
    if not (root / ".complete").exists():
        raise ComponentMissing("targets", f"no debootstrapped target root at {root}")
    return root / "root"


def _run(*argv: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=timeout)


@dataclass
class Target:
    name: str
    address: str
    netns: str
    merged: Path
    process: ManagedProcess | None = None

    def inventory_vars(self, hub: str, key: Path) -> dict[str, str]:
        return {
            "ansible_host": self.address,
            "ansible_user": USER,
            "ansible_become": "true",
            "ansible_ssh_private_key_file": str(key),
            "ansible_ssh_common_args": (
                f"-o ProxyCommand='ip netns exec {hub} nc %h %p' -o StrictHostKeyChecking=no "
                "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
            ),
            "ansible_python_interpreter": "/usr/bin/python3",
        }


@dataclass
class TargetLab:
    """N booted targets. Use as a context manager, or call start() and stop()."""

    workdir: Path
    count: int = 3
    subnet: str = "10.213.0"
    prefix: str = field(default_factory=lambda: f"gv{os.getpid() % 100000}")
    targets: list[Target] = field(default_factory=list)
    key: Path | None = None

    @property
    def hub(self) -> str:
        return f"{self.prefix}-hub"

    def __enter__(self) -> TargetLab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 120) -> list[Target]:
        if os.geteuid() != 0:
            raise StartupFailed("lab targets need root (network namespaces, overlay mounts, systemd-nspawn)")
        for tool in ("systemd-nspawn", "ip", "nc", "ssh-keygen"):
            if shutil.which(tool) is None:
                raise StartupFailed(f"{tool} is missing: run `make tools` (the debian component installs it)")
        lower = targets_root()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.key = self.workdir / "id_ed25519"
        if not self.key.exists():
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "govops-lab", "-f", str(self.key))
        public = self.key.with_suffix(".pub").read_text()
        _run("ip", "netns", "add", self.hub)
        _run("ip", "netns", "exec", self.hub, "ip", "link", "add", "br0", "type", "bridge")
        _run("ip", "netns", "exec", self.hub, "ip", "addr", "add", f"{self.subnet}.1/24", "dev", "br0")
        _run("ip", "netns", "exec", self.hub, "ip", "link", "set", "br0", "up")
        _run("ip", "netns", "exec", self.hub, "ip", "link", "set", "lo", "up")
        try:
            for n in range(1, self.count + 1):
                self._boot(n, lower, public)
            self._wait_ssh(timeout)
        except BaseException:
            self.stop()
            raise
        return self.targets

    def _boot(self, n: int, lower: Path, public_key: str) -> Target:
        name = f"tgt{n}"
        netns = f"{self.prefix}-{name}"
        address = f"{self.subnet}.{10 + n}"
        base = self.workdir / name
        for d in ("upper", "work", "merged", "containerd"):
            (base / d).mkdir(parents=True, exist_ok=True)
        merged = base / "merged"
        _run(
            "mount", "-t", "overlay", "overlay",
            "-o", f"lowerdir={lower},upperdir={base / 'upper'},workdir={base / 'work'}", str(merged),
        )  # fmt: skip
        target = Target(name=name, address=address, netns=netns, merged=merged)
        self.targets.append(target)  # so that stop() unmounts it even if the boot fails below
        # The automation account Ansible logs in as (the baseline refuses root over SSH).
        _run("chroot", str(merged), "useradd", "--create-home", "--shell", "/bin/bash", "--groups", "sudo", USER)
        sudoers = merged / "etc" / "sudoers.d" / "10-govops-automation"
        sudoers.write_text(f"{USER} ALL=(ALL) NOPASSWD:ALL\n")
        sudoers.chmod(0o440)
        ssh = merged / "home" / USER / ".ssh"
        ssh.mkdir(mode=0o700, exist_ok=True)
        (ssh / "authorized_keys").write_text(public_key)
        _run("chroot", str(merged), "chown", "-R", f"{USER}:{USER}", f"/home/{USER}/.ssh")
        (merged / "etc" / "resolv.conf").unlink(missing_ok=True)
        (merged / "etc" / "resolv.conf").write_text("# lab target: no DNS\noptions timeout:1 attempts:1\n")
        (merged / "etc" / "hostname").write_text(f"{name}\n")
        (merged / "etc" / "hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {name}\n")
        # Namespace and veth: fixed MAC per address, so a reused address never meets a stale ARP entry.
        mac = "02:42:0a:d5:00:%02x" % (10 + n)
        _run("ip", "netns", "add", netns)
        _run("ip", "link", "add", f"{netns}-h", "type", "veth", "peer", "name", f"{netns}-t")
        _run("ip", "link", "set", f"{netns}-h", "netns", self.hub)
        _run("ip", "link", "set", f"{netns}-t", "netns", netns)
        _run("ip", "netns", "exec", self.hub, "ip", "link", "set", f"{netns}-h", "master", "br0", "up")
        _run("ip", "netns", "exec", netns, "ip", "link", "set", f"{netns}-t", "name", "eth0")
        _run("ip", "netns", "exec", netns, "ip", "link", "set", "eth0", "address", mac)
        _run("ip", "netns", "exec", netns, "ip", "addr", "add", f"{address}/24", "dev", "eth0")
        _run("ip", "netns", "exec", netns, "ip", "link", "set", "eth0", "up")
        _run("ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up")
        target.process = ManagedProcess(
            f"target {name}",
            [
                "systemd-nspawn", "--boot", "-D", str(merged), f"--machine={self.prefix}{name}",
                "--register=no", "--keep-unit", "--console=passive", "--resolv-conf=off",
                f"--network-namespace-path=/run/netns/{netns}", "--capability=CAP_NET_ADMIN",
                # containerd: a real directory for its snapshots (overlay cannot nest on overlay) and the
                # system calls it makes that nspawn filters by default
                f"--bind={base / 'containerd'}:/var/lib/containerd", "--system-call-filter=@keyring bpf",
            ],
            base / "console.log",
            env={"SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network"},
        )  # fmt: skip
        return target

    def _wait_ssh(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.targets)
        while pending:
            for t in list(pending):
                assert t.process is not None
                if not t.process.alive():
                    raise StartupFailed(f"{t.name} exited before sshd answered:\n{t.process.log_tail()}")
                probe = _run("ip", "netns", "exec", self.hub, "nc", "-z", "-w", "1", t.address, "22", check=False)
                if probe.returncode == 0:
                    pending.remove(t)
            if pending and time.monotonic() > deadline:
                names = ", ".join(t.name for t in pending)
                raise StartupFailed(f"sshd did not answer on {names} within {timeout:.0f}s")
            if pending:
                time.sleep(0.5)

    def inventory(self, group: str = "cluster") -> dict[str, object]:
        assert self.key is not None
        return {group: {"hosts": {t.name: t.inventory_vars(self.hub, self.key) for t in self.targets}}}

    def exec(self, target: Target, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a command inside a target over its own SSH, as Ansible does."""
        assert self.key is not None
        return _run(
            "ssh", "-i", str(self.key), "-o", f"ProxyCommand=ip netns exec {self.hub} nc %h %p",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "BatchMode=yes", f"{USER}@{target.address}", shlex.join(["sudo", *argv]),
            check=False, timeout=timeout,
        )  # fmt: skip

    def cgroup_root(self, target: Target) -> str:
        """The cgroup a kubelet in this target puts its pods under (the node role's node_cgroup_root).
        The cgroup v1 tree inside a target is the host's: each kubelet needs a subtree of its own,
        named after this lab so that two labs on one machine never share one; stop() removes it."""
        return f"/{self.prefix}-{target.name}"

    def _remove_cgroups(self, target: Target, wait: float = 30) -> None:
        base = Path("/sys/fs/cgroup")
        roots = (
            [h / self.cgroup_root(target).lstrip("/") for h in base.iterdir() if not h.is_symlink()]
            if base.is_dir()
            else []
        )
        deadline = time.monotonic() + wait
        for root in (r for r in roots if r.is_dir()):
            for dirpath, _dirs, _files in os.walk(root, topdown=False):
                while True:  # a cgroup is removable once the killed target's last task has exited
                    try:
                        os.rmdir(dirpath)
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            break
                        time.sleep(0.2)

    def stop(self) -> None:
        for t in self.targets:
            if t.process is not None:
                # The container's init ignores SIGTERM while pods or slow units run: stop() escalates to
                # SIGKILL for the whole process group it started.
                t.process.stop(grace=15)
            self._remove_cgroups(t)
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                _run("umount", "-l", str(t.merged), check=False)
            _run("ip", "netns", "del", t.netns, check=False)
        self.targets.clear()
        _run("ip", "netns", "del", self.hub, check=False)
