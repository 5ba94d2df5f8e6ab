"""A child process we started, stopped by its own PID (never by name)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx


class StartupFailed(RuntimeError):
    """A component did not become healthy; the message carries the tail of its log."""


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A free 127.0.0.1 port below the kernel's ephemeral range.

    A port handed out by bind(0) lies in the ephemeral range, where any outgoing connection on the
    machine may take it as its source port before a slow server (Keycloak binds ~15 s after start)
    gets to it. Below that range only a listener can take it.
    """
    floor = _ephemeral_floor()
    if floor > 12000:
        for _ in range(50):
            port = random.randrange(10000, floor)  # noqa: S311 - not a secret
            if _bindable(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str | os.PathLike[str]],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        merged = {**os.environ, **(env or {})}
        # A new session so that stop() can signal the whole group this process starts.
        self.popen = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=merged,
            cwd=cwd,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise StartupFailed(
                    f"{self.name} exited with code {self.popen.returncode} before {what}; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                if check():
                    return
            except Exception:  # noqa: S110 - not ready yet, poll again
                pass
            time.sleep(0.2)
        self.stop()
        raise StartupFailed(
            f"{self.name} not ready ({what}) after {timeout:.0f}s; log {self.log_path}:\n{self.log_tail()}"
        )

    def wait_http(
        self,
        url: str,
        timeout: float = 60,
        ok: Callable[[httpx.Response], bool] | None = None,
        verify: bool | str = True,
    ) -> None:
        def check() -> bool:
            r = httpx.get(url, timeout=2, verify=verify)
            return ok(r) if ok else r.status_code < 500

        self.wait_until(check, timeout, f"GET {url}")

    def wait_port(self, port: int, timeout: float = 30) -> None:
        def check() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True

        self.wait_until(check, timeout, f"port {port} open")

    def stop(self, grace: float = 10) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()
