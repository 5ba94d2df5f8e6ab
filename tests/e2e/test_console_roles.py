"""The console in Chromium as each role: its navigation opens, every other page is a 403 page
naming the role needed; a week of KPIs renders as charts; the command-centre screen shows the
numbers of /api/v1/status. Screenshots of every page are saved as artefacts."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.conftest import ROLES
from tests.e2e.pages import PAGES, walk_pages

pytestmark = pytest.mark.e2e


def _context(browser, console_server, role: str, **kw):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(**{"viewport": {"width": 1440, "height": 900}, "locale": "zh-CN", **kw})
    ctx.add_cookies([console_server.cookie_for(ROLES[role])])
    return ctx


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_sees_its_pages_and_a_403_for_the_others(browser, console_server, artifacts, role):
    ctx = _context(browser, console_server, role)
    page = ctx.new_page()
    out = artifacts / role
    out.mkdir(exist_ok=True)
    try:
        page.goto(console_server.url + "/")
        walk_pages(page, console_server.url, role, PAGES, out)
    finally:
        ctx.close()


def test_a_week_of_kpis_renders_as_charts(browser, console_server, artifacts):
    ctx = _context(browser, console_server, "ops-engineer")
    page = ctx.new_page()
    try:
        page.goto(console_server.url + "/video/kpi?days=7")
        chart = page.wait_for_selector("[data-testid=chart-kpi-district][data-rendered]", timeout=30_000)
        assert chart.get_attribute("data-rendered") == "chart"
        assert int(chart.get_attribute("data-points") or 0) == 3 * 7  # three rates, seven days
        assert page.locator("[data-testid=chart-kpi-district] canvas").count() >= 1
        page.wait_for_selector("[data-testid=chart-kpi-platforms][data-rendered=chart]", timeout=30_000)
        page.screenshot(path=str(artifacts / "kpi_week.png"), full_page=True)
        page.goto(console_server.url + "/status?days=7")
        page.wait_for_selector("[data-testid=chart-district][data-rendered=chart]", timeout=30_000)
        page.screenshot(path=str(artifacts / "status_week.png"), full_page=True)
    finally:
        ctx.close()


def test_the_command_centre_screen_shows_the_status_numbers(browser, console_server, artifacts):
    ctx = _context(browser, console_server, "ops-engineer", viewport={"width": 1920, "height": 1080})
    page = ctx.new_page()
    try:
        video = None
        deadline = time.monotonic() + 120  # until the video probe has answered once (a loaded CI is slow)
        while time.monotonic() < deadline:
            body = page.request.get(console_server.url + "/api/v1/status").json()
            video = next(s for s in body["subsystems"] if s["subsystem"] == "video")
            if video["state"] != "unknown":
                break
            time.sleep(0.2)
        assert video is not None and video["state"] != "unknown"
        page.goto(console_server.url + "/screen")
        page.wait_for_selector("[data-testid=map][data-ready=true]", timeout=60_000)
        page.wait_for_selector("[data-testid=screen-trend][data-rendered=chart]", timeout=30_000)
        facts = video["facts"]

        def shown(testid: str) -> str:
            return page.locator(f"[data-testid={testid}]").get_attribute("data-value") or ""

        assert shown("online-rate") == str(facts["online_rate"])
        assert shown("intact-rate") == str(facts["intact_rate"])
        assert int(shown("cameras")) == facts["cameras"] and int(shown("faults-now")) == facts["faults_now"]
        big = page.locator("[data-testid=online-rate]").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert big >= 60  # readable at 3 m
        page.screenshot(path=str(artifacts / "screen.png"))
        (artifacts / "screen_status.json").write_text(json.dumps(video, ensure_ascii=False, indent=1))
    finally:
        ctx.close()


def test_a_department_admin_asks_for_quota_and_ops_sees_it_to_preview(browser, console_server, artifacts):
    dept = _context(browser, console_server, "dept-admin")
    page = dept.new_page()
    try:
        page.goto(console_server.url + "/cloud/quota")
        page.fill("#cpu", "24")
        page.fill("#reason", "视频结构化解析扩容 video analytics")
        page.click("text=提交申请 Submit")
        assert "已提交" in page.locator("[data-testid=flash]").inner_text()
        assert page.locator("[data-testid=quota-requests] tr[data-request]").count() == 1
        page.screenshot(path=str(artifacts / "dept-admin" / "quota_requested.png"), full_page=True)
    finally:
        dept.close()
    ops = _context(browser, console_server, "ops-engineer")
    page = ops.new_page()
    try:
        page.goto(console_server.url + "/cloud/quota")
        row = page.locator("[data-testid=quota-requests] tr[data-request]").first
        assert "cpu=24" in row.inner_text() and "视频结构化解析扩容" in row.inner_text()
        assert row.locator("text=预览 Preview").count() == 1 and row.locator("text=批准 Approve").count() == 0
        page.screenshot(path=str(artifacts / "ops-engineer" / "quota_to_preview.png"), full_page=True)
    finally:
        ops.close()


def test_api_docs_render_offline(browser, console_server, artifacts):
    ctx = _context(browser, console_server, "ops-engineer")
    page = ctx.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(console_server.url) else None)
    try:
        page.goto(console_server.url + "/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=60_000)
        assert "govops" in page.locator(".swagger-ui .info .title").inner_text()
        assert page.locator(".opblock").count() > 20
        assert not [u for u in outside if not u.startswith("data:")], outside  # nothing from a CDN
        page.screenshot(path=str(artifacts / "docs.png"))
    finally:
        ctx.close()
