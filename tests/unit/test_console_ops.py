"""The unified-operations console through the real app: navigation per role (every link opens,
every other page is an HTML 403 naming the role), the status board, KPI history, map data, the
command-centre screen, the audit viewer and the offline API docs."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from govops import audit
from govops.principal import AUDITOR, DEPT_ADMIN, OPS_ENGINEER, SEC_ADMIN, SECURITY_STAFF, Principal
from monitoring.kpi_history.record import record, series
from monitoring.status import Check, StatusBoard, StatusContext
from monitoring.status.probes import Probe
from monitoring.status.settings import StatusSettings
from tests.conftest import client_as

OPS = Principal("u-ops", "运维工程师", frozenset({OPS_ENGINEER}))
DEPT = Principal("u-gaj", "公安分局管理员", frozenset({DEPT_ADMIN}), department="gaj")
SEC = Principal("u-zz", "综治值班员", frozenset({SECURITY_STAFF}), platform="zongzhi")
AUD = Principal("u-aud", "审计员", frozenset({AUDITOR}))
SECADM = Principal("u-sa", "安全管理员", frozenset({SEC_ADMIN}))
HTML = {"accept": "text/html,application/xhtml+xml"}
# Pages that exist in this room (the alert inbox /alerts comes with the next operations issue).
PAGES = {
    "/status",
    "/cloud/tenants",
    "/cloud/runs",
    "/cloud/quota",
    "/cluster",
    "/identity",
    "/identity/apps",
    "/compliance",
    "/video/cameras",
    "/video/wall",
    "/video/faults",
    "/video/map",
    "/video/kpi",
    "/screen",
    "/audit",
}


def _nav(html: str) -> set[str]:
    nav = html.split('data-testid="nav"', 1)[1].split("</nav>", 1)[0]
    return set(re.findall(r'href="([^"]+)"', nav)) - {"/docs"}


@pytest.mark.parametrize("principal", [OPS, DEPT, SEC, AUD, SECADM], ids=lambda p: sorted(p.roles)[0])
def test_nav_links_only_pages_the_role_may_open(app, principal):
    c = client_as(app, principal)
    home = c.get("/", headers=HTML)
    assert home.status_code == 200, home.text[:300]
    links = _nav(home.text)
    assert links, "the navigation is empty"
    for href in links & PAGES:
        r = c.get(href, headers=HTML)
        assert r.status_code == 200, (href, r.status_code, r.text[:300])
        assert href == "/screen" or _nav(r.text) == links  # the wall display has no navigation
    for href in PAGES - links:
        r = c.get(href, headers=HTML)
        assert r.status_code == 403, (href, r.status_code)
        assert r.headers["content-type"].startswith("text/html")
        assert 'data-testid="roles-needed"' in r.text and "Traceback" not in r.text


def test_error_pages_are_html_for_browsers_and_json_for_the_api(app):
    c = client_as(app, SEC)
    page = c.get("/no-such-page", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "导航" in page.text
    denied = c.get("/audit", headers=HTML)
    assert "审计员 auditor" in denied.text and "<code>auditor</code>" in denied.text
    api = c.get("/api/audit", headers=HTML)  # an API path keeps the API's answer
    assert api.status_code == 403 and api.headers["content-type"].startswith("application/")
    bad = client_as(app, AUD).get("/audit?since=yesterday", headers=HTML)
    assert bad.status_code == 400 and "since" in bad.text and bad.headers["content-type"].startswith("text/html")


def test_status_board_reports_every_subsystem_and_what_configures_it(app):
    c = client_as(app, OPS)
    body = c.get("/api/v1/status").json()
    by = {s["subsystem"]: s for s in body["subsystems"]}
    assert set(by) == {"keycloak", "ca", "kubernetes", "cluster", "video", "prometheus", "alertmanager", "database"}
    for key in ("keycloak", "ca", "kubernetes", "cluster", "prometheus", "alertmanager"):
        assert by[key]["state"] in ("not_configured", "unknown"), by[key]
    # the fresh board waited its budget; by now every probe has answered
    deadline = time.monotonic() + 120
    while any(s["state"] == "unknown" for s in body["subsystems"]) and time.monotonic() < deadline:
        time.sleep(0.2)
        body = c.get("/api/v1/status").json()
    by = {s["subsystem"]: s for s in body["subsystems"]}
    assert by["ca"]["hint"] == "govops ca init" and by["ca"]["state"] == "not_configured"
    assert "GOVOPS_PROMETHEUS_URL" in by["prometheus"]["hint"]
    assert by["database"]["state"] == "ok" and by["database"]["facts"]["free_gib"] > 0
    assert by["video"]["facts"]["cameras"] == 8
    assert all(s["since"].endswith("Z") for s in body["subsystems"])
    assert client_as(app, SEC).get("/api/v1/status").status_code == 403
    page = c.get("/status", headers=HTML).text
    assert "未配置 not configured" in page and "<code>govops ca init</code>" in page


def test_a_dead_probe_cannot_stall_the_board(runtime):
    release = threading.Event()

    def hung(ctx):  # type: ignore[no-untyped-def]
        release.wait(30)
        return Check("slow", "slow", "ok", "late")

    def quick(ctx):  # type: ignore[no-untyped-def]
        return Check("quick", "quick", "ok", "fine")

    ctx = StatusContext(runtime.settings, runtime.sessions, runtime.video, runtime.box, StatusSettings())
    board = StatusBoard(ctx, (Probe("slow", "slow", hung), Probe("quick", "quick", quick)))
    try:
        started = time.perf_counter()
        snap = board.snapshot(budget=0.5)
        assert time.perf_counter() - started < 5  # bounded by the budget, not by the hung probe
        states = {s["subsystem"]: s["state"] for s in snap["subsystems"]}
        assert states == {"slow": "unknown", "quick": "ok"}
    finally:
        release.set()
        board.close()


def test_kpi_history_records_and_reads_back_a_week(district):
    now = datetime.now(UTC)
    with district.transaction() as s:
        for day in range(7, 0, -1):
            out = record(s, district.video, at=now - timedelta(days=day))
        assert out["samples"] > 10
    with district.transaction() as s:
        week = series(s, days=8, scope="district")
        month = series(s, days=30, scope="platform", metrics=("online_rate",))
    online = next(x for x in week["series"] if x["metric"] == "online_rate")
    assert len(online["points"]) == 7 and online["key"] == "310116"
    assert {x["key"] for x in month["series"]} >= {"zongzhi", "gongan"}


def test_map_data_respects_visibility(app):
    ops, zz = client_as(app, OPS), client_as(app, SEC)
    all_cams = ops.get("/video/map/cameras.json").json()
    mine = zz.get("/video/map/cameras.json").json()
    assert len(all_cams["rows"]) == 8 and 0 < len(mine["rows"]) < 8
    areas = ops.get("/video/map/areas.geojson?colour=intact").json()
    levels = {f["properties"]["level"] for f in areas["features"]}
    assert levels == {"district", "street", "community", "grid"}
    fills = [f["properties"]["fill"] for f in areas["features"] if "fill" in f["properties"]]
    assert fills and all(f.startswith(("hsl(", "#")) for f in fills)
    page = ops.get("/video/map", headers=HTML).text
    assert "/static/vendor/leaflet/leaflet.js" in page and "https://" not in page
    assert client_as(app, AUD).get("/video/map/cameras.json").status_code == 403


def test_screen_shows_the_status_numbers(app):
    c = client_as(app, OPS)
    deadline = time.monotonic() + 120
    video = None
    while time.monotonic() < deadline:
        video = next(s for s in c.get("/api/v1/status").json()["subsystems"] if s["subsystem"] == "video")
        if video["state"] != "unknown":
            break
        time.sleep(0.2)
    assert video is not None and video["state"] != "unknown"
    page = c.get("/screen", headers=HTML).text
    faults = re.search(r'data-testid="faults-now" data-value="([^"]*)"', page)
    cams = re.search(r'data-testid="cameras" data-value="([^"]*)"', page)
    assert faults and cams and int(cams.group(1)) == video["facts"]["cameras"]
    assert int(faults.group(1)) == video["facts"]["faults_now"]


def test_quota_form_for_a_department_admin(app):
    c = client_as(app, DEPT)
    r = c.post(
        "/cloud/quota",
        data={"department": "gaj", "cpu": "8", "reason": "视频解析扩容"},
        headers=HTML,
        follow_redirects=True,
    )
    assert r.status_code == 200 and "已提交" in r.text
    other = c.post("/cloud/quota", data={"department": "cgj", "cpu": "8", "reason": "x"}, follow_redirects=True)
    assert 'data-testid="flash-error"' in other.text and "own department" in other.text
    ops = client_as(app, OPS).get("/cloud/quota", headers=HTML).text
    assert "视频解析扩容" in ops and "预览 Preview" in ops and "批准 Approve" not in ops  # preview first
    refused = client_as(app, OPS).post("/cloud/quota/1/approve", follow_redirects=True)
    assert "has no current preview: read the change before approving it" in refused.text


def test_audit_viewer_pages_filters_and_verifies(app, district):
    with district.transaction() as s:
        for i in range(60):
            audit.append(s, actor="u-ops", action="cloud.preview", target=f"t{i}", detail={})
        audit.append(s, actor="u-x", action="video.share", target="cam", detail={})
    c = client_as(app, AUD)
    page = c.get("/audit", headers=HTML).text
    assert 'data-ok="true"' in page and page.count("data-record=") == 50 and 'data-testid="older"' in page
    older = re.search(r'href="(/audit\?before=\d+)"', page)
    assert older and c.get(older.group(1), headers=HTML).text.count("data-record=") > 0
    only = c.get("/audit?actor=u-x", headers=HTML).text
    assert only.count("data-record=") == 1
    with district.transaction() as s:
        row = s.get(audit.AuditRecord, 3)
        row.target = "tampered"
    broken = c.get("/audit", headers=HTML).text
    assert 'data-ok="false"' in broken and "#3" in broken


def test_api_docs_are_served_offline(app, anonymous):
    page = anonymous.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert anonymous.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_kpi_history_is_for_the_districts_watchers(app):
    assert client_as(app, OPS).get("/api/v1/kpi/history?scope=platform&days=7").status_code == 200
    assert client_as(app, SEC).get("/api/v1/kpi/history?days=7").status_code == 200
    assert client_as(app, SEC).get("/api/v1/kpi/history?scope=platform").status_code == 403
    assert client_as(app, DEPT).get("/api/v1/kpi/history").status_code == 403
    assert "chart-kpi-district" not in client_as(app, DEPT).get("/video/kpi", headers=HTML).text


def test_the_screen_shows_security_staff_only_their_cameras_alerts(app, district):
    from sqlalchemy import select

    from govops.alerts import raise_alert
    from video.catalogue.models import Camera

    visible = {r[0] for r in client_as(app, SEC).get("/video/map/cameras.json").json()["rows"]}
    with district.transaction() as s:
        hidden = next(c for c in s.scalars(select(Camera)) if c.id not in visible)
        shown = next(c for c in s.scalars(select(Camera)) if c.id in visible)
        for cam in (hidden, shown):
            raise_alert(
                s,
                fingerprint=f"t-{cam.id}",
                source="patrol",
                severity="warning",
                summary=f"故障 {cam.name}",
                labels={"camera": cam.id},
            )
        raise_alert(s, fingerprint="p", source="prometheus", severity="critical", summary="网关 5xx", labels={})
        names = (hidden.name, shown.name)
    page = client_as(app, SEC).get("/screen", headers=HTML).text
    assert f"故障 {names[1]}" in page and f"故障 {names[0]}" not in page and "网关 5xx" not in page
    ops = client_as(app, OPS).get("/screen", headers=HTML).text
    assert f"故障 {names[0]}" in ops and "网关 5xx" in ops


def test_quota_quantities_and_no_cluster(settings):
    from monitoring.status.quota_use import quantity, tenant_use

    assert quantity("500m") == 0.5 and quantity("8Gi") == 8 * 2**30 and quantity("16") == 16
    assert quantity(None) is None and quantity("lots") is None
    assert tenant_use(settings, ["dept-gaj"]) is None  # no kubeconfig: unknown, never zeros


def test_screen_map_loads_only_cameras_needing_attention(app, district):
    from sqlalchemy import select

    from video.catalogue.models import Camera

    with district.transaction() as s:
        cam = s.scalars(select(Camera).order_by(Camera.id)).first()
        cam.status = "faulty"
        faulty = cam.id
    rows = client_as(app, OPS).get("/video/map/cameras.json?problems=true").json()["rows"]
    assert [r[0] for r in rows if r[3] != 0] == [r[0] for r in rows] and faulty in {r[0] for r in rows}


def test_the_screen_opens_while_the_video_probe_has_not_answered(app, runtime):
    """On a loaded machine the video probe may not answer within the board's budget: the wall
    display shows dashes for the numbers it does not have yet, not a 500."""
    release = threading.Event()

    def hung(ctx):  # type: ignore[no-untyped-def]
        release.wait(30)
        return Check("video", "video", "ok", "late")

    ctx = StatusContext(runtime.settings, runtime.sessions, runtime.video, runtime.box, StatusSettings())
    board = StatusBoard(ctx, (Probe("video", "雪亮工程 video", hung),))
    previous = getattr(app.state, "status_board", None)
    app.state.status_board = board
    try:
        for principal in (OPS, SEC):
            r = client_as(app, principal).get("/screen", headers=HTML)
            assert r.status_code == 200, r.text[:300]
            assert 'data-testid="online-rate" data-value="None"' in r.text and "—<i>%</i>" in r.text
    finally:
        release.set()
        board.close()
        app.state.status_board = previous


def test_the_cluster_card_reads_the_runs_the_cluster_commands_keep(app, district):
    """The status board's cluster card was fed by a JSON file nothing wrote any more: after a
    real `govops cluster harden` it still said "not configured". It reads the stored runs."""
    from infra.cluster.models import ClusterHostResult, ClusterRun
    from monitoring.status.probes import cluster

    ctx = StatusContext(district.settings, district.sessions, district.video, district.box, StatusSettings())
    assert cluster(ctx).state == "not_configured"

    def run(kind: str, **hosts: dict[str, int | str]) -> None:
        with district.transaction() as s:
            now = datetime.now(UTC)
            row = ClusterRun(
                kind=kind, playbook="site.yml", inventory="lab", status="succeeded", actor="t",
                started_at=now, finished_at=now,
            )  # fmt: skip
            s.add(row)
            s.flush()
            s.add_all(ClusterHostResult(run_id=row.id, host=h, **v) for h, v in hosts.items())

    run("apply", node1={"status": "ok", "ok": 40}, node2={"status": "ok", "ok": 40})
    check = cluster(ctx)
    assert check.state == "ok" and set(check.facts["hosts"]) == {"node1", "node2"}, check
    run("check", node2={"status": "changed", "ok": 38, "changed": 2})  # someone edited a setting by hand
    check = cluster(ctx)
    assert check.state == "warning" and "drifted" in check.summary and "node2" in check.summary, check
    run("apply", node1={"status": "unreachable", "unreachable": 1})
    check = cluster(ctx)
    assert check.state == "warning" and "failed on node1" in check.summary, check
    # The page waits a short budget for its probe, then says "checking" while the probe goes on:
    # on a loaded machine the card may come a request or two later. Wait for it, not for a clock.
    from tests.fixtures.platform import wait_for

    def card() -> str | None:
        text = c.get("/cluster", headers=HTML).text
        return text if "node1" in text else None

    with client_as(app, OPS) as c:
        page = wait_for(card, timeout=120, what="the cluster card with its hosts")
    assert "node2" in page and "#3 apply" in page and "#2 check" in page  # each host's newest run, its kind
