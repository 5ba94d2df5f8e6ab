"""Services that join the ONVIF adapter and the catalogue, for the API, console and CLI alike.

The adapter is async; the front doors call these from worker threads (FastAPI's sync routes,
the CLI), so each call runs its own short event loop. Every device command is audited, and a
failed one too: the failure is recorded and then handed back, not raised, so the audit record
commits with the caller's transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import Conflict, ValidationFailed
from govops.secretbox import SecretBox
from video.catalogue.models import Camera
from video.catalogue.registry import Placement, get_credentials, record_probe, require_onvif, save_onboarded
from video.catalogue.settings import VideoSettings

T = TypeVar("T")
PTZ_ACTIONS = ("move", "stop", "goto_preset", "set_preset", "presets")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def discover(targets: Sequence[str], *, multicast: bool, interface: str | None, timeout_s: float) -> dict[str, Any]:
    from video.onvif import probe

    return run(probe(targets=list(targets), multicast=multicast, interface=interface, timeout_s=timeout_s)).as_dict()


def inspect(
    targets: Sequence[str],
    user: str | None,
    password: str | None,
    settings: VideoSettings,
    *,
    concurrency: int | None = None,
    device_timeout_s: float | None = None,
    on_result: Callable[[Any], None] | None = None,
) -> list[Any]:
    from video.onvif import Credentials, inspect_many

    if not targets:
        raise ValidationFailed("no device to onboard or probe", hint="give addresses or run discover")
    return run(
        inspect_many(
            list(targets),
            Credentials(user, password),
            concurrency=concurrency or settings.onboard_concurrency,
            device_timeout_s=device_timeout_s or settings.onboard_timeout_s,
            request_timeout_s=settings.request_timeout_s,
            on_result=on_result,
        )
    )


def onboard(
    session: Session,
    targets: Sequence[str],
    *,
    user: str | None,
    password: str | None,
    placement: Placement,
    box: SecretBox,
    settings: VideoSettings,
    actor: str,
    concurrency: int | None = None,
    device_timeout_s: float | None = None,
    on_result: Callable[[Any], None] | None = None,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Inspect the devices, then store them; `names` (target → name, e.g. from discovery
    scopes) names new cameras."""
    placement.check(session)  # fail fast, before talking to any device
    results = inspect(
        targets,
        user,
        password,
        settings,
        concurrency=concurrency,
        device_timeout_s=device_timeout_s,
        on_result=on_result,
    )
    summaries = save_onboarded(
        session,
        results,
        placement=placement,
        user=user,
        password=password,
        box=box,
        settings=settings,
        actor=actor,
        names=names,
    )
    by_target = {r.target: r for r in results}
    for s in summaries:
        r = by_target.get(s["target"])
        if r is not None:
            s["elapsed_ms"] = round(r.elapsed_ms, 1)
    return {
        "total": len(summaries),
        "onboarded": sum(1 for s in summaries if s["ok"]),
        "failed": sum(1 for s in summaries if not s["ok"]),
        "results": summaries,
    }


def probe_catalogue(
    session: Session,
    box: SecretBox,
    settings: VideoSettings,
    *,
    camera_ids: Sequence[str] | None = None,
    on_result: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Check every ONVIF camera (or the given ones) answers; refresh its status."""
    stmt = select(Camera).where(Camera.onvif_address.is_not(None))
    if camera_ids:
        stmt = stmt.where(Camera.id.in_(list(camera_ids)))
    cams = list(session.scalars(stmt))
    from video.onvif import Credentials, inspect_many

    creds = {c.onvif_address: Credentials(*get_credentials(c, box)) for c in cams if c.onvif_address}
    results = run(
        inspect_many(
            list(creds),
            lambda t: creds[t],
            concurrency=settings.onboard_concurrency,
            device_timeout_s=settings.onboard_timeout_s,
            request_timeout_s=settings.request_timeout_s,
            on_result=on_result,
        )
    )
    changes = record_probe(session, results)
    return {
        "probed": len(results),
        "online": sum(1 for r in results if r.ok),
        "results": [
            r.as_dict() | {"camera": c["camera"], "status": c["status"]} for r, c in zip(results, changes, strict=False)
        ],
    }


def ptz_profile(cam: Camera) -> str:
    if not (cam.capabilities or {}).get("ptz"):
        raise Conflict(f"camera {cam.id} has no PTZ (onboarding found none)", hint="re-onboard it if PTZ was added")
    for p in cam.profiles or []:
        if p.get("ptz"):
            return str(p["token"])
    if cam.profiles:
        return str(cam.profiles[0]["token"])
    raise Conflict(f"camera {cam.id} has no media profile to steer")


def ptz(
    session: Session,
    cam: Camera,
    *,
    action: str,
    actor: str,
    box: SecretBox,
    settings: VideoSettings,
    pan: float = 0.0,
    tilt: float = 0.0,
    zoom: float = 0.0,
    timeout_s: float = 5.0,
    preset: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """One PTZ command. Returns {"ok": True, ...} or {"ok": False, "error": {...}}; audited."""
    from video.onvif import DeviceError, ptz_control

    if action not in PTZ_ACTIONS:
        raise ValidationFailed(f"PTZ action must be one of {', '.join(PTZ_ACTIONS)}")
    address = require_onvif(cam)
    profile = ptz_profile(cam)
    if action == "goto_preset" and not preset:
        raise ValidationFailed("goto_preset needs a preset token")
    if action == "set_preset":
        name = (name or "").strip()
        if not name or len(name) > 64:
            raise ValidationFailed("a preset name must be 1-64 characters")
    user, password = get_credentials(cam, box)

    async def command() -> dict[str, Any]:
        async with ptz_control(
            address, user, password, profile, request_timeout_s=settings.request_timeout_s
        ) as control:
            if action == "move":
                await control.continuous_move(pan, tilt, zoom, timeout_s)
                return {"pan": pan, "tilt": tilt, "zoom": zoom, "timeout_s": timeout_s}
            if action == "stop":
                await control.stop()
                return {}
            if action == "goto_preset":
                await control.goto_preset(preset or "")
                return {"preset": preset}
            if action == "set_preset":
                token = await control.set_preset(name or "")
                return {"preset": token, "name": name}
            try:
                found = await control.presets()
            except DeviceError:
                found = []  # fall back on the presets set through govops
            known = {p["token"]: p for p in (cam.presets or [])}
            known.update({p["token"]: p for p in found})
            return {"presets": list(known.values())}

    try:
        detail = run(command())
    except DeviceError as err:
        if action != "presets":
            audit.append(
                session,
                actor=actor,
                action=f"video.ptz.{action}",
                target=cam.id,
                result="failure",
                detail={"kind": err.kind, "step": err.step, "message": err.message[:200]},
            )
        return {"ok": False, "camera": cam.id, "action": action, "error": err.as_dict()}
    if action == "set_preset":
        kept = [p for p in (cam.presets or []) if p.get("token") != detail["preset"]]
        cam.presets = [*kept, {"token": detail["preset"], "name": name}]
    if action != "presets":
        audit.append(session, actor=actor, action=f"video.ptz.{action}", target=cam.id, detail=detail)
    return {"ok": True, "camera": cam.id, "action": action, **detail}
