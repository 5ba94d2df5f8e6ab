"""Signing in to the console in Chromium through the lab's real Keycloak, as each role.

One `govops lab up gateway` for the module (PostgreSQL → the project's CA → Keycloak with mTLS →
the realm applied with one civil servant of every role in gaj and cgj → `govops serve` connected
to that Keycloak), exactly what a person gets; `govops lab down` at the end.

Civil servants sign in with their certificate, which is what the lab hands out (PKCS#12 + its
password file): the realm's browser flow is X.509 (password + OTP only for break-glass accounts),
so there is no password form to fill in. Chromium presents the person's certificate to Keycloak's
HTTPS port (Playwright `client_certificates`, for Keycloak's origin only); the path is the real
one: console → 401 → the sign-in page → 统一身份认证登录 → Keycloak's authorize endpoint on the mTLS
port → the X.509 authenticator → the gateway's /login/callback (code + PKCE) → the console,
signed in. Each role then opens the pages of its navigation (checked by their text) and gets the
HTML 403 page naming the needed role for every other page. Screenshots go to
<artefacts>/signin/<role>/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from govops.principal import ROLES
from tests.e2e.pages import PAGES, walk_pages
from tests.support.lab import lab_cli, person_pem

pytestmark = pytest.mark.e2e

# The navigation of the two roles test_console_roles does not open sessions for, on top of its table.
EXTRA_ROLES = {"/status": {"sec-admin"}, "/identity": {"sec-admin"}, "/workorders": {"contractor"}}
NAV = {path: roles | EXTRA_ROLES.get(path, set()) for path, roles in PAGES.items()}
HOME = {"auditor": "/audit", "sec-admin": "/identity", "contractor": "/workorders"}  # "/" sends them there


@dataclass
class SignInLab:
    gateway: str
    keycloak_origin: str
    people: list[dict[str, str]]
    certs: dict[tuple[str, str], tuple[Path, Path]]  # (role, department) → (certificate chain, key) PEM


@pytest.fixture(scope="module")
def signin_lab(tmp_path_factory: pytest.TempPathFactory, sample_clips: Path) -> Iterator[SignInLab]:
    root = tmp_path_factory.mktemp("signin-lab")
    data_dir = root / "data"
    data_dir.mkdir()
    (data_dir / "clips").symlink_to(sample_clips, target_is_directory=True)  # not generated again
    try:
        code, up, err = lab_cli(data_dir, "up", "gateway", timeout=900)
        assert up is not None, err
        rows = {r["component"]: r for r in up}
        failed = {n: r.get("error") for n, r in rows.items() if r["state"] == "failed"}
        assert code == 0 and not failed, failed
        state = json.loads((data_dir / "lab" / "state.json").read_text())
        people = state["realm"]["details"]["signin"]
        pem_dir = root / "pem"
        pem_dir.mkdir()
        certs = {(p["role"], p["department"]): person_pem(p, pem_dir) for p in people}
        yield SignInLab(
            gateway=rows["gateway"]["endpoint"],
            keycloak_origin=state["keycloak"]["details"]["https_url"],
            people=people,
            certs=certs,
        )
    finally:
        lab_cli(data_dir, "down", timeout=300)


def _signed_in_context(browser, lab: SignInLab, role: str, department: str):  # type: ignore[no-untyped-def]
    cert, key = lab.certs[(role, department)]
    return browser.new_context(  # a fresh profile: not signed in
        viewport={"width": 1440, "height": 900},
        locale="zh-CN",
        # Keycloak's HTTPS certificate comes from the lab's own CA, which this browser profile
        # does not trust; the client certificate is offered to Keycloak's origin only.
        ignore_https_errors=True,
        client_certificates=[{"origin": lab.keycloak_origin, "certPath": str(cert), "keyPath": str(key)}],
    )


def _sign_in(page, lab: SignInLab, out: Path) -> list[str]:  # type: ignore[no-untyped-def]
    """From the console's front door to the console, signed in; returns the URLs passed."""
    passed: list[str] = []
    # Redirects never commit a frame, so the path shows in the navigation requests.
    page.on("request", lambda r: passed.append(r.url) if r.is_navigation_request() else None)
    page.goto(lab.gateway + "/")
    assert page.url.startswith(lab.gateway + "/signin"), page.url  # not signed in: the sign-in page
    page.screenshot(path=str(out / "signin.png"))
    page.click("a[href='/login/sso']")
    # Back on the console: "/" or the role's own first page ("/" redirects an auditor to /audit).
    page.wait_for_url(lambda u: u.startswith(lab.gateway) and not u.startswith(_sign_in_paths(lab)), timeout=60_000)
    return passed


def _sign_in_paths(lab: SignInLab) -> tuple[str, ...]:
    return (lab.gateway + "/signin", lab.gateway + "/login")


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_signs_in_through_keycloak_and_sees_only_its_pages(browser, signin_lab, artifacts, role):
    out = artifacts / "signin" / role
    out.mkdir(parents=True, exist_ok=True)
    ctx = _signed_in_context(browser, signin_lab, role, "gaj")
    page = ctx.new_page()
    try:
        passed = _sign_in(page, signin_lab, out)
        assert any(u.startswith(signin_lab.keycloak_origin + "/realms/") for u in passed), passed  # via Keycloak
        assert any(u.startswith(signin_lab.gateway + "/login/callback?") for u in passed), passed
        home = page.url.removeprefix(signin_lab.gateway)
        assert home == HOME.get(role, "/"), (role, home)
        who = page.locator("[data-testid=who]").inner_text()
        assert role in who and "gaj" in who, who
        page.screenshot(path=str(out / "home.png"))

        walk_pages(page, signin_lab.gateway, role, NAV, out)
    finally:
        ctx.close()


def test_the_second_departments_admin_is_signed_in_to_its_own_department(browser, signin_lab, artifacts):
    out = artifacts / "signin" / "dept-admin-cgj"
    out.mkdir(parents=True, exist_ok=True)
    assert {(p["role"], p["department"]) for p in signin_lab.people} == {(r, d) for r in ROLES for d in ("gaj", "cgj")}
    ctx = _signed_in_context(browser, signin_lab, "dept-admin", "cgj")
    page = ctx.new_page()
    try:
        _sign_in(page, signin_lab, out)
        me = page.request.get(signin_lab.gateway + "/api/v1/whoami").json()
        assert me["roles"] == ["dept-admin"] and me["department"] == "cgj", me
        page.goto(signin_lab.gateway + "/video/cameras")
        page.screenshot(path=str(out / "video_cameras.png"), full_page=True)
    finally:
        ctx.close()
