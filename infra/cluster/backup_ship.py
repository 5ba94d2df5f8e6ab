"""A backup host as the backup target (异机备份): after an archive is written to the local spool, it
is copied over SSH to `user@host:/dir` on a host of the inventory, and the same retention as the
spool's (backup.expired) is applied there. The archive is already encrypted to the operator's key,
so the backup host holds nothing readable; it needs no govops, only sshd, `mv`, `ls` and `rm`.

The copy lands under a dot-name and is renamed when complete, so a cut connection never leaves a
short archive where a restore would pick it up.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from govops.errors import ServiceUnavailable, ValidationFailed
from infra.cluster.backup import expired

_DESTINATION = re.compile(r"(?P<login>[A-Za-z0-9._-]+@[A-Za-z0-9._:\[\]-]+?):(?P<dir>/[^\0\n]*)")


@dataclass(frozen=True)
class Destination:
    login: str  # user@host
    directory: str

    @classmethod
    def parse(cls, text: str) -> Destination:
        m = _DESTINATION.fullmatch(text.strip())
        if m is None:
            raise ValidationFailed(
                f"backup host destination {text!r} is not user@host:/absolute/dir",
                hint="e.g. govops-backup@10.10.2.40:/srv/backup/govops",
            )
        return cls(m["login"], m["dir"].rstrip("/") or "/")

    def __str__(self) -> str:
        return f"{self.login}:{self.directory}"


def _ssh_options(key: Path | None, known_hosts: Path | None) -> list[str]:
    options = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=30"]
    if key is not None:
        options += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
    if known_hosts is not None:  # the backup host's key, pinned by the role: never trust on first use
        options += ["-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes"]
    return options


def _run(argv: list[str], what: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=3600, check=False)
    except FileNotFoundError:
        raise ServiceUnavailable(f"{argv[0]} is not installed ({what})", hint="install openssh-client") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise ServiceUnavailable(f"{what} failed: {last[0][:300]}", hint="check the backup host is reachable over ssh")
    return done.stdout


def ship(
    archive: Path,
    destination: Destination,
    *,
    keep: int,
    keep_days: int | None = None,
    key: Path | None = None,
    known_hosts: Path | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Copy `archive` to the backup host and apply the retention there; returns the names removed."""
    options = _ssh_options(key, known_hosts)
    final = f"{destination.directory}/{archive.name}"
    partial = f"{destination.directory}/.{archive.name}.partial"

    def remote(*argv: str, what: str) -> str:
        return _run(["ssh", *options, destination.login, shlex.join(argv)], what)

    _run(["scp", "-q", "-p", *options, str(archive), f"{destination.login}:{partial}"], f"copy to {destination}")
    remote("mv", "-f", partial, final, what=f"rename on {destination.login}")
    names = remote("ls", "-1", destination.directory, what=f"list {destination}").split()
    gone = expired(names, keep=keep, keep_days=keep_days, now=now)
    if gone:
        remote("rm", "-f", *(f"{destination.directory}/{n}" for n in gone), what=f"prune on {destination.login}")
    return gone
