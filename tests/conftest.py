"""Shared fixtures: fast in-process ones here, real components in tests/fixtures/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth import SESSION_COOKIE
from gateway.runtime import Runtime
from govops.principal import Principal
from govops.settings import load_settings

pytest_plugins = ["tests.fixtures.platform", "tests.fixtures.components"]


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_settings(data_dir=tmp_path / "data", environment="test")


@pytest.fixture
def runtime(settings) -> Runtime:  # type: ignore[no-untyped-def]
    rt = Runtime.build(settings)
    rt.migrate()
    return rt


@pytest.fixture(scope="session")
def sample_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample district's clips, generated once per test session."""
    from gateway import sample_district
    from video.clips import write_clip

    d = tmp_path_factory.mktemp("clips")
    for serial, cam in enumerate(sample_district.CAMERAS, start=1):
        write_clip(d / f"{cam[4]}.mp4", cam[4], seed=serial)
    return d


@pytest.fixture
def district(runtime: Runtime, sample_clips: Path) -> Runtime:
    """A migrated runtime with the sample district loaded."""
    runtime.settings.ensure_data_dir()
    runtime.clips_dir.symlink_to(sample_clips, target_is_directory=True)
    runtime.load_sample_district()
    return runtime


@pytest.fixture
def app(district: Runtime):  # type: ignore[no-untyped-def]
    return create_app(district)


def client_as(app, principal: Principal | None) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app, raise_server_exceptions=False)
    if principal is not None:
        client.cookies.set(SESSION_COOKIE, app.state.local_login.open_session(principal))
    return client


def cli_role_env(args: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The `GOVOPS_CLI_ROLE` an operator sets up to run `govops ARGS` (三员分立: the CLI acts as
    one administrator role per OS user). For tests about something else than who may run what;
    tests/unit/test_cli_roles.py checks the refusals."""
    from gateway.cli.roles import needed_role

    words = [a for a in args if not a.startswith("-")][:2]
    try:
        role = needed_role(" ".join(words)) if words else None
    except KeyError:  # not a command: the usage error is the test's point
        role = None
    if isinstance(role, tuple):
        role = role[0]
    return {"GOVOPS_CLI_ROLE": role} if role else {}


@pytest.fixture
def anonymous(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with client_as(app, None) as c:
        yield c


@pytest.fixture
def still_cameras(monkeypatch: pytest.MonkeyPatch) -> None:
    """The views of tests.support.natural without their slow pan, as most fixed cameras see."""
    import functools

    import tests.support.natural as natural

    monkeypatch.setattr(natural, "_view", functools.partial(natural._view, pan=0.0))
