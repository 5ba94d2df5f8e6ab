"""The embedded default's sample district: 上海市金山区 (GB/T 2260 310116).

A few departments, the admin-division tree (district → streets → communities → grids, with
GeoJSON polygons), the "1+2+X" platforms, eight sample cameras whose streams are short local
clips generated on first run, and two maintenance contractors (运维单位) that answer for the
streets, so a fault's work order has someone to go to. Loading is idempotent: an existing row is
left as it is, and the contractors come only into an empty list of contractors (one the operator
removed is not brought back while others remain).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govops import audit
from govops.org import Department
from monitoring.workorders.models import Contractor, ContractorArea
from video.catalogue.models import AdminArea, Camera, ShareGrant, SharePlatform
from video.clips import write_clip
from video.gbt28181 import make as gb_code

DISTRICT = ("310116", "上海市金山区")
DEPARTMENTS = [
    ("gaj", "金山公安分局", "视频专网"),
    ("zzb", "区委政法委综治办", "政务外网"),
    ("cgj", "区城管执法局", "政务外网"),
    ("xzspj", "区行政审批局", "互联网区"),
    ("dsjj", "区大数据中心", "政务外网"),
]
# street code, name, centre (lon, lat), communities
STREETS = [
    ("310116001", "石化街道", (121.340, 30.720), ["东村", "合浦"]),
    ("310116101", "朱泾镇", (121.170, 30.900), ["东林", "临源"]),
    ("310116109", "金山卫镇", (121.280, 30.750), ["城东", "八二"]),
]
PLATFORMS = [
    ("310116-master", "金山区视频共享交换平台", "master", None),
    ("zongzhi", "综治视联网平台", "sub", "310116-master"),
    ("gongan", "公安视频图像信息平台", "sub", "310116-master"),
    ("chengguan", "城管视频平台", "x", "310116-master"),
]
# name, department, grid index, key place, scene, shared to
CAMERAS = [
    ("卫零路与龙胜路口", "gaj", 0, True, "crossroad", ["gongan"]),
    ("石化街道东村广场", "zzb", 1, True, "plaza", ["zongzhi", "gongan"]),
    ("朱泾老街入口", "cgj", 4, False, "market", ["chengguan"]),
    ("东林社区大门", "zzb", 5, False, "gate", ["zongzhi"]),
    ("金山卫城东停车场", "cgj", 8, False, "parking", []),
    ("八二村河道", "dsjj", 10, False, "riverside", ["zongzhi"]),
    ("龙山路主干道", "gaj", 2, True, "road", ["gongan"]),
    ("朱泾公园", "cgj", 6, False, "park", ["zongzhi"]),
]
# code, name, streets it answers for (street code, key area: the shorter SLA)
CONTRACTORS = [
    ("jsyw-1", "金山区雪亮工程运维一标段", [("310116001", True), ("310116109", False)]),
    ("jsyw-2", "金山区雪亮工程运维二标段", [("310116101", False)]),
]
GRID_DEG = 0.01  # about 1.0 km × 1.1 km at this latitude
# Grids that are key public areas (重点公共区域); grid 9 has no camera yet, so the sample's
# key-place coverage shows a gap to close.
KEY_GRIDS = {0, 1, 2, 9}


def _square(lon: float, lat: float, size: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


def _km2(size_deg: float, lat: float) -> float:
    # The same measure the catalogue applies to imported polygons, so density agrees with them.
    from video.catalogue.tree import polygon_km2

    return polygon_km2(_square(0.0, lat, size_deg)) or 0.0


def areas() -> list[AdminArea]:
    out = [
        AdminArea(
            code=DISTRICT[0],
            name=DISTRICT[1],
            level="district",
            parent_code=None,
            geometry=_square(121.0, 30.68, 0.4),
            area_km2=586.05,
        )
    ]
    for street_code, street, (lon, lat), communities in STREETS:
        out.append(
            AdminArea(
                code=street_code,
                name=street,
                level="street",
                parent_code=DISTRICT[0],
                geometry=_square(lon, lat, 4 * GRID_DEG),
                area_km2=_km2(4 * GRID_DEG, lat),
            )
        )
        for ci, community in enumerate(communities):
            ccode = f"{street_code}{ci + 1:03d}"
            clon = lon + ci * 2 * GRID_DEG
            out.append(
                AdminArea(
                    code=ccode,
                    name=f"{community}社区",
                    level="community",
                    parent_code=street_code,
                    geometry=_square(clon, lat, 2 * GRID_DEG),
                    area_km2=_km2(2 * GRID_DEG, lat),
                )
            )
            for gi in range(2):
                grid_index = sum(1 for a in out if a.level == "grid")
                out.append(
                    AdminArea(
                        code=f"{ccode}G{gi + 1:02d}",
                        name=f"{community}第{gi + 1}网格",
                        level="grid",
                        parent_code=ccode,
                        geometry=_square(clon + gi * GRID_DEG, lat, GRID_DEG),
                        area_km2=_km2(GRID_DEG, lat),
                        key_place=grid_index in KEY_GRIDS,
                    )
                )
    return out


def grids() -> list[AdminArea]:
    return [a for a in areas() if a.level == "grid"]


def load(session: Session, clips_dir: Path, actor: str = "system") -> dict[str, int]:
    """Insert what is missing; generate the clips that are missing. Returns counts added."""
    added = {"departments": 0, "areas": 0, "platforms": 0, "cameras": 0, "clips": 0, "contractors": 0}
    for code, name, zone in DEPARTMENTS:
        if session.get(Department, code) is None:
            session.add(Department(code=code, name=name, sso_group=f"/{DISTRICT[0]}/{code}", zone=zone))
            added["departments"] += 1
    for area in areas():
        if session.get(AdminArea, area.code) is None:
            session.add(area)
            added["areas"] += 1
    session.flush()
    for code, name, kind, parent in PLATFORMS:
        if session.get(SharePlatform, code) is None:
            session.add(SharePlatform(code=code, name=name, kind=kind, parent_code=parent))
            added["platforms"] += 1
    session.flush()
    grid_list = grids()
    now = datetime.now(UTC)
    for serial, (name, dept, grid_i, key, scene, shared) in enumerate(CAMERAS, start=1):
        clip = clips_dir / f"{scene}.mp4"
        if not clip.exists():
            write_clip(clip, scene, seed=serial)
            added["clips"] += 1
        cam_id = gb_code(DISTRICT[0], serial, type_code="132", network="6")
        if session.get(Camera, cam_id) is not None:
            continue
        grid = grid_list[grid_i]
        ring = grid.geometry["coordinates"][0] if grid.geometry else [[0, 0], [0, 0], [0, 0]]
        session.add(
            Camera(
                id=cam_id,
                name=name,
                department_code=dept,
                area_code=grid.code,
                lat=round((ring[0][1] + ring[2][1]) / 2, 6),
                lon=round((ring[0][0] + ring[2][0]) / 2, 6),
                key_place=key,
                stream_url=str(clip),
                status="online",
                networked=True,
                manufacturer="govops",
                model="sample clip",
                created_at=now,
                last_seen=now,
                profiles=[],
            )
        )
        for platform in shared:
            session.add(
                ShareGrant(
                    platform_code=platform,
                    subject_kind="camera",
                    subject_id=cam_id,
                    reason="示例共享 (sample district)",
                    granted_by=actor,
                    created_at=now,
                )
            )
        added["cameras"] += 1
    if session.scalar(select(Contractor.code).limit(1)) is None:
        for code, name, streets in CONTRACTORS:
            session.add(Contractor(code=code, name=name, contact=None, created_at=now))
            session.add_all(ContractorArea(prefix=p, contractor_code=code, key_area=key) for p, key in streets)
            added["contractors"] += 1
    if any(added.values()):
        audit.append(session, actor=actor, action="sample_district.load", target=DISTRICT[0], detail=added)
    return added
