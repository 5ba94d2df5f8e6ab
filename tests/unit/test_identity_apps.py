"""App onboarding: redirect URI rules, the request → approve/reject workflow, secret shown once,
the department isolation matrix and the audit trail (an in-memory Keycloak; the real one is in
tests/integration/test_identity_keycloak.py)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlalchemy import select

from gateway.app import create_app
from gateway.routes import identity as identity_routes
from govops import audit
from govops.errors import ValidationFailed
from govops.principal import AUDITOR, DEPT_ADMIN, LOCAL_SYSTEM_ADMIN, OPS_ENGINEER, SEC_ADMIN, Principal
from identity.apps import validate_redirect_uris
from identity.models import DepartmentApp
from tests.conftest import client_as

GAJ_ADMIN = Principal("u-gaj", "公安管理员", frozenset({DEPT_ADMIN}), department="gaj")
CGJ_ADMIN = Principal("u-cgj", "城管管理员", frozenset({DEPT_ADMIN}), department="cgj")
OPS = Principal("u-ops", "运维", frozenset({OPS_ENGINEER}))
AUDITOR_P = Principal("u-aud", "审计员", frozenset({AUDITOR}))
SEC = Principal("u-sec", "安全管理员", frozenset({SEC_ADMIN}))
HOME = "https://case.gaj.jinshan.gov.cn/"


@pytest.mark.parametrize(
    "uri",
    [
        "https://case.gaj.jinshan.gov.cn/callback",
        "https://case.gaj.jinshan.gov.cn/*",
        "http://localhost:3000/callback",
        "http://127.0.0.1:8000/oidc/cb",
        "https://other.gaj.jinshan.gov.cn/cb",  # an exact URI on another host is fine
    ],
)
def test_good_redirect_uris(uri):
    assert validate_redirect_uris([uri], HOME) == [uri]


@pytest.mark.parametrize(
    "uri, needle",
    [
        ("http://case.gaj.jinshan.gov.cn/callback", "https"),
        ("https://*.jinshan.gov.cn/callback", "wildcard"),
        ("https://other.example.com/*", "wildcard outside"),
        ("*", "https URL"),
        ("https://case.gaj.jinshan.gov.cn/a/*/b", "wildcard"),
        ("https://case.gaj.jinshan.gov.cn*", "wildcard"),
        ("https://case.gaj.jinshan.gov.cn/cb#frag", "fragment"),
        ("https://user:pw@case.gaj.jinshan.gov.cn/cb", "credentials"),
        ("javascript:alert(1)", "https URL"),
        ("case.gaj.jinshan.gov.cn/cb", "https URL"),
        ("https://case.gaj.jinshan.gov.cn/cb with space", "spaces"),
    ],
)
def test_bad_redirect_uris(uri, needle):
    with pytest.raises(ValidationFailed, match=needle):
        validate_redirect_uris([uri], HOME)


class FakeKeycloak:
    """Just enough of KeycloakAdapter for onboarding, recording what was done."""

    def __init__(self) -> None:
        self.clients: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, list[dict[str, Any]]] = {}
        self.group_roles: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.secrets: dict[str, str] = {}
        self.scopes: dict[str, list[str]] = {}

    def find_client(self, client_id):
        return next((c for c in self.clients.values() if c["clientId"] == client_id), None)

    def create_client(self, rep):
        uuid = f"uuid-{len(self.clients) + 1}"
        self.clients[uuid] = {**rep, "id": uuid}
        self.roles[uuid] = []
        self.secrets[uuid] = secrets.token_urlsafe(24)
        return uuid

    def update_client(self, uuid, rep):
        self.clients[uuid] = rep

    def client_scopes(self):
        return [{"name": "govops-api", "id": "scope-api"}]

    def client_default_scopes(self, uuid):
        return [{"name": n} for n in self.scopes.get(uuid, [])]

    def add_client_default_scope(self, uuid, scope_id):
        self.scopes.setdefault(uuid, []).append("govops-api")

    def client_roles(self, uuid):
        return self.roles[uuid]

    def create_client_role(self, uuid, rep):
        self.roles[uuid].append({**rep, "id": f"r-{rep['name']}"})

    def call(self, method, path, body=None, missing_ok=False, **params):
        assert path.startswith("group-by-path/")
        return {"id": "g-" + path.rsplit("/", 1)[-1]}

    def client_mappers(self, uuid):
        return self.clients[uuid].get("protocolMappers", [])

    def add_audience_mapper(self, uuid, audience):
        mapper = {"protocolMapper": "oidc-audience-mapper", "config": {"included.client.audience": audience}}
        self.clients[uuid].setdefault("protocolMappers", []).append(mapper)

    def group_by_path(self, path):
        return self.call("GET", f"group-by-path/{path.lstrip('/')}")

    def group_client_roles(self, gid, uuid):
        return self.group_roles.get((gid, uuid), [])

    def assign_group_client_roles(self, gid, uuid, roles):
        self.group_roles.setdefault((gid, uuid), []).extend(roles)

    def client_secret(self, uuid):
        return self.secrets[uuid]

    def regenerate_client_secret(self, uuid):
        self.secrets[uuid] = secrets.token_urlsafe(24)
        return self.secrets[uuid]


@pytest.fixture
def kc(monkeypatch) -> FakeKeycloak:
    fake = FakeKeycloak()
    monkeypatch.setattr(identity_routes, "keycloak", lambda runtime: fake)
    return fake


@pytest.fixture
def web(district):
    return create_app(district)


def _request(client, department="gaj", **kw):
    body = {
        "name": "案件管理系统",
        "department": department,
        "home_url": HOME,
        "redirect_uris": [f"{HOME}callback"],
        "client_id": f"{department}-case-portal",
        "roles": [{"name": "user", "description": "办案人员"}, {"name": "supervisor"}],
        **kw,
    }
    return client.post("/api/identity/apps", json=body)


def test_onboarding_workflow_and_secret_shown_once(web, kc, district):
    gaj, ops = client_as(web, GAJ_ADMIN), client_as(web, OPS)
    r = _request(gaj)
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["status"] == "requested" and app["department_roles"] == ["user"]
    # a department admin cannot approve their own request
    assert gaj.post(f"/api/identity/apps/{app['id']}/approve", json={}).status_code == 403
    approved = ops.post(f"/api/identity/apps/{app['id']}/approve", json={"note": "ok"}).json()
    assert approved["status"] == "approved" and approved["secret"] == "awaiting pickup"
    assert "client_secret" not in str(approved)
    client = kc.find_client("gaj-case-portal")
    assert client["publicClient"] is False and client["directAccessGrantsEnabled"] is False
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    assert {r["name"] for r in kc.roles[client["id"]]} == {"user", "supervisor"}
    assert [r["name"] for r in kc.group_roles[("g-gaj", client["id"])]] == ["user"]
    # its tokens are for the app itself, never for the platform (issue #15 item 2)
    assert "govops-api" not in kc.scopes.get(client["id"], [])
    [audience] = client["protocolMappers"]
    assert audience["config"]["included.client.audience"] == "gaj-case-portal"
    # ops approve but never see the secret; the department collects it exactly once
    assert ops.post(f"/api/identity/apps/{app['id']}/secret").status_code == 403
    got = gaj.post(f"/api/identity/apps/{app['id']}/secret")
    assert got.status_code == 200 and got.headers["cache-control"] == "no-store"
    assert got.json()["client_secret"] == kc.secrets[client["id"]]
    again = gaj.post(f"/api/identity/apps/{app['id']}/secret")
    assert again.status_code == 409 and "already collected" in again.json()["message"]
    # the secret is sealed at rest
    with district.sessions() as s:
        row = s.get(DepartmentApp, app["id"])
        assert row.secret_enc.startswith("fernet:") and kc.secrets[client["id"]] not in row.secret_enc
    # rotation: a new secret in Keycloak, collected once again
    rotated = ops.post(f"/api/identity/apps/{app['id']}/rotate-secret").json()
    assert rotated["secret_version"] == 2 and rotated["secret"] == "awaiting pickup"
    second = gaj.post(f"/api/identity/apps/{app['id']}/secret").json()["client_secret"]
    assert second == kc.secrets[client["id"]] and second != got.json()["client_secret"]
    # a decision is final
    assert ops.post(f"/api/identity/apps/{app['id']}/reject", json={"note": "x"}).status_code == 409
    with district.sessions() as s:
        actions = [r.action for r in s.scalars(select(audit.AuditRecord).order_by(audit.AuditRecord.id))]
        for action in ("apps.request", "apps.approve", "apps.collect_secret", "apps.rotate_secret"):
            assert action in actions
        assert audit.verify(s).ok
        assert second not in str([r.as_dict() for r in s.scalars(select(audit.AuditRecord))])


def test_reject_needs_a_reason(web, kc):
    app = _request(client_as(web, GAJ_ADMIN)).json()
    ops = client_as(web, OPS)
    assert ops.post(f"/api/identity/apps/{app['id']}/reject", json={}).status_code == 422
    r = ops.post(f"/api/identity/apps/{app['id']}/reject", json={"note": "没有等保测评报告"})
    assert r.json()["status"] == "rejected" and r.json()["decision_note"] == "没有等保测评报告"
    assert not kc.clients
    assert client_as(web, GAJ_ADMIN).post(f"/api/identity/apps/{app['id']}/secret").status_code == 409


def test_department_isolation_matrix(web, kc):
    gaj, cgj = client_as(web, GAJ_ADMIN), client_as(web, CGJ_ADMIN)
    a = _request(gaj).json()
    b = _request(cgj, department="cgj").json()
    # a dept-admin cannot request for another department
    r = _request(gaj, department="cgj", client_id="cgj-sneaky")
    assert r.status_code == 403
    assert {x["id"] for x in gaj.get("/api/identity/apps").json()["items"]} == {a["id"]}
    assert {x["id"] for x in cgj.get("/api/identity/apps").json()["items"]} == {b["id"]}
    # another department's app does not exist for you, whatever you try
    assert gaj.get(f"/api/identity/apps/{b['id']}").status_code == 404
    # rotation is for ops engineers only, own department's app or not
    assert gaj.post(f"/api/identity/apps/{b['id']}/rotate-secret").status_code == 403
    assert gaj.post(f"/api/identity/apps/{a['id']}/rotate-secret").status_code == 403
    assert gaj.post(f"/api/identity/apps/{b['id']}/secret").status_code == 404
    assert gaj.get("/api/identity/apps", params={"department": "cgj"}).json()["items"] == []
    ops = client_as(web, OPS)
    assert len(ops.get("/api/identity/apps").json()["items"]) == 2
    for who in (AUDITOR_P, SEC):
        assert client_as(web, who).get("/api/identity/apps").status_code == 403
    # an ops engineer approving the cgj app does not hand its secret to gaj
    ops.post(f"/api/identity/apps/{b['id']}/approve", json={})
    assert gaj.post(f"/api/identity/apps/{b['id']}/secret").status_code == 404
    assert cgj.post(f"/api/identity/apps/{b['id']}/secret").status_code == 200


def test_bad_requests_are_clean(web, kc):
    gaj = client_as(web, GAJ_ADMIN)
    r = _request(gaj, redirect_uris=["https://*.example.com/cb"])
    assert r.status_code == 422 and "wildcard" in r.json()["message"]
    r = _request(gaj, roles=[{"name": "Bad Role"}])
    assert r.status_code == 422
    r = _request(gaj, department_roles=["ghost"])
    assert r.status_code == 422 and "ghost" in r.json()["message"]
    assert _request(gaj).status_code == 201
    dup = _request(gaj)
    assert dup.status_code == 409 and "taken" in dup.json()["message"]
    r = _request(gaj, department="nope", client_id="nope-x")
    assert r.status_code == 403  # not their department, so not even validated further
    r = client_as(web, LOCAL_SYSTEM_ADMIN).post("/api/identity/apps", json={"name": "x"})
    assert r.status_code == 422 and r.json()["error"] == "validation_failed"


def test_sec_admin_issues_and_revokes_certificates(web, district):
    from identity.pki import CertificateAuthority

    with district.transaction() as s:
        CertificateAuthority.from_settings(district.settings, district.box).init(s, actor="sec")
    sec = client_as(web, SEC)
    r = sec.post(
        "/api/identity/certificates",
        json={"id": "310116199001011234", "name": "王明", "department": "金山公安分局", "email": "w@x.cn"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["password"] and body["pkcs12_base64"] and body["certificate"]["status"] == "valid"
    serial = body["certificate"]["serial"]
    assert client_as(web, OPS).post("/api/identity/certificates", json={}).status_code == 403
    assert client_as(web, GAJ_ADMIN).get("/api/identity/certificates").status_code == 403
    listed = sec.get("/api/identity/certificates").json()["items"]
    assert [c["serial"] for c in listed] == [serial] and "password" not in str(listed)
    rv = sec.post(f"/api/identity/certificates/{serial}/revoke", json={"reason": "superseded"})
    assert rv.status_code == 200 and rv.json()["certificate"]["status"] == "revoked"
    assert rv.json()["keycloak_crl_cache"] == "not configured"
    assert sec.post("/api/identity/certificates/zz/revoke", json={}).status_code == 422


def test_console_apps_page_is_scoped(web, kc):
    _request(client_as(web, GAJ_ADMIN))
    _request(client_as(web, CGJ_ADMIN), department="cgj")
    gaj_page = client_as(web, GAJ_ADMIN).get("/identity/apps").text
    assert "gaj-case-portal" in gaj_page and "cgj-case-portal" not in gaj_page
    assert "approve" not in gaj_page.split("<tbody>")[1].split("</tbody>")[0]
    ops_page = client_as(web, OPS).get("/identity/apps").text
    assert "gaj-case-portal" in ops_page and "cgj-case-portal" in ops_page and "批准" in ops_page
    assert client_as(web, AUDITOR_P).get("/identity/apps").status_code == 403


def test_concurrent_pickups_show_the_secret_once(web, kc):
    from concurrent.futures import ThreadPoolExecutor

    app = _request(client_as(web, GAJ_ADMIN)).json()
    client_as(web, OPS).post(f"/api/identity/apps/{app['id']}/approve", json={})
    clients = [client_as(web, GAJ_ADMIN) for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda c: c.post(f"/api/identity/apps/{app['id']}/secret").status_code, clients))
    assert sorted(codes) == [200, 409, 409, 409, 409, 409], codes
