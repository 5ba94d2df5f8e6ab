"""Faults a camera reports itself, over ONVIF events (a PullPoint subscription).

Many cameras run their own image analytics and publish the result as property events:
ImageTooBlurry, ImageTooDark, ImageTooBright and GlobalSceneChange (tns1:VideoSource/…) and Tamper
(tns1:RuleEngine/TamperDetector/Tamper). A property event is sent with PropertyOperation
"Initialized" to every new subscription, so subscribing, pulling once and unsubscribing reads
the camera's current view of itself; the patrol does that once a round.

Every answer passes the same guarded transport as onboarding (size cap, no DTD or entities).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable
from typing import Any

from video.onvif.address import DeviceAddress
from video.onvif.errors import DeviceError
from video.onvif.transport import GuardedCamera, classify

# The last topic segment that names the fault (before the optional service suffix) → fault code.
TOPIC_CODES = {
    "ImageTooBlurry": "blur",
    "ImageTooDark": "too_dark",
    "ImageTooBright": "too_bright",
    "GlobalSceneChange": "scene_change",
    "Tamper": "occlusion",
}
STATE_ITEMS = ("State", "IsTamper", "IsTooBlurry", "IsTooDark", "IsTooBright", "IsGlobalSceneChange")
MAX_MESSAGES = 100


def topic_code(topic: str) -> str | None:
    """`tns1:VideoSource/ImageTooBlurry/AnalyticsService` → 'blur'; None for other topics."""
    parts = [p.rpartition(":")[2] for p in topic.strip().split("/")]
    return next((TOPIC_CODES[p] for p in parts if p in TOPIC_CODES), None)


def _items(node: Any) -> list[tuple[str, str]]:
    items = getattr(node, "SimpleItem", None) or []
    return [(str(getattr(i, "Name", "")), str(getattr(i, "Value", ""))) for i in items[:20]]


def parse_notifications(answer: Any) -> dict[str, bool]:
    """{fault code: active} from a PullMessages answer; the latest message of a code wins.
    Messages of other topics, or that carry no boolean state, are ignored."""
    states: dict[str, bool] = {}
    for msg in (getattr(answer, "NotificationMessage", None) or [])[:MAX_MESSAGES]:
        topic = getattr(getattr(msg, "Topic", None), "_value_1", None)
        code = topic_code(topic) if isinstance(topic, str) else None
        body = getattr(getattr(msg, "Message", None), "_value_1", None)
        if code is None or body is None:
            continue
        for name, value in _items(getattr(body, "Data", None)):
            if name in STATE_ITEMS and value.lower() in ("true", "false", "1", "0"):
                states[code] = value.lower() in ("true", "1")
                break
    return states


async def camera_fault_states(
    address: str,
    user: str | None,
    password: str | None,
    *,
    request_timeout_s: float = 8.0,
    wait_s: float = 1.0,
    allowed_hosts: Iterable[str] = (),
) -> dict[str, bool]:
    """Subscribe, pull the initial property states, unsubscribe. Raises DeviceError."""
    cam = GuardedCamera(
        DeviceAddress.parse(address), user, password, timeout_s=request_timeout_s, allowed_hosts=allowed_hosts
    )
    step = "events.subscribe"
    try:
        await cam.update_xaddrs()
        manager = await cam.create_pullpoint_manager(dt.timedelta(seconds=60), lambda: None)
        try:
            step = "events.pull"
            answer = await manager.get_service().PullMessages(
                {"MessageLimit": MAX_MESSAGES, "Timeout": dt.timedelta(seconds=wait_s)}
            )
        finally:
            # Unsubscribe; a device that cannot lets the subscription expire within a minute.
            with contextlib.suppress(Exception):
                await manager.shutdown()
        return parse_notifications(answer)
    except DeviceError as err:
        raise err.at(step) from None
    except Exception as exc:
        raise classify(exc, step) from None
    finally:
        await cam.close()
