"""Work orders in Chromium against a real `govops serve`: the list page for an ops engineer and a
contractor (who sees only its own orders), the detail page, the report, and a 403 for an auditor."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from gateway.auth import SESSION_COOKIE
from govops.principal import AUDITOR, CONTRACTOR, Principal
from govops.settings import load_settings

pytestmark = pytest.mark.e2e
C = Principal("u-c", "丙运维", frozenset({CONTRACTOR}), contractor="c-tech")
AUD = Principal("u-aud", "审计员", frozenset({AUDITOR}))


def _orders_and_sessions(data_dir) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Every sample camera faulty (as the patrol would have raised it), contractor c-tech for
    朱泾镇; sign-in sessions for the contractor and the auditor in the gateway's database."""
    from gateway.runtime import Runtime
    from govops.alerts import raise_alert
    from monitoring.workorders import contractors
    from monitoring.workorders.settings import WorkOrderSettings
    from monitoring.workorders.sync import sync
    from video.catalogue.models import Camera

    rt = Runtime.build(load_settings(data_dir=data_dir, environment="test"))
    with rt.transaction() as s:
        contractors.add_contractor(s, "c-tech", "丙运维", None, actor="test")
        contractors.assign_area(s, "c-tech", "310116101000", key_area=False, actor="test")
        cams = list(s.scalars(select(Camera)))
        for cam in cams:
            raise_alert(s, fingerprint=f"video.camera:{cam.id}", source="video.diagnosis", summary=f"{cam.name} 离线")
        report = sync(s, datetime.now(UTC), WorkOrderSettings(auto_dispatch=True))
    return {"orders": len(report.opened), "contractor": rt.signins.open(C), "auditor": rt.signins.open(AUD)}


def test_work_orders_for_ops_and_contractor_refused_for_auditor(gateway_server, browser, tmp_path):  # type: ignore[no-untyped-def]
    facts = _orders_and_sessions(gateway_server.data_dir)
    assert facts["orders"] == 8
    host = urlparse(gateway_server.url).hostname

    ops = browser.new_context()
    try:
        page = ops.new_page()
        page.goto(gateway_server.login_url)
        page.wait_for_selector("[data-testid=camera-wall]")
        page.click("text=工单 Work orders")
        rows = page.locator("[data-testid=workorders] tbody tr[data-order]")
        assert rows.count() == 8
        page.screenshot(path=str(tmp_path / "workorders-ops.png"), full_page=True)
        rows.first.locator("a").first.click()
        page.wait_for_selector("[data-testid=history]")
        assert "剩余" in page.locator("[data-testid=countdown]").inner_text()
        page.goto(f"{gateway_server.url}/workorders/report")
        assert page.locator("[data-testid=report] tbody tr[data-contractor]").count() >= 1
    finally:
        ops.close()

    contractor = browser.new_context()
    try:
        contractor.add_cookies([{"name": SESSION_COOKIE, "value": facts["contractor"], "domain": host, "path": "/"}])
        page = contractor.new_page()
        page.goto(f"{gateway_server.url}/workorders")
        rows = page.locator("[data-testid=workorders] tbody tr[data-order]")
        assert rows.count() == 3  # the three cameras of 朱泾镇
        assert set(rows.all_inner_texts()) and all("朱泾" in t or "东林" in t for t in rows.all_inner_texts())
        page.screenshot(path=str(tmp_path / "workorders-contractor.png"), full_page=True)
    finally:
        contractor.close()

    auditor = browser.new_context()
    try:
        auditor.add_cookies([{"name": SESSION_COOKIE, "value": facts["auditor"], "domain": host, "path": "/"}])
        resp = auditor.new_page().goto(f"{gateway_server.url}/workorders")
        assert resp is not None and resp.status == 403
    finally:
        auditor.close()
