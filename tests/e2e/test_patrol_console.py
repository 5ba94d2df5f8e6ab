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


def _show_green(data_dir, camera_id: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Point the camera at its own clip with the green channel pushed (a drifted white balance)."""
    import cv2
    import numpy as np

    from gateway.runtime import Runtime
    from tests.support.synthetic import write_frames
    from video.catalogue.models import Camera

    rt = Runtime.build(load_settings(data_dir=data_dir, environment="test"))
    with rt.transaction() as s:
        cam = s.get(Camera, camera_id)
        assert cam is not None and cam.stream_url
        cap = cv2.VideoCapture(cam.stream_url)
        frames = []
        while (got := cap.read())[0]:
            frames.append(np.clip(got[1] * np.float32([0.8, 1.25, 0.8]), 0, 255).astype(np.uint8))
        cap.release()
        assert frames
        cam.stream_url = str(write_frames(tmp_path / "green.mp4", frames, fps=12))


def _show_osd(data_dir, camera_id: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Point the camera at a clip with a camera's OSD (date and time, channel name)."""
    from gateway.runtime import Runtime
    from tests.support.natural import Clip
    from tests.support.osd import write_osd_clip
    from video.catalogue.models import Camera

    rt = Runtime.build(load_settings(data_dir=data_dir, environment="test"))
    with rt.transaction() as s:
        cam = s.get(Camera, camera_id)
        assert cam is not None
        cam.stream_url = str(write_osd_clip(tmp_path / "osd.mp4", Clip("clean", "riverside", 0.0, seed=2, frames=12)))


def _show_dim_sky(data_dir, camera_id: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Point the camera at a new view (held-out, a still camera): a tower's sky at dusk, which
    without a baseline reads as a cover."""
    import functools

    import tests.support.natural as natural
    from gateway.runtime import Runtime
    from video.catalogue.models import Camera

    rt = Runtime.build(load_settings(data_dir=data_dir, environment="test"))
    still = functools.partial(natural._view, pan=0.0)
    clip = natural.Clip("dusk", "china-tower", 0.0, seed=7)
    with rt.transaction() as s, pytest.MonkeyPatch.context() as mp:
        mp.setattr(natural, "_view", still)
        cam = s.get(Camera, camera_id)
        assert cam is not None
        cam.stream_url = str(natural.write_clip(tmp_path / "sky.mp4", clip))


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
        # How blurred the baseline's edges are (a view soft by nature is judged by the blur added).
        assert "边缘 edges σ" in day.inner_text() and page.locator("[data-baseline=day] [data-edge-sigma]").count() == 1
        # Its white balance drifts green: a fault on re-diagnose, then a person accepts the new
        # picture as the camera's normal (误报确认) and the camera learns it.
        _show_green(gateway_server.data_dir, healthy_id, tmp_path)
        assert page.locator("[data-testid=accept-normal]").count() == 0  # nothing to accept yet
        page.click("[data-testid=rediagnose]")
        flash = page.wait_for_selector("[data-testid=flash]")
        assert "偏色" in flash.inner_text(), flash.inner_text()
        page.click("[data-testid=accept-normal]")
        flash = page.wait_for_selector("[data-testid=flash]")
        assert "已确认误报" in flash.inner_text() and "已按此画面更新基准" in flash.inner_text(), flash.inner_text()
        assert page.locator("[data-testid=accept-normal]").count() == 0
        page.screenshot(path=str(tmp_path / "accepted.png"), full_page=True)
        # The camera now draws its clock and name over the picture; re-taken, the baseline
        # learns where they are (they are filled in before every diagnosis).
        _show_osd(gateway_server.data_dir, healthy_id, tmp_path)
        page.click("text=更新参考图 refresh reference")
        page.wait_for_selector("[data-testid=flash]")
        osd = page.wait_for_selector("[data-baseline=day] [data-osd]")
        assert "字符叠加 OSD 2 行" in osd.inner_text(), osd.inner_text()
        # Moved on purpose to a view whose dim sky reads as a cover without a baseline: the
        # re-take is refused until the person ticks that the plain region is the view.
        _show_dim_sky(gateway_server.data_dir, healthy_id, tmp_path)
        page.click("text=更新参考图 refresh reference")
        flash = page.wait_for_selector("[data-testid=flash]")
        assert "参考图未更新" in flash.inner_text() and "--plain-is-view" in flash.inner_text(), flash.inner_text()
        page.check("[data-testid=plain-is-view]")
        page.click("text=更新参考图 refresh reference")
        flash = page.wait_for_selector("[data-testid=flash]")
        assert "已确认平坦区域是场景本身" in flash.inner_text(), flash.inner_text()
    finally:
        ctx.close()
