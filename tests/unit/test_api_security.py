"""The HTTP edge against hostile requests (#15 items 4, 9, 10)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import select

from gateway.auth import SESSION_COOKIE
from govops import audit
from govops.principal import AUDITOR, LOCAL_SYSTEM_ADMIN, Principal
from tests.conftest import client_as

AUDITOR_P = Principal("a1", "审计员", frozenset({AUDITOR}))
MiB = 1024 * 1024


# --- body limits and authentication before the body (#15 item 9) -------------------------------


class Upload:
    """An ASGI receive() that hands out `total` bytes in 1 MiB chunks and counts what was read."""

    def __init__(self, total: int) -> None:
        self.total, self.read = total, 0

    async def __call__(self) -> dict[str, Any]:
        chunk = min(MiB, self.total - self.read)
        self.read += chunk
        return {"type": "http.request", "body": b"x" * chunk, "more_body": self.read < self.total}


def _call(app, path: str, upload: Upload, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:  # type: ignore[no-untyped-def]
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    loop = asyncio.new_event_loop()  # not asyncio.run: it would unset the main thread's loop for later tests
    try:
        loop.run_until_complete(app(scope, upload, send))
    finally:
        loop.close()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body or b"{}")


def test_an_unauthenticated_150_mb_post_is_not_read(app):
    upload = Upload(150 * MiB)
    headers = {"content-type": "application/json", "content-length": str(upload.total)}
    status, body = _call(app, "/api/v1/video/platforms", upload, headers)
    assert status == 401 and body["error"] == "unauthenticated"
    assert upload.read == 0
    chunked = Upload(150 * MiB)
    status, _ = _call(app, "/api/v1/video/platforms", chunked, {"content-type": "application/json"})
    assert status == 401 and chunked.read == 0


def test_a_declared_body_over_the_limit_is_refused_before_reading(app):
    sid = app.state.local_login.open_session(LOCAL_SYSTEM_ADMIN)
    upload = Upload(150 * MiB)
    headers = {
        "content-type": "application/json",
        "content-length": str(upload.total),
        "cookie": f"{SESSION_COOKIE}={sid}",
    }
    status, body = _call(app, "/api/v1/video/platforms", upload, headers)
    assert status == 413 and body["error"] == "payload_too_large" and upload.read == 0


def test_a_streamed_body_is_cut_off_at_the_limit(app):
    sid = app.state.local_login.open_session(LOCAL_SYSTEM_ADMIN)
    upload = Upload(150 * MiB)
    headers = {"content-type": "application/json", "cookie": f"{SESSION_COOKIE}={sid}"}  # no length: chunked
    status, body = _call(app, "/api/v1/video/platforms", upload, headers)
    assert status == 413 and body["error"] == "payload_too_large"
    assert upload.read <= 3 * MiB  # the default limit is 2 MiB, read in 1 MiB chunks


def test_imports_have_a_generous_limit(app):
    from gateway.http.guard import DEFAULT_BODY_LIMIT, body_limit

    assert body_limit("/api/v1/video/import", None) >= 100 * MiB
    assert body_limit("/api/v1/video/platforms", None) == DEFAULT_BODY_LIMIT


# --- CSRF, security headers, redirects (#15 item 10) --------------------------------------------


def test_cross_site_cookie_posts_are_refused(app, district):
    from video.catalogue.models import Camera

    c = client_as(app, LOCAL_SYSTEM_ADMIN)
    with district.sessions() as s:
        before = len(s.scalars(select(Camera)).all())
    csv_body = "id,name\n31011600001320009999,evil\n"
    attacks = [
        {"origin": "http://127.0.0.1:9999", "content-type": "text/plain"},
        {"sec-fetch-site": "same-site", "content-type": "text/plain"},
        {"sec-fetch-site": "cross-site", "origin": "http://evil.example", "content-type": "text/plain"},
        {"origin": "null", "content-type": "text/plain"},
    ]
    for headers in attacks:
        r = c.post("/api/v1/video/import", content=csv_body, headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "csrf_refused", (headers, r.text)
    r = c.post("/logout", headers={"origin": "http://127.0.0.1:9999"}, follow_redirects=False)
    assert r.status_code == 403  # a hostile page cannot sign the user out
    with district.sessions() as s:
        assert len(s.scalars(select(Camera)).all()) == before
    ok = c.post(
        "/api/v1/video/groups",
        json={"id": "31011600002150000002", "name": "x"},
        headers={"origin": "http://testserver", "sec-fetch-site": "same-origin"},
    )
    assert ok.status_code == 201, ok.text
    assert c.post("/logout", headers={"origin": "http://testserver"}, follow_redirects=False).status_code == 303


def test_security_headers_on_every_answer(app, anonymous):
    for r in (anonymous.get("/healthz"), anonymous.get("/api/v1/cameras"), anonymous.get("/signin")):
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
    assert client_as(app, LOCAL_SYSTEM_ADMIN).get("/api/v1/whoami").headers["cache-control"] == "no-store"


def test_redirects_never_follow_the_host_header(anonymous):
    r = anonymous.get("/healthz/", headers={"host": "evil.example"}, follow_redirects=False)
    assert r.status_code in (301, 307, 308)
    assert "evil.example" not in r.headers["location"] and r.headers["location"].startswith("/")


def test_redirects_use_the_configured_public_url(district):
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    district.settings.public_url = "https://govops.jinshan.gov.cn"
    c = TestClient(create_app(district))
    r = c.get("/healthz/", headers={"host": "evil.example"}, follow_redirects=False)
    assert "evil.example" not in r.headers["location"]
    r = c.get("/healthz/", headers={"host": "govops.jinshan.gov.cn"}, follow_redirects=False)
    assert r.headers["location"].startswith("http://govops.jinshan.gov.cn/healthz")


# --- sign-ins, sign-outs and denials are audited (#15 item 4) -----------------------------------


def _records(runtime, action: str) -> list[audit.AuditRecord]:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s:
        return list(s.scalars(select(audit.AuditRecord).where(audit.AuditRecord.action == action)))


def test_logins_logouts_and_denials_are_audited(app, district, anonymous):
    token = app.state.local_login.token
    assert anonymous.get(f"/login?token={token}", follow_redirects=False).status_code == 303
    assert anonymous.post("/logout", follow_redirects=False).status_code == 303
    [login] = _records(district, "auth.login")
    [logout] = _records(district, "auth.logout")
    assert login.actor == logout.actor == "local-admin"
    assert anonymous.get("/api/v1/cameras").status_code == 401
    assert client_as(app, AUDITOR_P).get("/api/v1/cameras").status_code == 403
    assert anonymous.get("/login?token=guess", follow_redirects=False).status_code == 401
    denied = _records(district, "auth.denied")
    assert {(d.actor, d.detail["status"]) for d in denied} >= {("anonymous", 401), ("a1", 403)}
    assert {d.result for d in denied} == {"denied"}
    assert all(d.detail["request_id"] for d in denied)
    with district.sessions() as s:
        assert audit.verify(s).ok


def test_a_browser_denied_before_its_body_is_read_gets_the_sign_in_page(anonymous):
    r = anonymous.post(
        "/video/cameras/31011600001320000001/ptz",
        data={"action": "left"},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/signin"
