"""The local lab: the same real components the tests use, started for people.

`up` starts each component on free 127.0.0.1 ports and records PIDs and endpoints in
<data_dir>/lab/state.json; `down` stops exactly those PIDs (after checking each is still the
process we started: a reused PID is never signalled); `status` shows what is alive and answers.

Besides processes the lab has *steps* (pki, realm, cameras): work on the platform's own data
(its CA, the Keycloak realm, the camera catalogue). The lab cannot do them itself (tools/ never
imports the kernel or the domains), so the caller — the CLI front door — passes them as `steps`,
and the gateway's GOVOPS_* environment as `gateway_env`, and the apiserver's authentication
configuration (SSO through the lab's Keycloak) as `kube_auth`. A component's dependencies start
first; kube comes after the realm, so a full `lab up` gives a cluster that trusts the realm.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from rich.console import Console

from tools.components import ComponentMissing
from tools.lab.process import ManagedProcess, StartupFailed, free_port


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


def _keycloak(d: Path, lab: Lab) -> tuple[list[ManagedProcess], str, dict[str, Any]]:
    from tools.lab.keycloak import KeycloakTLS, start_keycloak

    pki = lab._load().get("pki", {})
    tls, java_security = None, None
    if pki.get("state") == "done":  # HTTPS with client certificates from the project's CA
        p = pki["details"]
        tls = KeycloakTLS(Path(p["server_cert"]), Path(p["server_key"]), Path(p["truststore"]))
        java_security = p.get("java_security")
    h = start_keycloak(d, tls=tls, java_security=java_security)
    return (
        [h.process],
        h.base_url,
        {
            "admin_user": h.admin_user,
            "admin_password_file": _secret(d, "keycloak.password", h.admin_password),
            "https_url": h.https_url,
            "health_url": h.health_url,
        },
    )


def _gateway(d: Path, lab: Lab) -> tuple[list[ManagedProcess], str, dict[str, Any]]:
    from tools.lab.gateway import start_gateway

    if lab.gateway_env is None:
        raise StartupFailed("the gateway needs its GOVOPS_* environment (the caller passes gateway_env)")
    d.mkdir(parents=True, exist_ok=True)
    h = start_gateway(d, lab.gateway_env(lab), port=lab._port("gateway"))
    lab.gateway = f"127.0.0.1:{h.port}"  # what Prometheus scrapes and Alertmanager posts to
    details = {
        "health_url": f"{h.url}/healthz",
        "console": f"{h.url}/",
        "api_docs": f"{h.url}/docs",
        "log": str(d / "gateway.log"),
        "env_file": str(lab.root / "gateway.env"),
    }
    return [h.process], h.url, details


def _kube(d: Path, lab: Lab) -> tuple[list[ManagedProcess], str, dict[str, Any]]:
    from tools.lab.kube import start_kube

    # SSO: once the realm is applied, the caller's kube_auth writes the apiserver's authentication
    # configuration (trust in the lab's Keycloak); without it the cluster knows only certificates.
    try:
        auth = lab.kube_auth(lab) if lab.kube_auth is not None else None
    except Exception as exc:  # the caller's platform code: one line in the lab's state, no traceback
        raise StartupFailed(f"the apiserver's SSO configuration: {exc}") from None
    h = start_kube(d, authentication_config=auth)
    details = {"kubeconfig": str(h.kubeconfig), "ca": str(h.certs["ca.crt"]), "sso": auth is not None}
    if auth is not None:
        details["authentication_config"] = str(auth)
    return list(h.processes.values()), h.apiserver_url, details


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


def _prometheus(d: Path, lab: Lab) -> tuple[list[ManagedProcess], str, dict[str, Any]]:
    from tools.lab.prometheus import start_prometheus

    rules = sorted((Path(__file__).resolve().parents[2] / "monitoring" / "rules").glob("*.yml"))
    h = start_prometheus(
        d,
        {"govops": lab.gateway},
        rule_files=rules,
        bearer_token=lab.metrics_token,
        alertmanagers=_alertmanagers(lab),
        port=lab._port("prometheus"),
    )
    return [h.process], h.url, {"scrapes": lab.gateway, "alertmanagers": _alertmanagers(lab) or []}


def _alertmanagers(lab: Lab) -> list[str] | None:
    am = lab._load().get("alertmanager", {})
    return [am["endpoint"].removeprefix("http://")] if am.get("state") == "running" else None


def _alertmanager(d: Path, lab: Lab) -> tuple[list[ManagedProcess], str, dict[str, Any]]:
    from tools.lab.alertmanager import start_alertmanager

    if not lab.webhook_token:
        raise UnknownComponent("alertmanager needs the gateway's webhook token (the caller passes it)")
    d.mkdir(parents=True, exist_ok=True)
    token_file = Path(_secret(d, "webhook.token", lab.webhook_token))  # 0600, never in the state file
    hook = f"http://{lab.gateway}/api/v1/alerts/alertmanager"
    h = start_alertmanager(d, hook, token_file, port=lab._port("alertmanager"))
    return [h.process], h.url, {"posts_to": hook, "hint": f"GOVOPS_ALERTS_ALERTMANAGER_URL={h.url}"}


Started = tuple[list[ManagedProcess], str, dict[str, Any]]
Step = Callable[["Lab"], dict[str, Any]]
# Each starter gets its directory and the lab (the gateway's host:port, which Prometheus scrapes and
# Alertmanager posts to, and the tokens the caller read from the platform's settings).
STARTERS: dict[str, Callable[[Path, Lab], Started]] = {
    "postgres": lambda d, _: _postgres(d),
    "keycloak": _keycloak,
    "gateway": _gateway,
    "alertmanager": _alertmanager,  # before prometheus, which sends it the alerts
    "prometheus": _prometheus,
    "kube": _kube,
    "rtsp": lambda d, _: _rtsp(d),
    "onvif": lambda d, _: _onvif(d),
}
STEPS = ("pki", "realm", "cameras")
# Their ports are chosen before anything starts (Lab.reserve): others are configured with them.
RESERVED = ("gateway", "alertmanager", "prometheus")  # done by the caller's functions, no process of their own
# Start order: each entry after what it needs.
NAMES = (
    "postgres",
    "pki",
    "keycloak",
    "realm",
    "gateway",
    "alertmanager",
    "prometheus",
    "kube",
    "rtsp",
    "onvif",
    "cameras",
)
DEPENDS: dict[str, tuple[str, ...]] = {
    "pki": ("postgres",),
    "keycloak": ("pki",),
    "realm": ("postgres", "keycloak"),
    "gateway": ("postgres", "realm"),
    "alertmanager": ("gateway",),
    "prometheus": ("gateway", "alertmanager"),
    "cameras": ("gateway", "rtsp", "onvif"),
}


def with_dependencies(names: list[str]) -> list[str]:
    """`names` and everything they need, in start order."""
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        n = todo.pop()
        if n not in wanted:
            wanted.add(n)
            todo.extend(DEPENDS.get(n, ()))
    return [n for n in NAMES if n in wanted]


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

    def __init__(
        self,
        root: Path,
        gateway: str = "127.0.0.1:8080",
        *,
        metrics_token: str | None = None,
        webhook_token: str | None = None,
        steps: Mapping[str, Step] | None = None,
        gateway_env: Callable[[Lab], dict[str, str]] | None = None,
        kube_auth: Callable[[Lab], Path | None] | None = None,
    ) -> None:
        self.root = root
        self.gateway = gateway
        self.metrics_token = metrics_token
        self.webhook_token = webhook_token
        self.steps = dict(steps or {})
        self.gateway_env = gateway_env
        self.kube_auth = kube_auth
        self.state_file = root / "state.json"
        gw = self._load().get("gateway", {})
        if gw.get("state") == "running":
            self.gateway = gw["endpoint"].removeprefix("http://")

    def details(self, name: str) -> dict[str, Any]:
        """What a started component or a done step recorded (endpoints, files), {} otherwise."""
        return dict(self._load().get(name, {}).get("details") or {})

    def endpoint(self, name: str) -> str:
        return str(self._load().get(name, {}).get("endpoint") or "")

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
        unknown = [n for n in names if n not in NAMES]
        if unknown:
            raise UnknownComponent(f"unknown lab component(s): {', '.join(unknown)}; choose from: {', '.join(NAMES)}")
        order = with_dependencies(names)
        for name in RESERVED:
            if name in order:
                self.reserve(name)
        for name in order:
            state = self._load()
            if name in state and state[name].get("state") in ("running", "done") and self._alive(state[name]):
                continue
            missing = [d for d in DEPENDS.get(name, ()) if state.get(d, {}).get("state") not in ("running", "done")]
            if missing:
                state[name] = {"state": "failed", "error": f"needs {', '.join(missing)}, which did not start"}
                self._save(state)
                continue
            started = time.monotonic()
            if progress:
                progress.print(f"starting {name} …", highlight=False)
            if name in STEPS:
                state[name] = self._step(name, started)
                self._save(state)
                continue
            try:
                procs, endpoint, details = STARTERS[name](self.root / name, self)
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

    def reserve(self, name: str) -> str:
        """The host:port `name` will listen on, known before anything starts (kept in
        `<name>.port` until `down`): the CA's CRL URL, the realm and Prometheus name the gateway's,
        and the gateway is told Prometheus's and Alertmanager's, which start after it."""
        entry = self._load().get(name, {})
        if entry.get("state") == "running":
            address = str(entry["endpoint"]).removeprefix("http://")
        else:
            f = self.root / f"{name}.port"
            try:
                port = int(f.read_text())
            except (OSError, ValueError):
                taken = {self.address(other) for other in RESERVED if other != name}
                port = free_port()
                while f"127.0.0.1:{port}" in taken:  # two reservations may not share a port
                    port = free_port()
                self.root.mkdir(parents=True, exist_ok=True)
                f.write_text(str(port))
            address = f"127.0.0.1:{port}"
        if name == "gateway":
            self.gateway = address
        return address

    def address(self, name: str) -> str | None:
        """Where `name` listens or will listen (reserved), None if this lab will not start it."""
        entry = self._load().get(name, {})
        if entry.get("state") == "running":
            return str(entry["endpoint"]).removeprefix("http://")
        f = self.root / f"{name}.port"
        return f"127.0.0.1:{int(f.read_text())}" if f.exists() else None

    def _port(self, name: str) -> int:
        return int(self.reserve(name).rsplit(":", 1)[1])

    def _step(self, name: str, started: float) -> dict[str, Any]:
        step = self.steps.get(name)
        if step is None:
            return {"state": "failed", "error": f"{name} is a step the caller must pass (Lab(steps=...))"}
        try:
            details = step(self)
        except Exception as exc:  # a step is the platform's own code: record its one-line error
            return {"state": "failed", "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
        return {"state": "done", "details": details, "started_in_s": round(time.monotonic() - started, 1)}

    def pids(self) -> list[int]:
        """Every PID the lab recorded (what `down` must leave gone)."""
        return [p["pid"] for e in self._load().values() for p in e.get("processes", [])]

    def down(self) -> list[dict[str, Any]]:
        state = self._load()
        rows = []
        for name, entry in reversed(list(state.items())):  # the gateway before its database
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
            workdir = (entry.get("details") or {}).get("workdir")  # PostgreSQL's cluster under /tmp
            if workdir and Path(workdir).name.startswith("govops-pg-"):
                shutil.rmtree(workdir, ignore_errors=True)
            rows.append({"component": name, "state": "stopped"})
        self._save({})
        for name in RESERVED:
            with contextlib.suppress(FileNotFoundError):
                (self.root / f"{name}.port").unlink()
        return rows

    def status(self) -> list[dict[str, Any]]:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # the health probes are not news
        rows = []
        for name in NAMES:
            entry = self._load().get(name)
            if entry is None:
                rows.append({"component": name, "state": "not started"})
            elif entry.get("state") == "failed":
                rows.append({"component": name, "state": "failed", "health": "-", "error": entry.get("error")})
            elif entry.get("state") == "done":
                rows.append({"component": name, "state": "done", "health": "healthy", "details": entry.get("details")})
            else:
                alive = self._alive(entry)
                rows.append(
                    {
                        "component": name,
                        "state": "running" if alive else "dead",
                        "health": _health(entry) if alive else "down",
                        "pid": ",".join(str(p["pid"]) for p in entry["processes"]),
                        "endpoint": entry.get("endpoint"),
                        "details": entry.get("details", {}),
                    }
                )
        return rows


def all_healthy(rows: list[dict[str, Any]]) -> bool:
    return bool(rows) and all(r["state"] in ("running", "done") and r.get("health") == "healthy" for r in rows)


def _health(entry: dict[str, Any]) -> str:
    """Does the component answer: an HTTP(S) endpoint below 500 (401 is an answer), else its TCP port."""
    url = (entry.get("details") or {}).get("health_url") or entry.get("endpoint") or ""
    parts = urlsplit(url)
    try:
        if parts.scheme in ("http", "https"):
            r = httpx.get(url, timeout=5, verify=False)  # noqa: S501 - loopback liveness, the lab's own CA
            return "healthy" if r.status_code < 500 else f"unhealthy (HTTP {r.status_code})"
        if parts.hostname and parts.port:
            with socket.create_connection((parts.hostname, parts.port), timeout=5):
                return "healthy"
    except (httpx.HTTPError, OSError) as exc:
        return f"unreachable ({type(exc).__name__})"
    return "unknown"
