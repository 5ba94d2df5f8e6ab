"""An in-process gateway for the console tests: a real uvicorn server on a free loopback port,
so the test can open sessions directly for principals of each role (real Keycloak sign-in comes
with the lab). Screenshots go to $GOVOPS_TEST_ARTIFACTS (default .artifacts/e2e)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.auth import SESSION_COOKIE
from govops.principal import AUDITOR, DEPT_ADMIN, OPS_ENGINEER, SECURITY_STAFF, Principal
from tests.fixtures.platform import REPO
from tools.lab.process import free_port

ROLES = {
    "ops-engineer": Principal("u-ops", "王运维 (ops)", frozenset({OPS_ENGINEER})),
    "dept-admin": Principal("u-gaj", "李管理员 (公安分局)", frozenset({DEPT_ADMIN}), department="gaj"),
    "security-staff": Principal("u-zz", "张值班 (综治)", frozenset({SECURITY_STAFF}), platform="zongzhi"),
    "auditor": Principal("u-aud", "赵审计 (auditor)", frozenset({AUDITOR})),
}


@dataclass
class ConsoleServer:
    url: str
    app: object
    runtime: object

    def cookie_for(self, principal: Principal) -> dict[str, object]:
        sid = self.app.state.local_login.open_session(principal)  # type: ignore[attr-defined]
        return {"name": SESSION_COOKIE, "value": sid, "url": self.url, "httpOnly": True, "sameSite": "Strict"}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    d = Path(os.environ.get("GOVOPS_TEST_ARTIFACTS", REPO / ".artifacts" / "e2e"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def seed_week(runtime) -> None:  # type: ignore[no-untyped-def]
    """Seven recorded days, with the district's online rate moving, so the charts have a shape."""
    from sqlalchemy import select

    from monitoring.kpi_history.record import record
    from video.catalogue.models import Camera

    now = datetime.now(UTC)
    with runtime.transaction() as s:
        cams = list(s.scalars(select(Camera).order_by(Camera.id)))
        for day in range(6, -1, -1):  # today and the six days before: a 7-day window
            for i, cam in enumerate(cams):  # a camera or two off on some days
                cam.status = "offline" if (i + day) % 5 == 0 else "online"
            s.flush()
            record(s, runtime.video, at=now - timedelta(days=day, minutes=1))
        for cam in cams:
            cam.status = "online"


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory, sample_clips: Path) -> Iterator[ConsoleServer]:
    import uvicorn

    from gateway.app import create_app
    from gateway.runtime import Runtime
    from govops.settings import load_settings

    data = tmp_path_factory.mktemp("console") / "data"
    runtime = Runtime.build(load_settings(data_dir=data, environment="test"))
    runtime.migrate()
    runtime.settings.ensure_data_dir()
    runtime.clips_dir.symlink_to(sample_clips, target_is_directory=True)
    runtime.load_sample_district()
    seed_week(runtime)
    app = create_app(runtime)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True, name="console-uvicorn")
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the console server did not start"
        time.sleep(0.05)
    yield ConsoleServer(f"http://127.0.0.1:{port}", app, runtime)
    server.should_exit = True
    thread.join(30)
