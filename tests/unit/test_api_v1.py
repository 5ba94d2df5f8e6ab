"""API v1 (#17 item 1): one prefix, one error shape, one pagination, UTC timestamps, OpenAPI."""

from __future__ import annotations

import re

import pytest

from gateway.http import versioning
from govops.principal import AUDITOR, DEPT_ADMIN, LOCAL_SECURITY_ADMIN, LOCAL_SYSTEM_ADMIN, OPS_ENGINEER, Principal
from tests.conftest import client_as

OPS = Principal("ops1", "运维工程师", frozenset({OPS_ENGINEER}))
AUDITOR_P = Principal("a1", "审计员", frozenset({AUDITOR}))
GAJ_ADMIN = Principal("u1", "公安管理员", frozenset({DEPT_ADMIN}), department="gaj")
BIG = 2**63


def test_every_api_route_is_under_v1(app):
    paths = [route.path for _, route in versioning.api_routes(app)]
    api = [p for p in paths if p.startswith("/api")]
    assert len(api) >= 60, len(api)  # the walk sees the routes the app really serves
    assert [p for p in api if not p.startswith("/api/v1/")] == []


def test_v1_answers_and_old_paths_redirect_with_308(app):
    c = client_as(app, LOCAL_SYSTEM_ADMIN)
    assert c.get("/api/v1/whoami").json()["subject"] == "local-admin"
    r = c.get("/api/cameras?limit=2&status=online", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/api/v1/cameras?limit=2&status=online"
    r = c.post("/api/video/groups", json={"id": "31011600002150000001", "name": "治安"}, follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/api/v1/video/groups"
    followed = c.post("/api/video/groups", json={"id": "31011600002150000001", "name": "治安"})
    assert followed.status_code == 201  # method and body kept


def _assert_problem(r, status, code):  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    for member in ("type", "title", "status", "detail", "hint", "request_id", "error", "message"):
        assert member in body, member
    assert body["status"] == status and body["error"] == code and body["type"].endswith(code)
    assert body["request_id"] == r.headers["x-request-id"]
    return body


def test_errors_are_problem_details_with_the_request_id(app, anonymous):
    _assert_problem(anonymous.get("/api/v1/cameras"), 401, "unauthenticated")
    c = client_as(app, LOCAL_SYSTEM_ADMIN)
    body = _assert_problem(c.get("/api/v1/nosuch"), 404, "not_found")
    assert body["hint"]
    body = _assert_problem(c.get("/api/v1/cameras", params={"limit": 0}), 422, "validation_failed")
    assert body["details"][0]["field"] == "query.limit"
    r = c.get("/api/v1/cameras/00000000000000000000", headers={"x-request-id": "trace-42"})
    assert _assert_problem(r, 404, "not_found")["request_id"] == "trace-42"
    r = c.get("/healthz", headers={"x-request-id": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])  # an unsafe one is replaced


def test_log_lines_carry_the_request_id():
    import logging

    from govops.logs import KeyValueFormatter, request_id

    token = request_id.set("abc123")
    try:
        line = KeyValueFormatter().format(logging.LogRecord("x", logging.INFO, "f", 1, "hello", None, None))
    finally:
        request_id.reset(token)
    assert "request_id=abc123" in line


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/cloud/runs/{BIG}",
        f"/api/v1/identity/apps/{BIG}",
        f"/api/v1/cameras/31011600001320000001/diagnoses/{BIG}/picture.jpg",
    ],
)
def test_path_ids_out_of_range_are_422(app, path):
    _assert_problem(client_as(app, LOCAL_SYSTEM_ADMIN).get(path), 422, "validation_failed")


def test_share_revoke_with_a_huge_id_is_422(app):
    r = client_as(app, LOCAL_SYSTEM_ADMIN).post(f"/api/v1/video/shares/{BIG}/revoke", json={"reason": "test it"})
    _assert_problem(r, 422, "validation_failed")


def test_keycloak_not_configured_is_503_with_a_hint_and_missing_app_404_first(app):
    ops = client_as(app, LOCAL_SYSTEM_ADMIN)
    _assert_problem(ops.post("/api/v1/identity/apps/999/approve", json={}), 404, "not_found")
    gaj = client_as(app, GAJ_ADMIN)
    made = gaj.post(
        "/api/v1/identity/apps",
        json={
            "name": "案件系统",
            "department": "gaj",
            "home_url": "https://case.gaj.example",
            "redirect_uris": ["https://case.gaj.example/cb"],
        },
    )
    assert made.status_code == 201, made.text
    r = ops.post(f"/api/v1/identity/apps/{made.json()['id']}/approve", json={})
    body = _assert_problem(r, 503, "config_error")
    assert "GOVOPS_KEYCLOAK_URL" in body["hint"]


def _walk(client, path, limit, **filters):  # type: ignore[no-untyped-def]
    seen, cursor, pages = [], None, 0
    while True:
        r = client.get(path, params={**filters, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) >= {"items", "next_cursor"}
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


def test_lists_page_with_one_cursor(app):
    ops = client_as(app, LOCAL_SYSTEM_ADMIN)
    tenants, pages = _walk(ops, "/api/v1/cloud/tenants", 2)
    assert len(tenants) == 5 and pages == 3 and len({t["code"] for t in tenants}) == 5
    cams, pages = _walk(ops, "/api/v1/cameras", 3)
    assert len(cams) == 8 and pages == 3
    for path in (
        "/api/v1/cloud/runs",
        "/api/v1/cloud/quota-requests",
        "/api/v1/video/platforms",
        "/api/v1/video/shares",
        "/api/v1/video/groups",
        "/api/v1/identity/apps",
        "/api/v1/identity/certificates",
        "/api/v1/video/faults",
        "/api/v1/video/patrol/rounds",
        f"/api/v1/cameras/{cams[0]['id']}/diagnoses",
    ):
        # the CA's certificates are the security admin's (三员分立), the rest the system admin's
        who = client_as(app, LOCAL_SECURITY_ADMIN) if "/identity/certificates" in path else ops
        items, _ = _walk(who, path, 2)
        assert isinstance(items, list), path
    _assert_problem(ops.get("/api/v1/cloud/tenants", params={"cursor": "bm90LWEtY3Vyc29y"}), 422, "validation_failed")


def test_audit_pages_with_a_cursor_and_filters(app, district):
    from govops import audit

    with district.transaction() as s:
        for i in range(7):
            audit.append(s, actor="ops1" if i % 2 else "ops2", action=f"test.step{i}", target=str(i))
    auditor = client_as(app, AUDITOR_P)
    records, pages = _walk(auditor, "/api/v1/audit", 3, action="test.")
    assert [r["target"] for r in records] == [str(i) for i in reversed(range(7))] and pages == 3
    only = auditor.get("/api/v1/audit", params={"actor": "ops2", "action": "test."}).json()["items"]
    assert {r["actor"] for r in only} == {"ops2"} and len(only) == 4


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _timestamps(value):  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        for v in value.values():
            yield from _timestamps(v)
    elif isinstance(value, list):
        for v in value:
            yield from _timestamps(v)
    elif isinstance(value, str) and _ISO.match(value):
        yield value


def test_every_timestamp_is_utc_with_an_offset(app, district):
    from govops import audit

    with district.transaction() as s:
        audit.append(s, actor="ops1", action="test.x", target="t")
    ops = client_as(app, LOCAL_SYSTEM_ADMIN)
    cam = ops.get("/api/v1/cameras").json()["items"][0]["id"]
    bodies = [
        client_as(app, AUDITOR_P).get("/api/v1/audit").json(),
        ops.get("/api/v1/cameras").json(),
        ops.get(f"/api/v1/cameras/{cam}").json(),
        ops.get("/api/v1/video/shares").json(),
    ]
    stamps = [t for b in bodies for t in _timestamps(b)]
    assert stamps, "no timestamp was checked"
    assert [t for t in stamps if not t.endswith("+00:00")] == []


def test_openapi_documents_problems_and_security(app, anonymous):
    doc = anonymous.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["sessionCookie"]["in"] == "cookie" and schemes["bearerAuth"]["scheme"] == "bearer"
    assert "Problem" in doc["components"]["schemas"]
    ops = [(p, m, op) for p, item in doc["paths"].items() for m, op in item.items() if p.startswith("/api/")]
    assert len(ops) >= 60
    assert [p for p, _, _ in ops if not p.startswith("/api/v1/")] == []
    for path, method, op in ops:
        for code in ("401", "403", "404", "409", "422", "503"):
            content = op["responses"][code]["content"]
            assert content["application/problem+json"]["schema"]["$ref"] == "#/components/schemas/Problem", (
                path,
                method,
                code,
            )
    health = doc["paths"]["/healthz"]["get"]
    assert health["security"] == []


def test_request_metrics_label_the_v1_route_template(app, anonymous):
    client_as(app, LOCAL_SYSTEM_ADMIN).get("/api/v1/cameras/31011600001320000001")
    text = anonymous.get("/metrics").text
    assert 'route="/api/v1/cameras/{camera_id}"' in text


def _json_bodies(app) -> list[tuple[str, type]]:  # type: ignore[no-untyped-def]
    """(route, model) of every JSON request body the API reads."""
    from pydantic import BaseModel

    found = []
    for _, route in versioning.api_routes(app):
        for param in route.dependant.body_params:
            model = param.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                found.append((f"{sorted(route.methods)[0]} {route.path}", model))
    return found


def test_every_json_body_refuses_a_field_it_does_not_know(app):
    bodies = _json_bodies(app)
    assert len(bodies) >= 20, bodies  # the walk sees the bodies the API really reads
    assert [(route, m.__name__) for route, m in bodies if m.model_config.get("extra") != "forbid"] == []


def test_a_misspelt_field_is_a_422_naming_it_and_changes_nothing(app, district):
    from sqlalchemy import func, select

    from govops.audit import AuditRecord
    from video.patrol.ledger import watch_for

    c = client_as(app, LOCAL_SYSTEM_ADMIN)
    cam = c.get("/api/v1/cameras").json()["items"][0]
    body = _assert_problem(c.patch(f"/api/v1/cameras/{cam['id']}", json={"nmae": "改名"}), 422, "validation_failed")
    assert [d["field"] for d in body["details"]] == ["body.nmae"], body
    assert c.get(f"/api/v1/cameras/{cam['id']}").json()["name"] == cam["name"]
    # An edit of nothing is no edit: a 422, and no audit record of it.
    updates = select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "video.camera.update")
    with district.sessions() as s:
        edits = s.scalar(updates)
    body = _assert_problem(c.patch(f"/api/v1/cameras/{cam['id']}", json={}), 422, "validation_failed")
    assert body["detail"] == "nothing to change" and "name" in body["hint"], body
    with district.sessions() as s:
        assert s.scalar(updates) == edits
    # A camera's own thresholds sent without their wrapper: refused, and the overrides it had kept
    # (it used to read as an empty set, and cleared them).
    url = f"/api/v1/cameras/{cam['id']}/diagnosis/thresholds"
    assert c.put(url, json={"thresholds": {"dark_mean": 9}}).json()["thresholds"] == {"dark_mean": 9}
    for careless in ({"dark_mean": 12}, {}):
        _assert_problem(c.put(url, json=careless), 422, "validation_failed")
    with district.sessions() as s:
        assert watch_for(s, cam["id"]).thresholds == {"dark_mean": 9}
    assert c.put(url, json={"thresholds": {}}).json()["thresholds"] == {}  # clearing is said outright


def test_a_misspelt_query_parameter_is_a_422_naming_it(app, anonymous):
    """A typo in a filter used to be no filter: `?stauts=offline` answered every camera."""
    c = client_as(app, LOCAL_SYSTEM_ADMIN)
    body = _assert_problem(c.get("/api/v1/cameras", params={"stauts": "offline"}), 422, "validation_failed")
    assert "stauts" in body["detail"] and "did you mean status?" in body["hint"], body
    assert c.get("/api/v1/cameras", params={"status": "offline", "limit": 2}).status_code == 200
    # The role check comes first: no one learns a route's parameters before signing in with its role.
    assert anonymous.get("/api/v1/cameras", params={"stauts": 1}).status_code == 401
    assert c.get("/api/v1/audit", params={"acton": "x"}).status_code == 403
    checked = 0
    for who in (LOCAL_SYSTEM_ADMIN, LOCAL_SECURITY_ADMIN, AUDITOR_P):
        caller = client_as(app, who)
        for _, route in versioning.api_routes(app):
            if "GET" not in route.methods or "{" in route.path or not route.path.startswith("/api/"):
                continue
            r = caller.get(route.path, params={"zz_unknown": "1"})
            assert r.status_code in (403, 422), (who.subject, route.path, r.status_code, r.text[:200])
            if r.status_code == 422:
                assert "zz_unknown" in r.json()["detail"], (route.path, r.text[:200])
                checked += 1
    assert checked >= 30, checked  # the walk reached the routes each role may call
