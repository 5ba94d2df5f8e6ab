"""Prometheus (Debian) on a free loopback port, scraping the targets it is given."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from tools.components import system_binary
from tools.lab.process import ManagedProcess, free_port


@dataclass
class PrometheusHandle:
    process: ManagedProcess
    port: int
    config: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    endpoint = url

    def stop(self) -> None:
        self.process.stop()


def scrape_config(
    targets: dict[str, str],
    rule_files: list[Path] | None = None,
    interval: str = "2s",
    bearer_token: str | None = None,
    alertmanagers: list[str] | None = None,
) -> dict:
    jobs = []
    for job, target in targets.items():
        job_cfg: dict = {"job_name": job, "scrape_interval": interval, "static_configs": [{"targets": [target]}]}
        if bearer_token:
            job_cfg["authorization"] = {"type": "Bearer", "credentials": bearer_token}
        jobs.append(job_cfg)
    cfg: dict = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(p) for p in rule_files or []],
        "scrape_configs": jobs,
    }
    if alertmanagers:
        cfg["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}]}
    return cfg


def start_prometheus(
    workdir: Path,
    targets: dict[str, str],
    rule_files: list[Path] | None = None,
    bearer_token: str | None = None,
    alertmanagers: list[str] | None = None,
    interval: str = "2s",
    port: int | None = None,
) -> PrometheusHandle:
    binary = system_binary("prometheus", "prometheus", "/usr/bin/prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            scrape_config(targets, rule_files, interval, bearer_token=bearer_token, alertmanagers=alertmanagers)
        )
    )
    port = port or free_port()
    proc = ManagedProcess(
        "prometheus",
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        workdir / "prometheus.log",
    )
    proc.wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60, ok=lambda r: r.status_code == 200)
    return PrometheusHandle(proc, port, config)


def promtool() -> Path:
    return system_binary("promtool", "promtool", "/usr/bin/promtool")
