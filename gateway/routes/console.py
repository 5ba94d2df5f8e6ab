"""The web console: server-rendered pages over the same queries the API uses."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from gateway.auth import PUBLIC
from gateway.deps import Ops, OpsOrSecAdmin, RuntimeDep, SessionDep, SignedIn
from gateway.templating import templates
from govops.org import Department
from govops.principal import AUDITOR, CONTRACTOR, DEPT_ADMIN, OPS_ENGINEER, SECURITY_STAFF
from video.catalogue.models import AdminArea
from video.catalogue.queries import list_cameras

router = APIRouter(include_in_schema=False)
OpsOrSec = OpsOrSecAdmin
VENDOR = Path(__file__).parent.parent / "static" / "vendor"


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, principal: SignedIn) -> Response:
    if not principal.has(OPS_ENGINEER, DEPT_ADMIN, SECURITY_STAFF):  # no cameras to show: their own page
        # A contractor's one page is its work orders (/identity would be a 403 page for it).
        own = "/audit" if principal.has(AUDITOR) else "/workorders" if principal.has(CONTRACTOR) else "/identity"
        return RedirectResponse(own, status_code=303)
    cams = list_cameras(session, principal, limit=200)
    departments = {d.code: d.name for d in session.scalars(select(Department))}
    areas = {a.code: a.name for a in session.scalars(select(AdminArea))}
    counts = {s: sum(1 for c in cams if c.status == s) for s in ("online", "offline", "faulty", "unknown")}
    return templates.TemplateResponse(
        request,
        "home.html",
        {
            "principal": principal,
            "cameras": cams,
            "departments": departments,
            "areas": areas,
            "counts": counts,
        },
    )


@router.get("/docs", dependencies=[Depends(PUBLIC)])
def api_docs() -> Response:
    """Swagger UI from npm `swagger-ui-dist`, served by the gateway: the docs work offline."""
    if not (VENDOR / "swagger-ui" / "swagger-ui-bundle.js").is_file():
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>govops · API</title>"
            "<link rel=stylesheet href=/static/console.css>"
            "<main class=card><h1>API 文档资源未安装</h1><p>The API docs' assets are not installed: run "
            "<code>make deps</code> (it installs them from npm). The schema itself is at "
            "<a href=/openapi.json>/openapi.json</a>.</p></main>",
            status_code=503,
        )
    # FastAPI's get_swagger_ui_html starts Swagger UI with an inline script, which the CSP refuses.
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>govops API</title>"
        "<link rel=stylesheet href=/static/vendor/swagger-ui/swagger-ui.css>"
        "<link rel=icon href=/static/vendor/swagger-ui/favicon-32x32.png></head>"
        "<body><div id=swagger-ui></div>"
        "<script src=/static/vendor/swagger-ui/swagger-ui-bundle.js></script>"
        "<script src=/static/swagger_init.js></script></body></html>"
    )


@router.get("/identity", response_class=HTMLResponse)
def identity_overview(request: Request, session: SessionDep, runtime: RuntimeDep, principal: OpsOrSec) -> HTMLResponse:
    """The CA and the realm at a glance (changes stay with the sec-admin's CLI and API)."""
    from gateway.routes.status import status_board
    from identity.models import IssuedCertificate

    board = status_board(request).snapshot()
    checks = {c["subsystem"]: c for c in board["subsystems"]}
    certs = session.scalars(select(IssuedCertificate).order_by(IssuedCertificate.issued_at.desc()).limit(50)).all()
    return templates.TemplateResponse(
        request,
        "identity_overview.html",
        {"principal": principal, "ca": checks.get("ca"), "keycloak": checks.get("keycloak"), "certs": certs},
    )


@router.get("/cluster", response_class=HTMLResponse)
def cluster_page(request: Request, principal: Ops) -> HTMLResponse:
    from gateway.routes.status import status_board

    board = status_board(request).snapshot()
    check = next(c for c in board["subsystems"] if c["subsystem"] == "cluster")
    return templates.TemplateResponse(request, "cluster.html", {"principal": principal, "check": check})


def _compliance(runtime: RuntimeDep, session: SessionDep) -> dict[str, object]:
    from monitoring.compliance.report import build

    return build(session, runtime.settings, runtime.keycloak if runtime.keycloak_admin_configured else None)


@router.get("/compliance", response_class=HTMLResponse)
def compliance_page(request: Request, principal: Ops, runtime: RuntimeDep, session: SessionDep) -> HTMLResponse:
    report = _compliance(runtime, session)
    return templates.TemplateResponse(request, "compliance.html", {"principal": principal, "report": report})


@router.get("/compliance/print", response_class=HTMLResponse)
def compliance_print(request: Request, _: Ops, runtime: RuntimeDep, session: SessionDep) -> HTMLResponse:
    """The printable evidence for the 等保测评 assessor: no navigation, one table."""
    report = _compliance(runtime, session)
    return templates.TemplateResponse(request, "compliance_print.html", {"report": report, "site": request.url.netloc})
