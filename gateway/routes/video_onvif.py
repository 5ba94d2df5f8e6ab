"""Discovery, onboarding and probing of ONVIF devices (ops-engineer only).

Each device gets its own result; one failing device never fails the request. Passwords are
taken in the body, encrypted at rest and never echoed back.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field, SecretStr

from gateway.deps import Ops, RuntimeDep, SessionDep
from gateway.http.params import RequestBody
from video.catalogue.registry import Placement
from video.onvif import service as device_service

router = APIRouter(prefix="/api/video", tags=["video"])
MAX_TARGETS = 1024


class DiscoverRequest(RequestBody):
    targets: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="hosts, CIDR ranges (10.1.2.0/28) or from-to ranges, "
        "each optionally with :port or :from-to ports (default 3702)",
    )
    multicast: bool = False
    interface: str | None = Field(default=None, description="local IPv4 address to send from")
    timeout_s: float = Field(default=2.0, gt=0, le=30)


class OnboardRequest(RequestBody):
    targets: list[str] = Field(
        min_length=1, max_length=MAX_TARGETS, description="host:port or device service URLs (XAddrs)"
    )
    username: str | None = Field(default=None, max_length=100)
    password: SecretStr | None = None
    department: str = Field(max_length=50)
    area: str | None = Field(default=None, max_length=20)
    group: str | None = Field(default=None, pattern=r"^[0-9]{20}$")
    key_place: bool = False
    concurrency: int | None = Field(default=None, ge=1, le=512)
    timeout_s: float | None = Field(default=None, gt=0, le=600)
    allow_hosts: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="HOST[:PORT] other than the device's own it may send the platform to (an NVR's media server)",
    )


class ProbeRequest(RequestBody):
    cameras: list[str] = Field(
        default_factory=list, max_length=MAX_TARGETS, description="camera IDs; empty means every ONVIF camera"
    )


@router.post("/discover")
def discover(body: DiscoverRequest, _: Ops) -> dict[str, Any]:
    """WS-Discovery Probe: unicast to the targets and/or multicast out of `interface`."""
    return device_service.discover(
        body.targets, multicast=body.multicast, interface=body.interface, timeout_s=body.timeout_s
    )


@router.post("/onboard")
def onboard(body: OnboardRequest, session: SessionDep, runtime: RuntimeDep, principal: Ops) -> dict[str, Any]:
    placement = Placement(department=body.department, area=body.area, group=body.group, key_place=body.key_place)
    return device_service.onboard(
        session,
        body.targets,
        user=body.username,
        password=body.password.get_secret_value() if body.password else None,
        placement=placement,
        box=runtime.box,
        settings=runtime.video,
        actor=principal.subject,
        concurrency=body.concurrency,
        device_timeout_s=body.timeout_s,
        allow_hosts=body.allow_hosts,
    )


@router.post("/probe")
def probe(body: ProbeRequest, session: SessionDep, runtime: RuntimeDep, _: Ops) -> dict[str, Any]:
    """Check that catalogue cameras answer and refresh their status (在线率 comes from this)."""
    return device_service.probe_catalogue(session, runtime.box, runtime.video, camera_ids=body.cameras)
