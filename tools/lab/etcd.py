"""A single-member etcd on loopback ports (the lab's apiserver, restore drills, the backup bench),
stopped by its PID."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tools.components import system_binary
from tools.lab.process import ManagedProcess, free_port


def start_etcd(
    data_dir: Path,
    log: Path,
    *,
    binary: Path | None = None,
    scheme: str = "http",
    extra: Sequence[str | os.PathLike[str]] = (),
    env: dict[str, str] | None = None,
    name: str = "etcd",
) -> tuple[ManagedProcess, str]:
    """Start etcd on a free client port and a free peer port; (the process, its client URL).

    Waiting for it to be healthy is the caller's: a TLS member needs its client certificate."""
    port, peer = free_port(), free_port()
    url = f"{scheme}://127.0.0.1:{port}"
    peer_url = f"http://127.0.0.1:{peer}"
    proc = ManagedProcess(
        name,
        [
            binary or system_binary("etcd", "etcd", "/usr/bin/etcd"), "--data-dir", data_dir,
            "--listen-client-urls", url, "--advertise-client-urls", url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", f"default={peer_url}", "--unsafe-no-fsync", *extra,
        ],
        log,
        env=env,
    )  # fmt: skip
    return proc, url


def start_plain_etcd(
    data_dir: Path, log: Path, *, binary: Path | None = None, timeout: float = 120
) -> tuple[ManagedProcess, str]:
    """A plain-HTTP etcd, waited on until it reports healthy."""
    proc, url = start_etcd(data_dir, log, binary=binary)
    proc.wait_http(f"{url}/health", timeout=timeout, ok=lambda r: r.status_code == 200)
    return proc, url
