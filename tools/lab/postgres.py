"""A throw-away PostgreSQL cluster on a free loopback port (Debian's postgresql)."""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tools.components import ComponentMissing
from tools.lab.process import ManagedProcess, free_port

USER = "govops"


@dataclass
class PostgresHandle:
    process: ManagedProcess
    port: int
    password: str
    workdir: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{USER}:{self.password}@127.0.0.1:{self.port}/govops"

    @property
    def endpoint(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/govops"

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise ComponentMissing("postgresql", "no /usr/lib/postgresql/*/bin/postgres")
    return Path(found[-1]).parent


def _demote() -> list[str]:
    # PostgreSQL refuses to run as root; run it as the Debian `postgres` user then.
    if os.geteuid() != 0:
        return []
    pwd.getpwnam("postgres")
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]


def start_postgres(log_dir: Path) -> PostgresHandle:
    bindir = _bindir()
    # Under /tmp and owned by postgres: pytest's own tmp dirs are 0700 root.
    workdir = Path(tempfile.mkdtemp(prefix="govops-pg-"))
    data, sock = workdir / "data", workdir / "sock"
    sock.mkdir()
    password = secrets.token_urlsafe(16)
    pwfile = workdir / "pw"
    pwfile.write_text(password)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for p in (workdir, sock, pwfile):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    demote = _demote()
    subprocess.run(
        [
            *demote,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            "--pwfile",
            str(pwfile),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    pwfile.unlink()
    port = free_port()
    proc = ManagedProcess(
        "postgres",
        [
            *demote,
            bindir / "postgres",
            "-D",
            data,
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-k",
            sock,
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ],
        log_dir / "postgres.log",
    )
    proc.wait_port(port, timeout=30)
    subprocess.run(
        [
            *demote,
            str(bindir.parent / "bin" / "createdb"),
            "-h",
            str(sock),
            "-p",
            str(port),
            "-U",
            USER,
            "-w",
            "govops",
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    return PostgresHandle(proc, port, password, workdir)
