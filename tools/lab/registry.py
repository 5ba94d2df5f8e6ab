"""The local lab: the same real components the tests use, started for people.

`up` starts each component on free 127.0.0.1 ports and records PIDs and endpoints in
<data_dir>/lab/state.json; `down` stops exactly those PIDs (after checking each is still the
process we started: a reused PID is never signalled); `status` shows what is alive.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from tools.components import ComponentMissing
from tools.lab.process import ManagedProcess, StartupFailed


def _postgres(d: Path) -> tuple[list[ManagedProcess], str, dict[str, Any]]:
    from tools.lab.postgres import start_postgres

    h = start_postgres(d)
    return (
        [h.process],
        h.endpoint,
        {
            "database_url_without_password": h.endpoint,
            "workdir": str(h.workdir),
            "password_file": _secret(d, "postgres.password", h.password),
        },
    )


def _keycloak(d: Path) -> tuple[list[ManagedProcess], str, dict[str, Any]]:
    from tools.lab.keycloak import start_keycloak

    h = start_keycloak(d)
    return (
        [h.process],
        h.base_url,
        {"admin_user": h.admin_user, "admin_password_file": _secret(d, "keycloak.password", h.admin_password)},
    )


def _kube(d: Path) -> tuple[list[ManagedProcess], str, dict[str, Any]]:
    from tools.lab.kube import start_kube

    h = start_kube(d)
    return list(h.processes.values()), h.apiserver_url, {"kubeconfig": str(h.kubeconfig)}


def _rtsp(d: Path) -> tuple[list[ManagedProcess], str, dict[str, Any]]:
    from tools.lab.rtsp import start_rtsp_server

    h = start_rtsp_server(d, {"live": "testsrc:ball", "smpte": "testsrc:smpte"})
    return [h.process], f"rtsp://{h.host}:{h.port}/", {"urls": h.urls}


def _onvif(d: Path) -> tuple[list[ManagedProcess], str, dict[str, Any]]:
    from tools.lab.onvif import start_onvif_camera

    h = start_onvif_camera(d)
    return (
        [h.process],
        h.device_service_url,
        {
            "user": h.user,
            "password_file": _secret(d, "onvif.password", h.password),
            "rtsp_url": h.rtsp_url,
            "discovery_target": h.discovery_target,
        },
    )


def _prometheus(d: Path, gateway: str) -> tuple[list[ManagedProcess], str, dict[str, Any]]:
    from tools.lab.prometheus import start_prometheus

    rules = sorted((Path(__file__).resolve().parents[2] / "monitoring" / "rules").glob("*.yml"))
    h = start_prometheus(d, {"govops": gateway}, rule_files=rules)
    return [h.process], h.url, {"scrapes": gateway}


Started = tuple[list[ManagedProcess], str, dict[str, Any]]
# Each starter gets its directory and the gateway's host:port (which Prometheus scrapes).
STARTERS: dict[str, Callable[[Path, str], Started]] = {
    "postgres": lambda d, _: _postgres(d),
    "prometheus": _prometheus,
    "kube": lambda d, _: _kube(d),
    "keycloak": lambda d, _: _keycloak(d),
    "rtsp": lambda d, _: _rtsp(d),
    "onvif": lambda d, _: _onvif(d),
}
NAMES = tuple(STARTERS)


def _secret(d: Path, name: str, value: str) -> str:
    """Credentials go to a 0600 file, never into the state file or the terminal."""
    p = d / name
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return str(p)


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _program(p: ManagedProcess) -> str:
    # What the PID runs now (a wrapper such as setpriv has exec'd into the server by then).
    cmd = _cmdline(p.pid)
    return Path(cmd[0]).name if cmd else Path(p.argv[0]).name


def _same_process(pid: int, argv0: str) -> bool:
    cmd = _cmdline(pid)
    return bool(cmd) and any(argv0 in part for part in cmd[:6])


class UnknownComponent(ValueError):
    """A name that is not one of NAMES."""


class Lab:
    """The lab under `root`; `gateway` is the host:port of the gateway that Prometheus scrapes (the
    caller passes it from its settings: the lab launchers never read the platform's settings)."""

    def __init__(self, root: Path, gateway: str = "127.0.0.1:8080") -> None:
        self.root = root
        self.gateway = gateway
        self.state_file = root / "state.json"

    def _load(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.state_file.read_text()))
        except (OSError, ValueError):
            return {}

    def _save(self, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, ensure_ascii=False))
        tmp.replace(self.state_file)

    def _alive(self, entry: dict[str, Any]) -> bool:
        return all(_same_process(p["pid"], p["argv0"]) for p in entry.get("processes", []))

    def up(self, names: list[str], progress: Console | None = None) -> list[dict[str, Any]]:
        unknown = [n for n in names if n not in STARTERS]
        if unknown:
            raise UnknownComponent(f"unknown lab component(s): {', '.join(unknown)}; choose from: {', '.join(NAMES)}")
        state = self._load()
        for name in names:
            if name in state and self._alive(state[name]):
                continue
            started = time.monotonic()
            if progress:
                progress.print(f"starting {name} …", highlight=False)
            try:
                procs, endpoint, details = STARTERS[name](self.root / name, self.gateway)
            except (ComponentMissing, StartupFailed, OSError) as exc:
                state[name] = {"state": "failed", "error": str(exc).splitlines()[0]}
                self._save(state)
                continue
            state[name] = {
                "state": "running",
                "endpoint": endpoint,
                "details": details,
                "processes": [{"name": p.name, "pid": p.pid, "argv0": _program(p)} for p in procs],
                "started_in_s": round(time.monotonic() - started, 1),
            }
            self._save(state)
        return self.status()

    def down(self) -> list[dict[str, Any]]:
        state = self._load()
        rows = []
        for name, entry in state.items():
            for p in reversed(entry.get("processes", [])):
                if _same_process(p["pid"], p["argv0"]):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(p["pid"], signal.SIGTERM)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and any(
                _same_process(p["pid"], p["argv0"]) for p in entry.get("processes", [])
            ):
                time.sleep(0.2)
            for p in entry.get("processes", []):
                if _same_process(p["pid"], p["argv0"]):
                    os.killpg(p["pid"], signal.SIGKILL)
            rows.append({"component": name, "state": "stopped"})
        self._save({})
        return rows

    def status(self) -> list[dict[str, Any]]:
        rows = []
        for name in NAMES:
            entry = self._load().get(name)
            if entry is None:
                rows.append({"component": name, "state": "not started"})
            elif entry.get("state") == "failed":
                rows.append({"component": name, "state": "failed", "error": entry.get("error")})
            else:
                alive = self._alive(entry)
                rows.append(
                    {
                        "component": name,
                        "state": "running" if alive else "dead",
                        "pid": ",".join(str(p["pid"]) for p in entry["processes"]),
                        "endpoint": entry.get("endpoint"),
                        "details": entry.get("details", {}),
                    }
                )
        return rows
