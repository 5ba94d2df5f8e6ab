"""The web console: server-rendered pages over the same queries the API uses."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from gateway.deps import SessionDep, SignedIn
from govops.org import Department
from video.catalogue.models import AdminArea
from video.catalogue.queries import list_cameras

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, principal: SignedIn) -> HTMLResponse:
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
