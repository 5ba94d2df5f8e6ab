"""Placing or describing a camera by hand (name, area, group, position, flags), audited.

One use case for the API route and the CLI command alike: both translate their input into
`changes` and their output from `CameraUpdate`, nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from govops import audit
from govops.errors import ValidationFailed
from govops.principal import Principal
from video.catalogue.models import AdminArea, Camera
from video.catalogue.queries import get_camera
from video.catalogue.readers import parse_float, parse_text
from video.catalogue.tree import check_camera_group

# The fields a person may set, and the column each one is.
EDITABLE = {
    "name": "name",
    "area": "area_code",
    "group": "group_id",
    "key_place": "key_place",
    "networked": "networked",
    "install_address": "install_address",
    "lat": "lat",
    "lon": "lon",
}


@dataclass(frozen=True)
class CameraUpdate:
    camera: Camera
    changes: dict[str, Any]  # field → new value, as given


def _check(session: Session, field: str, value: Any) -> Any:
    if field == "name":
        return parse_text(value, "name", 200, required=True)
    if field == "install_address":
        return parse_text(value, "install_address", 300)
    if field == "area":
        if value and session.get(AdminArea, value) is None:
            raise ValidationFailed(f"admin area {str(value)[:40]} does not exist", hint="see `govops video kpi`")
        return value or None
    if field == "group":
        check_camera_group(session, value)
        return value or None
    if field in ("lat", "lon"):
        return parse_float(value, field, -90 if field == "lat" else -180, 90 if field == "lat" else 180)
    if not isinstance(value, bool):
        raise ValidationFailed(f"{field} must be true or false")
    return value


def update_camera(
    session: Session, principal: Principal, camera_id: str, changes: Mapping[str, Any], *, actor: str
) -> CameraUpdate:
    """Apply `changes` to a camera the principal may see; every value is checked before any is
    set, so a bad one changes nothing. The change is audited."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(f"cannot edit {', '.join(sorted(unknown))}", hint=f"editable: {', '.join(EDITABLE)}")
    if not changes:  # not an edit: no audit record of nothing
        raise ValidationFailed("nothing to change", hint=f"give at least one of: {', '.join(EDITABLE)}")
    cam = get_camera(session, principal, camera_id)
    checked = {field: _check(session, field, value) for field, value in changes.items()}
    for field, value in checked.items():
        setattr(cam, EDITABLE[field], value)
    audit.append(session, actor=actor, action="video.camera.update", target=cam.id, detail=dict(checked))
    return CameraUpdate(cam, checked)
