"""Unified identity: the CA's public files (CRL, CA certificates), certificates, the realm,
department app onboarding, and the console's single sign-on through Keycloak.

Who may do what (MLPS three-role separation):
- PUBLIC: /pki/* (relying parties fetch the CRL without credentials), /login/sso, /login/callback;
- sec-admin: certificates (issue, revoke) and the realm (diff, apply, status);
- dept-admin: request apps for, and collect secrets of, their own department only;
- ops-engineer: approve or reject requests, rotate secrets (ops only: a dept-admin who needs a
  new secret asks an ops engineer, then collects it once), see every app.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import Field

from gateway.auth import PUBLIC, SESSION_COOKIE, SESSION_TTL
from gateway.deps import DeptAdmin, Ops, RuntimeDep, SecAdmin, SessionDep
from gateway.deps import OpsOrDeptAdmin as AppsViewer
from gateway.http import audit_events
from gateway.http.openapi import media, problems
from gateway.http.params import IntId, RequestBody
from gateway.pagination import Page, PageDep, page_of
from gateway.runtime import Runtime
from govops.errors import ConfigError, GovopsError, NotFound, ServiceUnavailable, Unauthenticated
from govops.logs import log
from govops.principal import OPS_ENGINEER
from identity import apps as app_onboarding
from identity import realm as realm_code
from identity.keycloak_adapter import KeycloakAdapter, OidcEndpoints, ping, tls_context
from identity.login import finish_login, start_login
from identity.pki import CertificateAuthority, CivilServant
from identity.pki.revocation import revoke_certificate
from identity.realm import GATEWAY_CLIENT

logger = logging.getLogger("govops.gateway.identity")
router = APIRouter(tags=["identity"])
SSO_COOKIE = "govops_sso"
SSO_MAX_AGE = 600


def certificate_authority(request: Request) -> CertificateAuthority:
    """The runtime's one CA (the unlocked issuing key is not re-derived per request)."""
    runtime: Runtime = request.app.state.runtime
    return runtime.ca


def keycloak(runtime: Runtime) -> KeycloakAdapter:
    """The runtime's one admin adapter (its token is granted once and refreshed)."""
    return runtime.keycloak


def _keycloak_if_configured(runtime: Runtime) -> KeycloakAdapter | None:
    return keycloak(runtime) if runtime.keycloak_admin_configured else None


CaDep = Annotated[CertificateAuthority, Depends(certificate_authority)]

# -- the CA's public files -------------------------------------------------------------------


@router.get(
    "/pki/issuing.crl",
    dependencies=[Depends(PUBLIC)],
    response_class=Response,
    responses={**media("application/pkix-crl", description="The current CRL (DER)"), **problems("404")},
)
def crl(session: SessionDep, ca: CaDep) -> Response:
    current = ca.current_crl(session)
    return Response(
        current.der,
        media_type="application/pkix-crl",
        headers={"Cache-Control": "public, max-age=60", "X-CRL-Number": str(current.number)},
    )


@router.get(
    "/pki/{name}.crt",
    dependencies=[Depends(PUBLIC)],
    response_class=Response,
    responses={**media("application/pkix-cert", description="root or issuing (DER)"), **problems("404")},
)
def ca_certificate(name: str, ca: CaDep) -> Response:
    from cryptography.hazmat.primitives import serialization

    if name not in ("root", "issuing"):
        raise NotFound(f"no CA certificate named {name!r}", hint="ask for /pki/root.crt or /pki/issuing.crt")
    cert = ca.certificate(name)  # type: ignore[arg-type]
    return Response(cert.public_bytes(serialization.Encoding.DER), media_type="application/pkix-cert")


@router.get(
    "/pki/chain.pem",
    dependencies=[Depends(PUBLIC)],
    response_class=Response,
    responses={**media("application/x-pem-file", description="issuing + root (PEM)"), **problems("404")},
)
def chain(ca: CaDep) -> Response:
    return Response(ca.chain_pem(), media_type="application/x-pem-file")


# -- certificates (sec-admin) ----------------------------------------------------------------


class IssueBody(RequestBody):
    id: str = Field(min_length=6, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    department: str = Field(min_length=1, max_length=64)
    section: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    days: int | None = Field(default=None, ge=1, le=3650)


class RevokeBody(RequestBody):
    reason: str = Field(default="unspecified", max_length=40)


@router.get("/api/identity/ca")
def ca_info(_: SecAdmin, ca: CaDep) -> dict[str, str]:
    return ca.info()


@router.get("/api/identity/certificates")
def certificates(
    session: SessionDep,
    _: SecAdmin,
    ca: CaDep,
    civil_servant_id: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(pattern="^(valid|revoked|expired|not_yet_valid)$")] = None,
    page: PageDep = Page(),
) -> dict[str, Any]:
    rows = [c.as_dict() for c in ca.list(session, civil_servant_id=civil_servant_id, status=status)]
    return page_of(rows, page, key="serial", sort=True)


@router.post("/api/identity/certificates", status_code=201)
def issue(body: IssueBody, session: SessionDep, principal: SecAdmin, ca: CaDep) -> dict[str, Any]:
    bundle = ca.issue(
        session,
        CivilServant(body.id, body.name, body.department, body.section, body.email),
        actor=principal.subject,
        days=body.days,
    )
    return {
        "certificate": bundle.record.as_dict(),
        "pkcs12_base64": base64.b64encode(bundle.pkcs12).decode(),
        "password": bundle.password,
        "note": "the PKCS#12 password is shown once and is not stored",
    }


@router.post("/api/identity/certificates/{serial}/revoke")
def revoke(
    serial: Annotated[str, Path(pattern=r"^[0-9A-Fa-f:]{1,60}$")],
    body: RevokeBody,
    principal: SecAdmin,
    ca: CaDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    result = revoke_certificate(
        runtime.transaction,
        ca,
        serial,
        actor=principal.subject,
        reason=body.reason,
        keycloak=lambda: _keycloak_if_configured(runtime),
    )
    return result.as_dict()


# -- the realm (sec-admin) -------------------------------------------------------------------


def _spec(runtime: Runtime, session: Any) -> realm_code.RealmSpec:
    return realm_code.spec_from_settings(runtime.settings, session)


@router.get("/api/identity/realm/status")
def realm_status(session: SessionDep, _: SecAdmin, runtime: RuntimeDep) -> dict[str, Any]:
    return realm_code.status(keycloak(runtime), _spec(runtime, session))


@router.get("/api/identity/realm/diff")
def realm_diff(session: SessionDep, _: SecAdmin, runtime: RuntimeDep) -> dict[str, Any]:
    return realm_code.apply(keycloak(runtime), _spec(runtime, session), dry_run=True)


@router.post("/api/identity/realm/apply")
def realm_apply(session: SessionDep, principal: SecAdmin, runtime: RuntimeDep, dry_run: bool = False) -> dict[str, Any]:
    spec = _spec(runtime, session)
    return realm_code.apply_and_audit(
        session, keycloak(runtime), spec, actor=principal.subject, dry_run=dry_run
    ).as_dict()


# -- department apps -------------------------------------------------------------------------


class RoleBody(RequestBody):
    name: str = Field(min_length=1, max_length=50)
    description: str = Field(default="", max_length=200)


class AppRequestBody(RequestBody):
    name: str = Field(min_length=1, max_length=100)
    department: str = Field(min_length=1, max_length=50)
    home_url: str = Field(min_length=8, max_length=500)
    redirect_uris: list[str] = Field(min_length=1, max_length=10)
    roles: list[RoleBody] = Field(default_factory=list, max_length=50)
    department_roles: list[str] | None = None
    client_id: str | None = Field(default=None, max_length=63)
    description: str = Field(default="", max_length=1000)


class DecisionBody(RequestBody):
    note: str = Field(default="", max_length=1000)


@router.get("/api/identity/apps")
def apps(
    session: SessionDep,
    principal: AppsViewer,
    status: Annotated[str | None, Query(pattern="^(requested|approved|rejected)$")] = None,
    department: Annotated[str | None, Query(max_length=50)] = None,
    page: PageDep = Page(),
) -> dict[str, Any]:
    rows = app_onboarding.list_apps(session, principal, status=status, department=department)
    return page_of([a.as_dict() for a in rows], page, key="id", sort=True)


@router.post("/api/identity/apps", status_code=201)
def request_app(body: AppRequestBody, session: SessionDep, principal: AppsViewer) -> dict[str, Any]:
    app = app_onboarding.request_app(
        session,
        principal,
        app_onboarding.AppRequest(
            name=body.name,
            department=body.department,
            home_url=body.home_url,
            redirect_uris=body.redirect_uris,
            roles=[r.model_dump() for r in body.roles],
            department_roles=body.department_roles,
            client_id=body.client_id,
            description=body.description,
        ),
    )
    return app.as_dict()


@router.get("/api/identity/apps/{app_id}")
def app_detail(app_id: IntId, session: SessionDep, principal: AppsViewer) -> dict[str, Any]:
    return app_onboarding.get_app(session, principal, app_id).as_dict()


@router.post("/api/identity/apps/{app_id}/approve")
def approve(
    app_id: IntId, body: DecisionBody, session: SessionDep, principal: Ops, runtime: RuntimeDep
) -> dict[str, Any]:
    app_onboarding.get_app(session, principal, app_id)  # a missing app is a 404 before any Keycloak call
    app = app_onboarding.approve_app(session, principal, app_id, keycloak(runtime), runtime.box, body.note)
    return app.as_dict()


@router.post("/api/identity/apps/{app_id}/reject")
def reject(app_id: IntId, body: DecisionBody, session: SessionDep, principal: Ops) -> dict[str, Any]:
    return app_onboarding.reject_app(session, principal, app_id, body.note).as_dict()


@router.post("/api/identity/apps/{app_id}/secret")
def collect_secret(app_id: IntId, session: SessionDep, principal: DeptAdmin, runtime: RuntimeDep) -> JSONResponse:
    body = app_onboarding.collect_secret(session, principal, app_id, runtime.box)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/api/identity/apps/{app_id}/rotate-secret")
def rotate_secret(app_id: IntId, session: SessionDep, principal: Ops, runtime: RuntimeDep) -> dict[str, Any]:
    app_onboarding.get_app(session, principal, app_id)  # a missing app is a 404 before any Keycloak call
    app = app_onboarding.rotate_secret(session, principal, app_id, keycloak(runtime), runtime.box)
    return app.as_dict()


@router.get("/identity/apps", include_in_schema=False, response_class=HTMLResponse)
def apps_page(request: Request, session: SessionDep, principal: AppsViewer) -> HTMLResponse:
    from sqlalchemy import select

    from gateway.templating import templates
    from govops.org import Department

    rows = [a.as_dict() for a in app_onboarding.list_apps(session, principal)]
    departments = {d.code: d.name for d in session.scalars(select(Department))}
    return templates.TemplateResponse(
        request,
        "identity_apps.html",
        {"principal": principal, "apps": rows, "departments": departments, "can_decide": principal.has(OPS_ENGINEER)},
    )


# -- console single sign-on (authorization code + PKCE, public client) ------------------------


def _endpoints(runtime: Runtime) -> OidcEndpoints:
    if not runtime.settings.keycloak_url:
        raise NotFound(
            "single sign-on is not configured on this gateway",
            hint="use the one-time login URL printed by `govops serve`",
        )
    return OidcEndpoints(runtime.settings.keycloak_url, runtime.settings.keycloak_realm)


def _callback_url(request: Request, runtime: Runtime) -> str:
    base = runtime.settings.public_url or str(request.base_url)
    return base.rstrip("/") + "/login/callback"


def _unavailable_page(request: Request, exc: ServiceUnavailable) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>govops · 统一身份认证暂不可用</title>"
            "<link rel=stylesheet href=/static/console.css><main class=card>"
            "<h1>统一身份认证服务暂不可用</h1><p>The identity service (Keycloak) is not answering, "
            "so single sign-on cannot start. Try again in a minute; operators can still use the "
            "one-time login URL of <code>govops serve</code>.</p></main>",
            status_code=503,
        )
    return JSONResponse(exc.as_dict(), status_code=503)


@router.get("/login/sso", dependencies=[Depends(PUBLIC)], include_in_schema=False)
def sso_start(request: Request, runtime: RuntimeDep) -> Response:
    endpoints = _endpoints(runtime)
    try:
        ping(endpoints, verify=tls_context(runtime.settings.keycloak_ca_file))
    except ServiceUnavailable as exc:
        log(logger, "sso unavailable", logging.WARNING, error=exc.message)
        return _unavailable_page(request, exc)
    start = start_login(endpoints, client_id=GATEWAY_CLIENT, redirect_uri=_callback_url(request, runtime))
    sealed = runtime.box.encrypt(json.dumps({"state": start.state, "verifier": start.verifier, "at": time.time()}))
    response = RedirectResponse(start.url, status_code=303)
    response.set_cookie(
        SSO_COOKIE,
        sealed,
        max_age=SSO_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.get("/login/callback", dependencies=[Depends(PUBLIC)], include_in_schema=False)
def sso_callback(
    request: Request,
    runtime: RuntimeDep,
    code: Annotated[str, Query(max_length=2000)],
    state: Annotated[str, Query(max_length=200)],
) -> Response:
    sealed = request.cookies.get(SSO_COOKIE)
    try:
        pending = json.loads(runtime.box.decrypt(sealed)) if sealed else None
    except (GovopsError, ValueError):
        pending = None
    if not pending or pending.get("state") != state or time.time() - pending["at"] > SSO_MAX_AGE:
        raise Unauthenticated("the sign-in attempt expired or did not start here", hint="start again at /login/sso")
    verifier = request.app.state.token_verifier
    if verifier is None:
        raise ConfigError("single sign-on is not configured on this gateway")
    try:
        tokens = finish_login(
            _endpoints(runtime),
            client_id=GATEWAY_CLIENT,
            code=code,
            redirect_uri=_callback_url(request, runtime),
            verifier=pending["verifier"],
            ca_file=runtime.settings.keycloak_ca_file,
        )
    except ServiceUnavailable as exc:
        return _unavailable_page(request, exc)
    principal = verifier.verify(tokens.access_token)
    sid = request.app.state.local_login.open_session(principal)
    audit_events.record(request, "auth.login", actor=principal.subject, detail={"via": "sso"})
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, sid, max_age=SESSION_TTL, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    response.delete_cookie(SSO_COOKIE, path="/login")
    log(logger, "sso login", subject=principal.subject, department=principal.department)
    return response
