"""Alertmanager (Debian `prometheus-alertmanager`) on a free loopback port, posting to govops.

Clustering is off (`--cluster.listen-address=`): a lab or test instance must not bind 9094 or
gossip with a neighbour. The webhook's bearer token is read from a file (credentials_file), so
it never appears in the config or on a command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.components import system_binary
from tools.lab.process import ManagedProcess, free_port

SAMPLE = Path(__file__).resolve().parents[2] / "monitoring" / "alertmanager.yml"


@dataclass
class AlertmanagerHandle:
    process: ManagedProcess
    port: int
    config: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    endpoint = url

    def stop(self) -> None:
        self.process.stop()


def alertmanager_config(
    webhook_url: str,
    token_file: Path,
    *,
    group_wait: str = "10s",
    group_interval: str = "1m",
    repeat_interval: str = "4h",
) -> dict[str, Any]:
    """The sample monitoring/alertmanager.yml with the receiver's URL, token file and timings."""
    cfg = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    cfg["route"].update(group_wait=group_wait, group_interval=group_interval, repeat_interval=repeat_interval)
    for receiver in cfg["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = webhook_url
            hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return cfg


def start_alertmanager(
    workdir: Path,
    webhook_url: str,
    token_file: Path,
    *,
    port: int | None = None,
    **timings: str,
) -> AlertmanagerHandle:
    binary = system_binary("prometheus-alertmanager", "prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(yaml.safe_dump(alertmanager_config(webhook_url, token_file, **timings), allow_unicode=True))
    port = port or free_port()
    proc = ManagedProcess(
        "alertmanager",
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        workdir / "alertmanager.log",
    )
    proc.wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60, ok=lambda r: r.status_code == 200)
    return AlertmanagerHandle(proc, port, config)
