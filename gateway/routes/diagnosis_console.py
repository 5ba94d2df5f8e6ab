"""Console pages of the patrol: "faults now" (故障摄像机) and the diagnosis buttons of a camera.

The camera page itself (video_console) shows the history; this module adds the faults page and
the form posts, re-diagnose, refresh the reference and accept a false alarm (误报确认), which
answer with a redirect back.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gateway.deps import CameraOperator as Operator
from gateway.deps import CameraViewer as Viewer
from gateway.deps import Ops, RuntimeDep, SessionDep
from gateway.routes.video_diagnosis import on_camera
from gateway.templating import templates
from govops.errors import GovopsError, NotFound
from govops.principal import OPS_ENGINEER, Principal
from video.patrol import ondemand, queries
from video.patrol.ledger import FAULT_NAMES

router = APIRouter(include_in_schema=False)


@router.get("/video/faults", response_class=HTMLResponse)
def faults_page(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "video_faults.html",
        {
            "principal": principal,
            "items": queries.faults_now(session, principal),
            "rounds": queries.rounds(session, limit=5) if principal.has(OPS_ENGINEER) else [],
            "names": FAULT_NAMES,
        },
    )


# What the camera learned from a picture a person accepted as normal (ondemand.accept_normal).
LEARNED = {
    "hour": "已学习该时段亮度 brightness of this hour learned",
    "statistics": "已按此画面更新基准 baseline statistics re-taken",
    "commissioned": "已按此画面建档 commissioned on this picture",
}


def _back(camera_id: str, ok: bool, text: str) -> RedirectResponse:
    return RedirectResponse(f"/video/cameras/{camera_id}?{'msg' if ok else 'err'}={quote(text[:600])}", status_code=303)


async def _act(
    action: Callable[..., dict[str, Any]],
    camera_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Principal,
    failed: str,
    done: Callable[[dict[str, Any]], str],
) -> RedirectResponse:
    """Run an on-demand action and go back to the camera page saying what happened."""
    try:
        out = await on_camera(action, camera_id, session, runtime, principal)
    except NotFound:
        raise
    except GovopsError as exc:
        return _back(camera_id, False, f"{failed}: {exc.message}" + (f" — {exc.hint}" if exc.hint else ""))
    return _back(camera_id, True, done(out))


def _diagnosed(out: dict[str, Any]) -> str:
    found = ", ".join(FAULT_NAMES.get(f["code"], f["code"]) for f in out["faults"]) or "正常 no fault"
    return f"诊断完成 diagnosed: {found}" + (f" ({out['error']})" if out.get("error") else "")


def _accepted(out: dict[str, Any]) -> str:
    accepted = ", ".join(FAULT_NAMES.get(c, c) for c in out["accepted"])
    return f"已确认误报 accepted as normal: {accepted} — {LEARNED.get(out['learned'], out['learned'])}"


@router.post("/video/cameras/{camera_id}/diagnose")
async def diagnose(camera_id: str, session: SessionDep, runtime: RuntimeDep, principal: Operator) -> RedirectResponse:
    return await _act(
        ondemand.diagnose_now, camera_id, session, runtime, principal, "诊断失败 diagnosis failed", _diagnosed
    )


@router.post("/video/cameras/{camera_id}/reference")
async def reference(
    camera_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Ops,
    plain_is_view: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    return await _act(
        partial(ondemand.refresh_reference, plain_is_view=plain_is_view),
        camera_id,
        session,
        runtime,
        principal,
        "参考图未更新 reference not taken",
        lambda out: (
            "参考图已更新 reference picture taken"
            + ("（已确认平坦区域是场景本身 the plain region vouched as the view）" if out.get("vouched") else "")
        ),
    )


@router.post("/video/cameras/{camera_id}/accept")
async def accept_normal(camera_id: str, session: SessionDep, runtime: RuntimeDep, principal: Ops) -> RedirectResponse:
    return await _act(ondemand.accept_normal, camera_id, session, runtime, principal, "未确认 not accepted", _accepted)
