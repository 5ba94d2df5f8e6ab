"""The patrol through the real CLI and a browser: `govops video patrol --once` against the running
gateway's database, then the faults page, the camera's history and re-diagnose in Chromium."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import select

from govops.settings import load_settings
from tests.fixtures.platform import REPO

pytestmark = pytest.mark.e2e
BROKEN = "龙山路主干道"
HEALTHY = "朱泾公园"


def _break_camera(data_dir) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(the broken camera's ID, a healthy one's)."""
    from gateway.runtime import Runtime
    from video.catalogue.models import Camera

    rt = Runtime.build(load_settings(data_dir=data_dir, environment="test"))
    with rt.transaction() as s:
        cam = s.scalars(select(Camera).where(Camera.name == BROKEN)).one()
        cam.stream_url = str(data_dir / "clips" / "unplugged.mp4")
        healthy = s.scalars(select(Camera.id).where(Camera.name == HEALTHY)).one()
        return cam.id, healthy


def test_patrol_then_faults_page_history_and_rediagnose(gateway_server, browser, tmp_path):
    cam_id, healthy_id = _break_camera(gateway_server.data_dir)
    env = {
        "GOVOPS_DATA_DIR": str(gateway_server.data_dir),
        "GOVOPS_ENVIRONMENT": "test",
        "GOVOPS_VIDEO_PATROL_RAISE_AFTER": "1",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "video", "patrol", "--once", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.splitlines()[-1])
    assert (report["cameras"], report["offline"], report["alerts_raised"]) == (8, 1, 1)

    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    try:
        page.goto(gateway_server.login_url)
        page.wait_for_selector("[data-testid=camera-wall]")
        page.click("text=故障 Faults")
        rows = page.locator("[data-testid=faults] tbody tr[data-camera]")
        assert rows.count() == 1 and rows.first.get_attribute("data-camera") == cam_id
        assert "离线 offline" in rows.first.inner_text() and "no such file" in rows.first.inner_text()
        assert "最近巡检" in page.locator("[data-testid=rounds]").inner_text()
        page.screenshot(path=str(tmp_path / "faults.png"), full_page=True)
        rows.first.locator("a").first.click()
        page.wait_for_selector("[data-testid=history]")
        assert page.locator("[data-testid=history] figure[data-verdict=offline]").count() == 1
        page.click("[data-testid=rediagnose]")
        flash = page.wait_for_selector("[data-testid=flash]")
        assert "诊断完成" in flash.inner_text() and "signal_loss" not in flash.inner_text()  # names in Chinese
        assert page.locator("[data-testid=history] figure").count() == 2
        page.screenshot(path=str(tmp_path / "camera.png"), full_page=True)
        # A healthy camera, commissioned by that round: its baseline with the hour it was taken at.
        page.goto(f"{gateway_server.url}/video/cameras/{healthy_id}")
        day = page.wait_for_selector("[data-baseline=day]")
        assert "按时段 by hour" in day.inner_text() and page.locator("[data-baseline=day] [data-hour]").count() == 1
    finally:
        ctx.close()
