"""The whole embedded default through a browser: `govops serve`, the one-time login, the wall."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_signed_out_browser_lands_on_signin(gateway_server, browser):
    page = browser.new_page()
    try:
        page.goto(gateway_server.url + "/")
        assert page.url.endswith("/signin")
        assert "一次性登录链接" in page.content()
    finally:
        page.close()


def test_login_once_then_browse_the_wall(gateway_server, browser, tmp_path):
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    try:
        page.goto(gateway_server.login_url)
        page.wait_for_selector("[data-testid=camera-wall]")
        assert "本机管理员" in page.locator("[data-testid=who]").inner_text()
        names = page.locator(".camera h2").all_inner_texts()
        assert "卫零路与龙胜路口" in names and len(names) == 8
        page.screenshot(path=str(tmp_path / "wall.png"), full_page=True)
        # The same link in a fresh browser context is refused: it was one-time.
        other = browser.new_context().new_page()
        resp = other.goto(gateway_server.login_url)
        assert resp is not None and resp.status == 401
        other.close()
        # The session keeps working for the API in the first context.
        api = page.request.get(gateway_server.url + "/api/v1/cameras?limit=2")
        assert api.ok and len(api.json()["items"]) == 2
    finally:
        ctx.close()
