"""The console's pages as the tests see them: which role's navigation lists each page, the text
its heading shows (Chinese first), and one walk over them as a signed-in role: every page of its
navigation opens with its heading, every other page is the HTML 403 page naming the role needed.
Screenshots of every page go to the given directory."""

from __future__ import annotations

from pathlib import Path

# Every console page and the role(s) whose navigation should list it.
PAGES = {
    "/status": {"ops-engineer"},
    "/reports/daily": {"ops-engineer"},
    "/cloud/tenants": {"ops-engineer"},
    "/cloud/runs": {"ops-engineer"},
    "/cloud/quota": {"ops-engineer", "dept-admin"},
    "/cluster": {"ops-engineer"},
    "/identity": {"ops-engineer"},
    "/identity/apps": {"ops-engineer", "dept-admin"},
    "/compliance": {"ops-engineer"},
    "/video/cameras": {"ops-engineer", "dept-admin", "security-staff"},
    "/video/wall": {"ops-engineer", "dept-admin", "security-staff"},
    "/video/faults": {"ops-engineer", "dept-admin", "security-staff"},
    "/video/map": {"ops-engineer", "dept-admin", "security-staff"},
    "/video/kpi": {"ops-engineer", "dept-admin", "security-staff"},
    "/alerts": {"ops-engineer", "dept-admin", "security-staff"},  # each sees the alerts of their own scope
    "/workorders": {"ops-engineer", "dept-admin", "security-staff"},
    "/screen": {"ops-engineer", "security-staff"},
    "/audit": {"auditor"},
}
# Text each page must show (Chinese first).
TEXT = {
    "/status": "统一运维总览",
    "/reports/daily": "运维日报",
    "/cloud/tenants": "政务云租户",
    "/cloud/runs": "编排记录",
    "/cloud/quota": "配额申请",
    "/cluster": "数据中心集群",
    "/identity": "证书与统一身份",
    "/identity/apps": "应用接入",
    "/compliance": "等保合规",
    "/video/cameras": "视频资源目录",
    "/video/wall": "视频墙",
    "/video/faults": "故障",
    "/video/map": "视频地图",
    "/video/kpi": "视频联网指标",
    "/screen": "指挥中心",
    "/alerts": "告警收件箱",
    "/workorders": "运维工单",
    "/audit": "审计日志",
}
SLOW_PAGES = ("/video/map", "/screen")  # they draw the map client-side: wait until it is ready


def slug(path: str) -> str:
    return path.strip("/").replace("/", "_") or "home"


def walk_pages(page, base: str, role: str, nav: dict[str, set[str]], out: Path) -> None:  # type: ignore[no-untyped-def]
    """From a signed-in page: the navigation is exactly the role's pages of `nav`, each opens,
    and every other page of `nav` is a 403 naming a role that may open it."""
    links = {a.get_attribute("href") for a in page.locator("[data-testid=nav] a").all()} - {"/docs"}
    assert links == {p for p, roles in nav.items() if role in roles}
    visited = 0
    for path in sorted(links):
        resp = page.goto(base + path)
        assert resp is not None and resp.status == 200, (path, resp and resp.status)
        assert TEXT[path] in page.locator("h1").first.inner_text(), path
        if path in SLOW_PAGES:
            page.wait_for_selector("[data-testid=map][data-ready=true]", timeout=60_000)
        page.screenshot(path=str(out / f"{slug(path)}.png"), full_page=path != "/screen")
        visited += 1
    assert visited >= 1
    refused = 0
    for path in sorted(set(nav) - links):
        resp = page.goto(base + path)
        assert resp is not None and resp.status == 403, (path, resp and resp.status)
        assert "无权访问" in page.locator("h1").inner_text()
        needed = page.locator("[data-testid=roles-needed]").inner_text()
        assert any(r in needed for r in nav[path]), (path, needed)
        if refused == 0:
            page.screenshot(path=str(out / f"403_{slug(path)}.png"))
        refused += 1
    assert refused >= 1
