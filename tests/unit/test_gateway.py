from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi import routing
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from starlette.routing import BaseRoute, Mount

from gateway.app import create_app
from gateway.auth import SESSION_COOKIE, Allow
from gateway.runtime import Runtime
from govops.principal import AUDITOR, DEPT_ADMIN, LOCAL_SYSTEM_ADMIN, SECURITY_STAFF, Principal
from tests.conftest import client_as

GAJ_ADMIN = Principal("u1", "公安管理员", frozenset({DEPT_ADMIN}), department="gaj")
CGJ_ADMIN = Principal("u2", "城管管理员", frozenset({DEPT_ADMIN}), department="cgj")
ZZ_STAFF = Principal("u3", "综治值班员", frozenset({SECURITY_STAFF}), platform="zongzhi")
GA_STAFF = Principal("u4", "公安值班员", frozenset({SECURITY_STAFF}), platform="gongan")
AUDITOR_P = Principal("u5", "审计员", frozenset({AUDITOR}))


# The routes the app serves today (API, console, sign-in, PKI, health); more is fine, fewer means
# the walk below lost some of them.
KNOWN_ROUTES = 84
FRAMEWORK_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _served(routes: Sequence[BaseRoute]) -> Iterator[tuple[Any, BaseRoute]]:
    """Every route the app answers, with the dependencies it is served with: routers that were
    included (FastAPI keeps them as included-router wrappers, not as APIRoutes of the app) and
    routers or apps that were mounted, walked all the way down."""
    contexts = getattr(routing, "iter_route_contexts", None)  # FastAPI ≥ 0.130: included routers
    for served in contexts(routes) if contexts is not None else routes:
        original = getattr(served, "original_route", served)
        if isinstance(original, Mount):
            inner = getattr(original.app, "routes", None)  # a mounted router or app, not StaticFiles
            if inner:
                yield from _served(inner)
            continue
        yield served, original


def _declared(route: Any) -> list[Allow]:
    found, stack = [], list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Allow):
            found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def test_every_route_declares_its_role(app):
    walked, undeclared, other = 0, [], []
    for served, original in _served(app.routes):
        if isinstance(original, APIRoute):
            walked += 1
            if len(_declared(served)) != 1:
                undeclared.append(served.path)
        else:
            other.append(served.path)
    assert walked >= KNOWN_ROUTES
    assert undeclared == []
    assert set(other) <= FRAMEWORK_ROUTES  # a plain Starlette route could not declare a role


def test_the_role_walk_fails_on_a_route_without_a_role(app):
    from fastapi import APIRouter

    stray = APIRouter()

    @stray.get("/api/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    app.include_router(stray)
    undeclared = [s.path for s, o in _served(app.routes) if isinstance(o, APIRoute) and len(_declared(s)) != 1]
    assert undeclared == ["/api/forgotten"]


def test_health_and_readiness_are_public(anonymous):
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    assert anonymous.get("/readyz").json()["status"] == "ready"


def test_no_unauthenticated_access(anonymous):
    r = anonymous.get("/api/cameras")
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated" and "hint" in r.json()
    r = anonymous.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"


def test_one_time_login_token(app, anonymous):
    token = app.state.local_login.token
    r = anonymous.get(f"/login?token={token}", follow_redirects=False)
    assert r.status_code == 303
    assert "httponly" in r.headers["set-cookie"].lower()
    assert anonymous.get("/api/whoami").json()["subject"] == "local-admin"
    anonymous.cookies.clear()
    again = anonymous.get(f"/login?token={token}", follow_redirects=False)
    assert again.status_code == 401 and "already used" in again.json()["message"]


def test_wrong_login_token_is_refused(app, anonymous):
    assert anonymous.get("/login?token=guess", follow_redirects=False).status_code == 401
    assert app.state.local_login.token is not None  # a wrong guess does not burn the real token


def _ids(client, **params) -> set[str]:
    r = client.get("/api/cameras", params=params)
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


def test_camera_isolation_matrix(app):
    everything = _ids(client_as(app, LOCAL_SYSTEM_ADMIN))
    assert len(everything) == 8
    gaj = _ids(client_as(app, GAJ_ADMIN))
    cgj = _ids(client_as(app, CGJ_ADMIN))
    zz = _ids(client_as(app, ZZ_STAFF))
    ga = _ids(client_as(app, GA_STAFF))
    assert gaj and cgj and zz and ga
    assert not gaj & cgj  # a department admin never sees another department's cameras
    admin = client_as(app, LOCAL_SYSTEM_ADMIN)
    depts = {c["id"]: c["department"] for c in admin.get("/api/cameras").json()["items"]}
    assert {depts[i] for i in gaj} == {"gaj"} and {depts[i] for i in cgj} == {"cgj"}
    only_gongan = ga - zz
    assert only_gongan
    cam = next(iter(only_gongan))
    zz_client = client_as(app, ZZ_STAFF)
    assert zz_client.get(f"/api/cameras/{cam}").status_code == 404
    assert zz_client.get(f"/api/cameras/{cam}/snapshot.jpg").status_code == 404
    assert client_as(app, GA_STAFF).get(f"/api/cameras/{cam}").status_code == 200


def test_auditor_reads_audit_but_not_cameras(app):
    auditor = client_as(app, AUDITOR_P)
    assert auditor.get("/api/cameras").status_code == 403
    assert auditor.get("/api/audit/verify").json()["ok"] is True
    assert client_as(app, GAJ_ADMIN).get("/api/audit").status_code == 403


def test_camera_view_never_leaks_credentials(app, district):
    from govops.secretbox import SecretBox
    from video.catalogue.models import Camera

    with district.transaction() as s:
        cam = s.query(Camera).first()
        cam.username, cam.password_enc = "admin", SecretBox.from_settings(district.settings).encrypt("Cam#2026")
    body = client_as(app, LOCAL_SYSTEM_ADMIN).get("/api/cameras?limit=500").text
    assert "Cam#2026" not in body and "fernet:" not in body and "password" not in body


def test_bad_query_is_a_clean_422(app):
    r = client_as(app, LOCAL_SYSTEM_ADMIN).get("/api/cameras", params={"limit": 100000, "after": "x"})
    assert r.status_code == 422 and r.json()["error"] == "validation_failed"
    assert {d["field"] for d in r.json()["details"]} == {"query.limit", "query.after"}


def test_keyset_paging_walks_every_camera(app):
    c = client_as(app, LOCAL_SYSTEM_ADMIN)
    seen, after = [], None
    while True:
        page = c.get("/api/cameras", params={"limit": 3, **({"after": after} if after else {})}).json()
        seen += [x["id"] for x in page["items"]]
        after = page["next"]
        if not after:
            break
    assert len(seen) == len(set(seen)) == 8 and seen == sorted(seen)


def test_snapshot_is_a_jpeg_of_the_sample_clip(app):
    c = client_as(app, LOCAL_SYSTEM_ADMIN)
    cam = c.get("/api/cameras").json()["items"][0]["id"]
    r = c.get(f"/api/cameras/{cam}/snapshot.jpg")
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8" and len(r.content) > 5000


def test_metrics_exposes_bounded_camera_series(anonymous):
    text = anonymous.get("/metrics").text
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    cams = fams["govops_cameras"]
    assert sum(s.value for s in cams.samples) == 8
    assert {s.labels["department"] for s in cams.samples} <= {"gaj", "zzb", "cgj", "xzspj", "dsjj"}


def test_console_home_lists_the_sample_cameras(app):
    html = client_as(app, LOCAL_SYSTEM_ADMIN).get("/").text
    assert html.count("data-camera-id=") == 8 and "卫零路与龙胜路口" in html


@pytest.mark.parametrize("path", ["/api/cameras/../../etc/passwd", "/api/cameras/%00"])
def test_hostile_paths_do_not_traceback(app, path):
    r = client_as(app, LOCAL_SYSTEM_ADMIN).get(path)
    assert r.status_code in (404, 422) and "Traceback" not in r.text


def _whoami(app: Any, sid: str) -> Any:
    client = TestClient(app, raise_server_exceptions=False)
    client.cookies.set(SESSION_COOKIE, sid)
    return client.get("/api/whoami")


def test_a_session_works_on_a_second_replica_and_after_a_restart(app, district, settings):
    from govops.sessions import SignInSession

    one = TestClient(app, raise_server_exceptions=False)
    r = one.get(f"/login?token={app.state.local_login.token}", follow_redirects=False)
    assert r.status_code == 303
    admin_sid = one.cookies[SESSION_COOKIE]
    sso_sid = app.state.local_login.open_session(GAJ_ADMIN)  # what single sign-on opens

    # A second replica: its own runtime, engine and pool, and only the database in common.
    second = create_app(Runtime.build(settings))
    assert _whoami(second, admin_sid).json()["subject"] == "local-admin"
    assert _whoami(second, sso_sid).json() == {
        "subject": "u1",
        "name": "公安管理员",
        "roles": [DEPT_ADMIN],
        "department": "gaj",
        "platform": None,
        "contractor": None,
    }

    # A restart: the first replica's process state is gone, the database is not.
    district.engine.dispose()
    restarted = create_app(Runtime.build(settings))
    assert _whoami(restarted, admin_sid).json()["subject"] == "local-admin"

    # The database holds only hashes of the session ids.
    with district.transaction() as s:
        stored = set(s.scalars(select(SignInSession.id_hash)))
    assert len(stored) == 2 and admin_sid not in stored and sso_sid not in stored

    # Signing out on one replica ends the session on every replica.
    out = TestClient(second, raise_server_exceptions=False)
    out.cookies.set(SESSION_COOKIE, sso_sid)
    assert out.post("/logout", follow_redirects=False).status_code == 303
    assert _whoami(app, sso_sid).status_code == 401
    assert _whoami(restarted, sso_sid).status_code == 401
    assert _whoami(app, admin_sid).status_code == 200


def test_three_local_accounts_each_with_one_administrator_role(app):
    from govops.principal import LOCAL_ACCOUNTS

    tokens = dict(app.state.local_login.tokens)
    assert set(tokens) == {"system-admin", "security-admin", "auditor"} and len(set(tokens.values())) == 3
    seen = {}
    for account, token in tokens.items():
        c = TestClient(app, raise_server_exceptions=False)
        assert c.get(f"/login?token={token}", follow_redirects=False).status_code == 303
        seen[account] = c.get("/api/whoami").json()["roles"]
        assert seen[account] == sorted(LOCAL_ACCOUNTS[account].roles)
    assert seen == {"system-admin": ["ops-engineer"], "security-admin": ["sec-admin"], "auditor": ["auditor"]}
    # each account reaches its own duties only
    sec = client_as(app, LOCAL_ACCOUNTS["security-admin"])
    assert sec.get("/api/v1/audit").status_code == 403 and sec.get("/api/v1/cloud/runs").status_code == 403
    aud = client_as(app, LOCAL_ACCOUNTS["auditor"])
    assert aud.get("/api/v1/audit").status_code == 200 and aud.get("/api/v1/identity/ca").status_code == 403
    ops = client_as(app, LOCAL_ACCOUNTS["system-admin"])
    assert ops.get("/api/v1/audit").status_code == 403 and ops.get("/api/v1/identity/ca").status_code == 403


@pytest.mark.parametrize(
    "roles", [{"ops-engineer", "sec-admin"}, {"sec-admin", "auditor"}, {"ops-engineer", "auditor"}]
)
def test_a_session_holding_two_administrator_roles_is_refused(app, roles):
    # e.g. the all-in-one local admin session of an earlier version, still in the database
    both = Principal("old-admin", "旧管理员", frozenset(roles))
    c = client_as(app, both)
    r = c.get("/api/whoami")
    assert r.status_code == 401 and "三员分立" in r.json()["message"] and r.json()["hint"]
    assert c.get("/api/whoami").status_code == 401  # and the session is closed
    sid = c.cookies[SESSION_COOKIE]
    assert app.state.local_login.lookup(sid) is None
