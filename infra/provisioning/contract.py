"""The contract between the provisioning service and the engine that runs the Pulumi program: what
the service hands in, how a run is followed, what comes back. Light to import (no Pulumi), so the
front doors and the unit tests' fake engines use it without loading the Automation API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from infra.provisioning.changes import ResourceChange

EventSink = Callable[[str, dict[str, Any]], None]
OutputSink = Callable[[str], None]


@dataclass
class Watch:
    """Who follows a run as it goes: resource events (a progress bar) and output lines (a log)."""

    on_event: EventSink | None = None
    on_output: OutputSink | None = None


@dataclass
class EngineConfig:
    stack: str
    backend_url: str
    passphrase: str
    kubeconfig: Path
    departments_file: Path
    pulumi_home: Path
    bin_dirs: list[Path]
    registry: str = "registry.gov.local"
    platform: bool = True
    workloads_dir: Path | None = None  # <dir>/<department>/*.yaml: the departments' own workloads


@dataclass
class EngineResult:
    ok: bool
    counts: dict[str, int]
    output: str
    error: str | None = None
    changes: list[ResourceChange] = field(default_factory=list)


class Engine(Protocol):
    """One method per engine operation (infra/provisioning/engine.py is the real one)."""

    def preview(self, watch: Watch | None = None) -> EngineResult: ...
    def up(self, watch: Watch | None = None, *, refresh: bool = False) -> EngineResult: ...
    def refresh(self, watch: Watch | None = None) -> EngineResult: ...
    def drift(self, watch: Watch | None = None) -> EngineResult: ...
