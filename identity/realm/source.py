"""Where the spec comes from: the kernel's department table plus an optional YAML overlay."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from govops.errors import ValidationFailed
from govops.inputs import read_text
from identity.realm.spec import BreakGlassAccount, DepartmentSource, RealmSpec, build_spec

SHARE_PLATFORMS = {"zongzhi": "综治视联网平台", "gongan": "公安视频图像信息平台"}  # the "2" of 1+2+X


def spec_from_settings(settings: Any, session: Any, overlay: Mapping[str, Any] | None = None) -> RealmSpec:
    """The realm the platform needs: departments from the kernel's department table, sections,
    platforms and break-glass accounts from an optional YAML overlay (see `load_overlay`)."""
    from sqlalchemy import select

    from govops.org import Department

    overlay = overlay or {}
    sections: dict[str, tuple[tuple[str, str], ...]] = {}
    extra: dict[str, str] = {}
    for d in overlay.get("departments") or []:
        sections[str(d["code"])] = tuple(
            (str(s["code"]), str(s.get("name", s["code"]))) for s in d.get("sections") or []
        )
        extra[str(d["code"])] = str(d.get("name", d["code"]))
    departments = [
        DepartmentSource(d.code, d.name, d.sso_group, sections.get(d.code, ()))
        for d in session.scalars(select(Department).order_by(Department.code))
    ]
    missing = sorted(set(extra) - {d.code for d in departments})
    if missing:
        raise ValidationFailed(
            f"the realm file names unknown department(s): {', '.join(missing)}",
            hint="add them with a directory import first",
        )
    district = overlay.get("district") or {}
    public = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    from identity.pki import CRL_PATH

    break_glass = None
    if "break_glass" in overlay:
        break_glass = [
            BreakGlassAccount(
                str(b["username"]), str(b.get("name", b["username"])), [str(r) for r in b.get("roles", [])]
            )
            for b in overlay.get("break_glass") or []
        ]
    return build_spec(
        realm=settings.keycloak_realm,
        departments=departments,
        # Keycloak fetches the CRL from the gateway: revocation is always checked.
        crl_url=f"{public}{CRL_PATH}",
        gateway_redirect_uris=[f"{public}/login/callback"],
        district_name=district.get("name"),
        platforms=overlay.get("platforms", SHARE_PLATFORMS),
        break_glass=break_glass,
    )


def load_overlay(path: Path) -> dict[str, Any]:
    """A YAML file naming the district, sections, platforms and break-glass accounts:

    district: {code: "310116", name: 上海市金山区}
    departments: [{code: gaj, name: 金山公安分局, sections: [{code: zhian, name: 治安支队}]}]
    platforms: {zongzhi: 综治视联网平台, gongan: 公安视频图像信息平台}
    break_glass: [{username: breakglass-ops, name: 应急运维账号, roles: [ops-engineer]}]
    """
    text = read_text(path, "a realm file")
    try:
        data = yaml.safe_load(text) or {}
    except (yaml.YAMLError, RecursionError) as exc:
        raise ValidationFailed(
            f"cannot read realm file {path}: {exc}", hint="give a YAML file (see `govops identity diff --help`)"
        ) from None
    if not isinstance(data, dict):
        raise ValidationFailed(f"realm file {path} is not a mapping")
    return data
