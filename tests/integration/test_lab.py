"""`govops lab up` on a clean data directory: the whole stack, every role signs in, `down` leaves
no process behind. One bring-up for the module (Keycloak, kube, PostgreSQL … take minutes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from govops.principal import ROLES
from identity.keycloak_adapter import OidcEndpoints
from identity.login import certificate_login
from tests.fixtures.platform import wait_for
from tests.support.lab import lab_cli, person_pem

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _process_groups() -> dict[int, int]:
    """pid → process group of every process alive now."""
    groups = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            groups[int(stat.parent.name)] = int(fields[2])
    return groups


class Stack:
    def __init__(self, data_dir: Path, up: list[dict[str, Any]]) -> None:
        self.data_dir = data_dir
        self.rows = {r["component"]: r for r in up}
        self.state = json.loads((data_dir / "lab" / "state.json").read_text())
        self.pids = [p["pid"] for e in self.state.values() for p in e.get("processes", [])]

    def details(self, name: str) -> dict[str, Any]:
        return dict(self.state[name].get("details") or {})


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("lab") / "data"
    code, up, err = lab_cli(data_dir, "up", timeout=1800)
    try:
        assert up is not None, err
        failed = {r["component"]: r.get("error") for r in up if r["state"] == "failed"}
        assert code == 0 and not failed, failed
        yield Stack(data_dir, up)
    finally:
        lab_cli(data_dir, "down", timeout=300)


def test_lab_up_reaches_all_healthy(stack: Stack) -> None:
    code, status, _ = lab_cli(stack.data_dir, "status")
    assert code == 0 and all(r["health"] == "healthy" for r in status), status  # "all healthy"
    states = {r["component"]: r["state"] for r in status}
    assert set(states) == {
        "postgres", "pki", "keycloak", "realm", "gateway", "alertmanager", "prometheus", "kube", "rtsp", "onvif",
        "cameras",
    }  # fmt: skip
    assert {states[s] for s in ("pki", "realm", "cameras")} == {"done"}
    assert all(states[c] == "running" for c in states if c not in ("pki", "realm", "cameras"))
    assert stack.details("cameras") == {"onvif": 1, "rtsp": 2}


def _session(stack: Stack, person: dict[str, str], tmp: Path) -> str:
    """Sign in as the lab prints it: the PKCS#12 and its password file, through Keycloak's mTLS port."""
    p12 = Path(person["pkcs12"])
    assert p12.stat().st_mode & 0o777 == 0o600 and Path(person["pkcs12_password_file"]).stat().st_mode & 0o777 == 0o600
    crt, pem = person_pem(person, tmp)
    kc = stack.details("keycloak")
    endpoints = OidcEndpoints(kc["https_url"], "civil-servants")
    return certificate_login(endpoints, crt, pem, ca_file=Path(stack.details("pki")["truststore"])).access_token


def test_every_role_of_both_departments_gets_a_session(stack: Stack, tmp_path: Path) -> None:
    people = stack.details("realm")["signin"]
    assert {(p["role"], p["department"]) for p in people} == {(r, d) for r in ROLES for d in ("gaj", "cgj")}
    gateway = stack.rows["gateway"]["endpoint"]
    signed_in = set()
    for person in people:
        token = _session(stack, person, tmp_path)
        r = httpx.get(f"{gateway}/api/v1/whoami", headers={"authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 200, r.text
        me = r.json()
        assert me["roles"] == [person["role"]] and me["department"] == person["department"], me
        signed_in.add(person["role"])
    assert signed_in == set(ROLES)


def test_cameras_are_in_the_gateways_catalogue(stack: Stack, tmp_path: Path) -> None:
    ops = next(p for p in stack.details("realm")["signin"] if p["role"] == "ops-engineer")
    token = _session(stack, ops, tmp_path)
    gateway = stack.rows["gateway"]["endpoint"]
    with httpx.Client(base_url=gateway, headers={"authorization": f"Bearer {token}"}, timeout=30) as c:
        rtsp = c.get("/api/v1/cameras", params={"q": "实验室RTSP", "limit": 10})
        assert rtsp.status_code == 200, rtsp.text
        assert len(rtsp.json()["items"]) == 2


def test_prometheus_scrapes_the_lab_gateway(stack: Stack) -> None:
    prom = stack.rows["prometheus"]["endpoint"]
    gateway = stack.rows["gateway"]["endpoint"].removeprefix("http://")
    health: list[str] = []
    deadline = time.monotonic() + 180  # the first scrape comes within one interval
    while time.monotonic() < deadline:
        targets = httpx.get(f"{prom}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        health = [t["health"] for t in targets if t["labels"].get("instance") == gateway]
        if health == ["up"]:
            break
        time.sleep(2)
    assert health == ["up"], targets
    rules = httpx.get(f"{prom}/api/v1/rules", timeout=10).json()["data"]["groups"]
    assert rules, "the project's rules are loaded"


def test_status_against_the_lab_says_what_runs(stack: Stack, tmp_path: Path) -> None:
    """`govops status` pointed at the lab as `govops lab status` says (`set -a; . gateway.env`):
    each real component answers through its probe; the lab's gateway sees the same."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVOPS_")}
    for line in (stack.data_dir / "lab" / "gateway.env").read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    # the lab's own gateway was told where Prometheus and Alertmanager would listen, before they started
    assert env["GOVOPS_PROMETHEUS_URL"] == stack.rows["prometheus"]["endpoint"]
    assert env["GOVOPS_ALERTS_ALERTMANAGER_URL"] == stack.rows["alertmanager"]["endpoint"]
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "status", "--json", "--wait", "60"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    by = {s["subsystem"]: s for s in json.loads(out.stdout)["subsystems"]}
    running = ("keycloak", "ca", "kubernetes", "prometheus", "alertmanager", "database", "video")
    assert all(by[k]["state"] in ("ok", "warning") for k in running), {
        k: (by[k]["state"], by[k]["summary"]) for k in by
    }
    assert by["prometheus"]["state"] == "ok" and by["alertmanager"]["state"] == "ok"
    ops = next(p for p in stack.details("realm")["signin"] if p["role"] == "ops-engineer")
    token = _session(stack, ops, tmp_path)

    def served() -> dict[str, str] | None:  # the board answers within its budget, then from its cache
        url, auth = f"{stack.rows['gateway']['endpoint']}/api/v1/status", {"authorization": f"Bearer {token}"}
        r = httpx.get(url, headers=auth, timeout=60)
        assert r.status_code == 200, r.text
        board = {s["subsystem"]: s["state"] for s in r.json()["subsystems"]}
        return board if "unknown" not in (board["prometheus"], board["alertmanager"]) else None

    board = wait_for(served, timeout=120, what="the lab gateway's probes of Prometheus and Alertmanager")
    assert board["prometheus"] == board["alertmanager"] == "ok", board


def test_lab_down_leaves_no_process_behind(stack: Stack) -> None:
    assert stack.pids, "the lab recorded the PIDs it started"
    code, rows, _ = lab_cli(stack.data_dir, "down", timeout=300)
    assert code == 0 and {r["state"] for r in rows} == {"stopped"}
    groups = _process_groups()
    assert not [p for p in stack.pids if p in groups], "a recorded PID is still alive"
    assert not [p for p, g in groups.items() if g in stack.pids], "a child of a recorded process is still alive"
