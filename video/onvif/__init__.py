"""The ONVIF adapter: the one module family that talks to onvif-zeep-async (and WS-Discovery).

The rest of govops uses only what is exported here. A vendor adapter (a camera family that speaks
something other than ONVIF) implements `CameraAdapter` (video/onvif/adapter.py); what is not in
that Protocol is not API. The device service that the front doors call (video/onvif/service.py:
discover, onboard, probe, PTZ, each audited) reaches devices only through that contract, with
`OnvifAdapter` as the one implementation today.

    address.py     where a device is; the origin guard; URLs without credentials
    models.py      what onboarding learnt (DeviceFacts, StreamProfile)
    answers.py     validation of every value a device sends
    inspection.py  onboarding one device, one method per setup step (Home Assistant's order)
    onboarding.py  many devices at once, bounded, one result each
    ptz.py         PTZ commands; events.py the camera's own fault events
    transport.py   the guarded SOAP transport; xmlsafe.py the XML screening; discovery.py WS-Discovery

    result = await discovery.probe(targets=["10.1.2.0/28"], timeout_s=2)
    results = await inspect_many([d.xaddrs[0] for d in result.devices], Credentials(u, p))
    async with ptz_control(cam.onvif_address, user, password, token) as ptz:
        await ptz.continuous_move(0.5, 0)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from video.onvif.adapter import CameraAdapter, OnvifAdapter
    from video.onvif.address import DeviceAddress, strip_credentials, with_credentials
    from video.onvif.discovery import (
        DiscoveredDevice,
        DiscoveryResult,
        expand_endpoints,
        expand_targets,
        probe,
    )
    from video.onvif.errors import DeviceError
    from video.onvif.inspection import inspect_device
    from video.onvif.maintenance import system_reboot
    from video.onvif.models import DeviceFacts, StreamProfile
    from video.onvif.onboarding import Credentials, OnboardResult, inspect_many
    from video.onvif.ptz import PtzControl, ptz_control

__all__ = [
    "CameraAdapter",
    "Credentials",
    "DeviceAddress",
    "DeviceError",
    "DeviceFacts",
    "DiscoveredDevice",
    "DiscoveryResult",
    "OnboardResult",
    "OnvifAdapter",
    "PtzControl",
    "StreamProfile",
    "expand_endpoints",
    "expand_targets",
    "inspect_device",
    "inspect_many",
    "probe",
    "ptz_control",
    "strip_credentials",
    "system_reboot",
    "with_credentials",
]

# Where each name lives. The package loads them on first use (PEP 562), so that importing a
# light module such as video.onvif.errors does not load aiohttp, zeep and onvif.
_HOME = {
    "CameraAdapter": "adapter",
    "OnvifAdapter": "adapter",
    "DeviceAddress": "address",
    "strip_credentials": "address",
    "with_credentials": "address",
    "DiscoveredDevice": "discovery",
    "DiscoveryResult": "discovery",
    "expand_endpoints": "discovery",
    "expand_targets": "discovery",
    "probe": "discovery",
    "DeviceError": "errors",
    "inspect_device": "inspection",
    "DeviceFacts": "models",
    "StreamProfile": "models",
    "Credentials": "onboarding",
    "OnboardResult": "onboarding",
    "inspect_many": "onboarding",
    "PtzControl": "ptz",
    "ptz_control": "ptz",
    "system_reboot": "maintenance",
}
assert set(_HOME) == set(__all__)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
