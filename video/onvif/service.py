"""The device service: discovery, onboarding, probes and PTZ, joined to the catalogue.

The API, the console and the CLI call these functions; they reach devices only through the
`CameraAdapter` contract (video/onvif/adapter.py), `OnvifAdapter` unless a caller passes
another. The adapter is async; the front doors call these from worker threads (FastAPI's sync
routes, the CLI), so each call runs its own short event loop. Every device command is audited,
and a failed one too: the failure is recorded and then handed back, not raised, so the audit
record commits with the caller's transaction.

A device may send the platform only to its own host and port; `allow_hosts` (stored with the
camera) names the other hosts an operator allowed for it, e.g. a media server of an NVR.
Credentials in a target address are refused: an address ends up in logs and the audit log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govops import audit
from govops.alerts import raise_alert, resolve_alert
from govops.errors import Conflict, ValidationFailed
from govops.secretbox import SecretBox
from video.catalogue.models import Camera
from video.catalogue.registry import Placement, get_credentials, record_probe, require_onvif, save_onboarded
from video.catalogue.settings import VideoSettings

if TYPE_CHECKING:  # aiohttp and zeep load only when a device is talked to
    from video.onvif.adapter import CameraAdapter
    from video.onvif.onboarding import Credentials

T = TypeVar("T")
PTZ_ACTIONS = ("move", "stop", "goto_preset", "set_preset", "presets")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def default_adapter(settings: VideoSettings | None = None) -> CameraAdapter:
    from video.onvif.adapter import OnvifAdapter

    return OnvifAdapter(settings.request_timeout_s if settings else 8.0)


def camera_credentials(cam: Camera, box: SecretBox) -> Credentials:
    """A camera's user, password and allowed hosts, for one command."""
    from video.onvif.onboarding import Credentials

    user, password = get_credentials(cam, box)
    return Credentials(user, password, tuple((cam.capabilities or {}).get("allowed_hosts") or ()))


def check_targets(targets: Sequence[str]) -> list[str]:
    """The targets, refusing any with a user:password@ in it (never echoed back)."""
    from urllib.parse import urlsplit

    out = []
    for n, t in enumerate(targets, start=1):
        try:
            netloc = urlsplit(t if "://" in t else f"http://{t}").netloc
        except ValueError:
            netloc = ""
        if "@" in netloc:
            raise ValidationFailed(
                f"target {n} carries a user:password@ in its address; refused",
                hint="give the user with --user and the password from $GOVOPS_CAMERA_PASSWORD",
            )
        out.append(t)
    return out


def check_allowed_hosts(hosts: Sequence[str]) -> tuple[str, ...]:
    from video.onvif.address import normalise_origin
    from video.onvif.errors import DeviceError

    try:
        return tuple(dict.fromkeys(normalise_origin(h) for h in hosts))
    except DeviceError as exc:
        raise ValidationFailed(exc.message, hint="e.g. --allow-host 10.1.2.8:554") from None


def onvif_camera_count(session: Session) -> int:
    """How many catalogue cameras were onboarded through ONVIF (what `probe --catalogue` checks)."""
    return session.scalar(select(func.count()).where(Camera.onvif_address.is_not(None))) or 0


def discover(
    targets: Sequence[str],
    *,
    multicast: bool,
    interface: str | None,
    timeout_s: float,
    adapter: CameraAdapter | None = None,
) -> dict[str, Any]:
    adapter = adapter or default_adapter()
    found = run(adapter.discover(list(targets), multicast=multicast, interface=interface, timeout_s=timeout_s))
    return found.as_dict()


def inspect(
    targets: Sequence[str],
    user: str | None,
    password: str | None,
    settings: VideoSettings,
    *,
    concurrency: int | None = None,
    device_timeout_s: float | None = None,
    on_result: Callable[[Any], None] | None = None,
    allow_hosts: Sequence[str] = (),
    adapter: CameraAdapter | None = None,
) -> list[Any]:
    from video.onvif.onboarding import Credentials

    if not targets:
        raise ValidationFailed("no device to onboard or probe", hint="give addresses or run discover")
    targets = check_targets(targets)
    adapter = adapter or default_adapter(settings)
    return run(
        adapter.onboard(
            list(targets),
            Credentials(user, password, check_allowed_hosts(allow_hosts)),
            concurrency=concurrency or settings.onboard_concurrency,
            device_timeout_s=device_timeout_s or settings.onboard_timeout_s,
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
    allow_hosts: Sequence[str] = (),
    adapter: CameraAdapter | None = None,
) -> dict[str, Any]:
    """Inspect the devices, then store them; `names` (target → name, e.g. from discovery
    scopes) names new cameras."""
    placement.check(session)  # fail fast, before talking to any device
    allowed = check_allowed_hosts(allow_hosts)
    results = inspect(
        targets,
        user,
        password,
        settings,
        concurrency=concurrency,
        device_timeout_s=device_timeout_s,
        on_result=on_result,
        allow_hosts=allowed,
        adapter=adapter,
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
        allowed_hosts=allowed,
    )
    by_target = {r.target: r for r in results}
    for s in summaries:
        r = by_target.get(s["target"])
        if r is not None:
            s["elapsed_ms"] = round(r.elapsed_ms, 1)
    _onboarding_alerts(session, summaries, placement)
    return {
        "total": len(summaries),
        "onboarded": sum(1 for s in summaries if s["ok"]),
        "failed": sum(1 for s in summaries if not s["ok"]),
        "results": summaries,
    }


ONBOARDING_ALERT_SOURCE = "video.onboarding"


def _onboarding_alerts(session: Session, summaries: list[dict[str, Any]], placement: Placement) -> None:
    """A device that could not be onboarded lands in the alert inbox, scoped to the department and
    area it was meant for; onboarding it later resolves that alert."""
    for s in summaries:
        fingerprint = f"{ONBOARDING_ALERT_SOURCE}:{s['target']}"
        if s["ok"]:
            resolve_alert(session, fingerprint)
            continue
        error = s.get("error") or {}
        raise_alert(
            session,
            fingerprint=fingerprint,
            source=ONBOARDING_ALERT_SOURCE,
            summary=f"接入失败 onboarding failed: {s['target']}: {error.get('message', 'unknown error')}",
            labels={
                "alertname": "CameraOnboardingFailed",
                "target": s["target"],
                "camera": s.get("camera"),
                "department": placement.department,
                "area": placement.area,
                "step": error.get("step"),
            },
            runbook=error.get("hint") or "check the address and credentials, then `govops video onboard` again",
        )


def probe_catalogue(
    session: Session,
    box: SecretBox,
    settings: VideoSettings,
    *,
    camera_ids: Sequence[str] | None = None,
    on_result: Callable[[Any], None] | None = None,
    adapter: CameraAdapter | None = None,
) -> dict[str, Any]:
    """Check every ONVIF camera (or the given ones) answers; refresh its status."""
    stmt = select(Camera).where(Camera.onvif_address.is_not(None))
    if camera_ids:
        stmt = stmt.where(Camera.id.in_(list(camera_ids)))
    cams = list(session.scalars(stmt))
    creds = {c.onvif_address: camera_credentials(c, box) for c in cams if c.onvif_address}
    adapter = adapter or default_adapter(settings)
    results = run(
        adapter.onboard(
            list(creds),
            lambda t: creds[t],
            concurrency=settings.onboard_concurrency,
            device_timeout_s=settings.onboard_timeout_s,
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
    adapter: CameraAdapter | None = None,
) -> dict[str, Any]:
    """One PTZ command. Returns {"ok": True, ...} or {"ok": False, "error": {...}}; audited."""
    from video.onvif.errors import DeviceError

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
    creds = camera_credentials(cam, box)
    device = adapter or default_adapter(settings)

    async def command() -> dict[str, Any]:
        if action == "move":
            await device.ptz_move(address, creds, profile, pan, tilt, zoom, timeout_s)
            return {"pan": pan, "tilt": tilt, "zoom": zoom, "timeout_s": timeout_s}
        if action == "stop":
            await device.ptz_stop(address, creds, profile)
            return {}
        if action == "goto_preset":
            await device.ptz_goto_preset(address, creds, profile, preset or "")
            return {"preset": preset}
        if action == "set_preset":
            token = await device.ptz_set_preset(address, creds, profile, name or "")
            return {"preset": token, "name": name}
        try:
            found = await device.ptz_presets(address, creds, profile)
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
