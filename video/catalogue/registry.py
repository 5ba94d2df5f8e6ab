"""Cameras entering and changing in the catalogue: from onboarding and from probes.

A device is matched to an existing camera by MAC, then by manufacturer + serial number (Home
Assistant's identity rule); a new one gets the next free GB/T 28181 code of the district. The
password goes in encrypted with the SecretBox; it is never logged, audited or returned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import NotFound, ValidationFailed
from govops.org import Department
from govops.secretbox import SecretBox
from video import gbt28181
from video.catalogue.models import AdminArea, Camera
from video.catalogue.settings import VideoSettings
from video.catalogue.tree import check_camera_group

if TYPE_CHECKING:  # the ONVIF stack (aiohttp, zeep) loads only where devices are talked to
    from video.onvif import DeviceFacts, OnboardResult


@dataclass(frozen=True)
class Placement:
    """Where onboarded cameras go in the catalogue."""

    department: str
    area: str | None = None
    group: str | None = None
    key_place: bool = False
    name_prefix: str | None = None

    def check(self, session: Session) -> None:
        if session.get(Department, self.department) is None:
            raise ValidationFailed(
                f"department {self.department!r} does not exist",
                hint="departments come from the organisation list (govops.org)",
            )
        if self.area and session.get(AdminArea, self.area) is None:
            raise ValidationFailed(f"admin area {self.area!r} does not exist")
        check_camera_group(session, self.group)


def next_camera_id(session: Session, settings: VideoSettings, division: str | None = None) -> str:
    prefix = gbt28181.make(
        division or settings.division, 0, type_code="132", industry=settings.industry, network=settings.network
    )[:14]
    top = session.scalar(
        select(func.max(Camera.id)).where(Camera.id >= prefix + "000000", Camera.id <= prefix + "999999")
    )
    serial = int(top[14:]) + 1 if top else 1
    if serial > 999_999:
        raise ValidationFailed(f"no free GB/T 28181 serial left under {prefix}")
    return prefix + f"{serial:06d}"


def find_by_identity(session: Session, facts: DeviceFacts) -> Camera | None:
    if facts.mac:
        cam = session.scalar(select(Camera).where(Camera.mac == facts.mac))
        if cam is not None:
            return cam
    if facts.serial:
        return session.scalar(
            select(Camera)
            .where(Camera.serial_number == facts.serial, Camera.manufacturer == facts.manufacturer)
            .limit(1)
        )
    return None


def _profiles_json(facts: DeviceFacts) -> list[dict[str, Any]]:
    return [
        {
            "token": p.token,
            "name": p.name,
            "encoding": p.encoding,
            "width": p.width,
            "height": p.height,
            "fps": p.fps,
            "bitrate_kbps": p.bitrate_kbps,
            "stream_uri": p.stream_uri,
            "snapshot_uri": p.snapshot_uri,
            "ptz": p.ptz,
        }
        for p in facts.profiles
    ]


def _area_division(session: Session, area: str | None) -> str | None:
    code = area
    while code:
        if len(code) >= 6 and code[:6].isdigit():
            return code[:6]
        parent = session.get(AdminArea, code)
        code = parent.parent_code if parent else None
    return None


def save_onboarded(
    session: Session,
    results: Iterable[OnboardResult],
    *,
    placement: Placement,
    user: str | None,
    password: str | None,
    box: SecretBox,
    settings: VideoSettings,
    actor: str,
    names: dict[str, str] | None = None,
    allowed_hosts: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Create or update a camera per successful result; mark known cameras of failed targets.

    Returns one summary per result: {"target", "ok", "camera", "action", "error"?}; a target is
    never summarised, audited or stored with a user:password@ in it. `allowed_hosts` (hosts
    other than its own the device may send us to) is kept in the camera's capabilities."""
    from video.onvif.address import strip_credentials

    placement.check(session)
    now = datetime.now(UTC)
    password_enc = box.encrypt(password) if password else None
    division = _area_division(session, placement.area)
    summaries: list[dict[str, Any]] = []
    for r in results:
        if r.facts is None:
            assert r.error is not None
            summary: dict[str, Any] = {
                "target": strip_credentials(r.target),
                "ok": False,
                "camera": None,
                "action": "failed",
                "error": r.error.as_dict(),
            }
            known = session.scalar(select(Camera).where(Camera.onvif_address.in_(_address_forms(r.target))))
            if known is not None:
                known.last_error = f"{r.error.step}: {r.error.message}"[:500]
                if r.error.kind in ("unreachable", "timeout"):
                    known.status = "offline"
                summary["camera"] = known.id
            summaries.append(summary)
            continue
        facts = r.facts
        cam = find_by_identity(session, facts)
        created = cam is None
        main = facts.main_profile
        if cam is None:
            cam = Camera(
                id=next_camera_id(session, settings, division),
                name=(
                    (names or {}).get(r.target)
                    or f"{placement.name_prefix or ''}{facts.manufacturer} {facts.model} {facts.serial or ''}"
                ).strip()[:200],
                department_code=placement.department,
                area_code=placement.area,
                group_id=placement.group,
                key_place=placement.key_place,
                networked=True,
                created_at=now,
                presets=[],
                picture_fault=False,
            )
            session.add(cam)
        cam.onvif_address = facts.address
        cam.mac = facts.mac or cam.mac
        cam.serial_number = facts.serial
        cam.manufacturer, cam.model, cam.firmware = facts.manufacturer, facts.model, facts.firmware
        cam.profiles = _profiles_json(facts)
        cam.stream_url = main.stream_uri if main else None
        cam.snapshot_url = (
            main.snapshot_uri
            if main and main.snapshot_uri
            else next((p.snapshot_uri for p in facts.profiles if p.snapshot_uri), None)
        )
        cam.capabilities = dict(facts.capabilities)
        if allowed_hosts:
            cam.capabilities["allowed_hosts"] = list(allowed_hosts)
        cam.clock_skew_s = facts.clock_skew_s
        cam.status, cam.last_seen, cam.onboarded_at, cam.last_error = "online", now, now, None
        if user is not None:
            cam.username = user
            cam.password_enc = password_enc
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="video.camera.onboard" if created else "video.camera.reonboard",
            target=cam.id,
            detail={
                "identity": facts.identity,
                "address": facts.address,
                "manufacturer": facts.manufacturer,
                "model": facts.model,
                "warnings": len(facts.warnings),
            },
        )
        summaries.append(
            {
                "target": strip_credentials(r.target),
                "ok": True,
                "camera": cam.id,
                "action": "created" if created else "updated",
                "identity": facts.identity,
                "warnings": facts.warnings,
            }
        )
    failed = sum(1 for s in summaries if not s["ok"])
    if failed:
        audit.append(
            session,
            actor=actor,
            action="video.onboard.failures",
            target=placement.department,
            result="failure",
            detail={
                "failed": failed,
                "targets": [
                    {"target": s["target"], "kind": s["error"]["kind"], "step": s["error"].get("step")}
                    for s in summaries
                    if not s["ok"]
                ][:200],
            },
        )
    return summaries


def _address_forms(target: str) -> list[str]:
    from video.onvif import DeviceAddress, DeviceError

    try:
        return [target, DeviceAddress.parse(target).url]
    except DeviceError:
        return [target]


def record_probe(session: Session, results: Iterable[OnboardResult]) -> list[dict[str, Any]]:
    """Refresh status of catalogue cameras from a probe run (在线率 comes from here)."""
    now = datetime.now(UTC)
    out = []
    for r in results:
        cam = session.scalar(select(Camera).where(Camera.onvif_address.in_(_address_forms(r.target))))
        if cam is None:
            continue
        if r.facts is not None:
            if cam.status in ("offline", "unknown"):
                cam.status = "online"
            cam.last_seen, cam.last_error = now, None
            cam.clock_skew_s = r.facts.clock_skew_s
        else:
            assert r.error is not None
            cam.last_error = f"{r.error.step}: {r.error.message}"[:500]
            if r.error.kind in ("unreachable", "timeout", "auth"):
                cam.status = "offline"
        out.append({"camera": cam.id, "status": cam.status})
    return out


def get_credentials(cam: Camera, box: SecretBox) -> tuple[str | None, str | None]:
    return cam.username, (box.decrypt(cam.password_enc) if cam.password_enc else None)


def require_onvif(cam: Camera) -> str:
    if not cam.onvif_address:
        raise NotFound(
            f"camera {cam.id} was not onboarded through ONVIF; it has no control address",
            hint="onboard it with `govops video onboard`",
        )
    return cam.onvif_address
