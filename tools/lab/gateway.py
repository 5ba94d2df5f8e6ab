"""The gateway itself (`govops serve`) as a lab child process on a free loopback port.

The caller passes the GOVOPS_* environment (database, Keycloak, tokens): the lab launchers never
read the platform's settings themselves.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tools.lab.process import ManagedProcess, free_port

STARTUP_TIMEOUT = 180.0  # migrations and the sample district's clips on a busy 2-core machine
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class GatewayHandle:
    process: ManagedProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_gateway(workdir: Path, env: Mapping[str, str], port: int | None = None) -> GatewayHandle:
    """`python -m gateway.cli.main serve` with `env`; waits until /healthz answers 200."""
    port = port or free_port()
    proc = ManagedProcess(
        "gateway",
        [sys.executable, "-m", "gateway.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port), "--json"],
        workdir / "gateway.log",
        env=dict(env),
        cwd=ROOT,
    )
    proc.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=STARTUP_TIMEOUT, ok=lambda r: r.status_code == 200)
    return GatewayHandle(proc, port)
