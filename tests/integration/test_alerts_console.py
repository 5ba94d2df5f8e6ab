"""The alert inbox in Chromium, per role: each sees exactly their alerts; an ops engineer claims
and acknowledges one from the detail page and sees its history and runbook.

The gateway runs in this process under uvicorn on a free loopback port, so that the test can
open a session for each role (Keycloak is not needed to prove what the console shows)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from gateway.app import create_app
from gateway.auth import SESSION_COOKIE
from govops import alerts
from govops.principal import DEPT_ADMIN, OPS_ENGINEER, SECURITY_STAFF, Principal
from tools.lab.process import free_port

pytestmark = pytest.mark.integration

OPS = Principal("u-ops", "运维工程师", frozenset({OPS_ENGINEER}))
GA = Principal("u-ga", "公安值班员", frozenset({SECURITY_STAFF}), platform="gongan")
CGJ = Principal("u-cgj", "城管管理员", frozenset({DEPT_ADMIN}), department="cgj")
CAMERAS = {"ga": ("31011600001326000001", "gaj"), "cg": ("31011600001326000005", "cgj")}


@pytest.fixture
def served(district) -> Iterator[tuple[str, object, dict[str, int]]]:  # type: ignore[no-untyped-def]
    ids = {}
    with district.transaction() as s:
        for key, (cam, dept) in CAMERAS.items():
            ids[key] = alerts.raise_alert(
                s,
                fingerprint=f"video.camera:{cam}",
                source="video.diagnosis",
                severity="critical",
                summary=f"摄像机离线 camera {cam} offline",
                labels={"camera": cam, "department": dept, "area": "310116001"},
                runbook="govops video rediagnose CAMERA; /video/faults",
            ).id
        ids["kc"] = alerts.raise_alert(s, fingerprint="kc", source="alertmanager", summary="Keycloak 不可达 down").id
    app = create_app(district)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}", app, ids
    finally:
        server.should_exit = True
        thread.join(30)


def _page(browser, base: str, app, principal: Principal):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    sid = app.state.local_login.open_session(principal)
    ctx.add_cookies([{"name": SESSION_COOKIE, "value": sid, "url": base}])
    return ctx, ctx.new_page()


@pytest.mark.parametrize(("who", "expected"), [(OPS, {"ga", "cg", "kc"}), (GA, {"ga"}), (CGJ, {"cg"})])
def test_each_role_sees_exactly_their_alerts(served, browser, who, expected):
    base, app, ids = served
    ctx, page = _page(browser, base, app, who)
    try:
        page.goto(f"{base}/alerts")
        page.wait_for_selector("[data-testid=alerts]")
        shown = {int(x) for x in page.locator("[data-alert-id]").evaluate_all("rs => rs.map(r => r.dataset.alertId)")}
        assert shown == {ids[k] for k in expected}
        assert "告警 Alerts" in page.locator("header nav").inner_text()
    finally:
        ctx.close()


def test_ops_claims_and_acknowledges_from_the_detail_page(served, browser, tmp_path):
    base, app, ids = served
    ctx, page = _page(browser, base, app, OPS)
    try:
        page.goto(f"{base}/alerts")
        page.click(f"[data-alert-id='{ids['ga']}'] a >> nth=0")
        page.wait_for_selector("[data-testid=alert-facts]")
        assert "govops video rediagnose" in page.locator("[data-testid=runbook]").inner_text()
        assert page.locator("[data-testid=camera-link]").get_attribute("href") == f"/video/cameras/{CAMERAS['ga'][0]}"
        page.click("[data-testid=claim]")
        page.wait_for_selector(".flash.ok")
        assert page.locator("[data-testid=claimed-by]").inner_text() == "u-ops"
        page.fill("form[action$='/ack'] input[name=comment]", "已派人检修 technician on the way")
        page.click("[data-testid=ack]")
        page.wait_for_selector(".flash.ok")
        history = page.locator("[data-testid=history]").inner_text()
        assert "认领 claimed" in history and "已派人检修" in history
        page.screenshot(path=str(tmp_path / "alert-detail.png"), full_page=True)
        page.goto(f"{base}/alerts/silences")
        assert "GOVOPS_ALERTS_ALERTMANAGER_URL" in page.locator(".flash.err").inner_text()  # said, not a 500
    finally:
        ctx.close()
