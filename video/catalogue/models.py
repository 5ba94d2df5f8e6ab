"""Video catalogue tables (视频资源目录): cameras, admin areas, groups, platforms, share grants.

Columns added after the first release come from video/migrations/0002_catalogue_onvif.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

import govops.org  # noqa: F401 - registers `departments`, which cameras refer to
from govops.db import Base

AREA_LEVELS = ("district", "street", "community", "grid")  # 区 → 街镇 → 社区/村 → 网格
CAMERA_STATUSES = ("online", "offline", "faulty", "unknown")


class AdminArea(Base):
    __tablename__ = "admin_areas"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("admin_areas.code"), nullable=True, index=True)
    # GeoJSON geometry (Polygon / MultiPolygon) in WGS 84 lon/lat.
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    area_km2: Mapped[float | None] = mapped_column(Float, nullable=True)
    # A key public area (重点公共区域): the coverage KPI asks that every one has a working camera.
    key_place: Mapped[bool] = mapped_column(Boolean, default=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "parent_code": self.parent_code,
            "area_km2": self.area_km2,
            "key_place": self.key_place,
        }


class CatalogueGroup(Base):
    """Business group (215, 业务分组) or virtual organisation (216, 虚拟组织)."""

    __tablename__ = "catalogue_groups"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(3))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("catalogue_groups.id"), nullable=True, index=True)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": self.type, "parent": self.parent_id}


class Camera(Base):
    __tablename__ = "cameras"
    __table_args__ = (
        Index("ix_cameras_department_id", "department_code", "id"),
        Index("ix_cameras_area_id", "area_code", "id"),
        Index("ix_cameras_status_id", "status", "id"),
        # Covering indexes for the scrape-time counts (KPIs per area, cameras per department):
        # the collectors read these instead of the whole table.
        Index("ix_cameras_kpi", "area_code", "status", "key_place", "networked", "picture_fault"),
        Index("ix_cameras_department_status", "department_code", "status"),
    )

    id: Mapped[str] = mapped_column(String(20), primary_key=True)  # GB/T 28181 code
    name: Mapped[str] = mapped_column(String(200))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    area_code: Mapped[str | None] = mapped_column(ForeignKey("admin_areas.code"), nullable=True)
    group_id: Mapped[str | None] = mapped_column(ForeignKey("catalogue_groups.id"), nullable=True, index=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    key_place: Mapped[bool] = mapped_column(Boolean, default=False)  # 重点公共区域
    stream_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    snapshot_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    onvif_address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    username: Mapped[str | None] = mapped_column(String(100), nullable=True)
    password_enc: Mapped[str | None] = mapped_column(String(500), nullable=True)
    mac: Mapped[str | None] = mapped_column(String(17), nullable=True, unique=True)
    serial_number: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    manufacturer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    model: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="unknown")
    networked: Mapped[bool] = mapped_column(Boolean, default=True)  # 联网
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    profiles: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # --- 0002 ---
    firmware: Mapped[str | None] = mapped_column(String(100), nullable=True)
    install_address: Mapped[str | None] = mapped_column(String(300), nullable=True)  # 安装地址
    # What onboarding found by trying: {"ptz": bool, "events": bool, "snapshot": bool, ...}
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    clock_skew_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Presets set through govops, kept here because many devices answer GetPresets badly.
    presets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Set by video quality diagnosis: the latest picture fault codes (empty when the picture is
    # fine). 完好率 counts a camera as intact when it is online and picture_fault is false.
    picture_fault: Mapped[bool] = mapped_column(Boolean, default=False)
    diagnosis_faults: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    diagnosed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    onboarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)

    @property
    def online(self) -> bool:
        return self.status in ("online", "faulty")

    @property
    def intact(self) -> bool:
        return self.status == "online" and not self.picture_fault

    def as_dict(self) -> dict[str, Any]:
        """Public view: never the password, and no credentials embedded in URLs."""
        return {
            "id": self.id,
            "name": self.name,
            "department": self.department_code,
            "area": self.area_code,
            "group": self.group_id,
            "lat": self.lat,
            "lon": self.lon,
            "key_place": self.key_place,
            "status": self.status,
            "networked": self.networked,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "has_stream": bool(self.stream_url),
            "onvif": bool(self.onvif_address),
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
        }

    def detail_dict(self) -> dict[str, Any]:
        """The camera page: profiles and capabilities too, still without any credential."""
        return {
            **self.as_dict(),
            "serial_number": self.serial_number,
            "mac": self.mac,
            "firmware": self.firmware,
            "install_address": self.install_address,
            "capabilities": self.capabilities or {},
            "clock_skew_s": self.clock_skew_s,
            "profiles": [
                {k: v for k, v in p.items() if k not in ("stream_uri", "snapshot_uri")}
                | {"has_stream": bool(p.get("stream_uri")), "has_snapshot": bool(p.get("snapshot_uri"))}
                for p in (self.profiles or [])
            ],
            "presets": self.presets or [],
            "picture_fault": self.picture_fault,
            "diagnosis_faults": self.diagnosis_faults or [],
            "diagnosed_at": self.diagnosed_at.isoformat() if self.diagnosed_at else None,
            "onboarded_at": self.onboarded_at.isoformat() if self.onboarded_at else None,
            "last_error": self.last_error,
        }


class SharePlatform(Base):
    """A platform of the "1+2+X" model: the district master, 综治, 公安, and X others."""

    __tablename__ = "share_platforms"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # master | sub | x
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("share_platforms.code"), nullable=True)
    # The platform's own GB/T 28181 code (type 200, centre signalling server), used as the
    # DeviceID of a Catalog answer to an upper platform.
    gb_id: Mapped[str | None] = mapped_column(String(20), nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "parent": self.parent_code,
            "gb_id": self.gb_id,
        }


class ShareGrant(Base):
    """A camera, a group or an area shared to a platform, with a reason and an optional expiry."""

    __tablename__ = "share_grants"
    __table_args__ = (
        Index("ix_share_grants_platform_subject", "platform_code", "subject_kind"),
        Index("ix_share_grants_subject", "subject_kind", "subject_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_code: Mapped[str] = mapped_column(ForeignKey("share_platforms.code"))
    subject_kind: Mapped[str] = mapped_column(String(10))  # camera | group | area
    subject_id: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    granted_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # A revoked grant stays as history (who, when, why); only unrevoked, unexpired ones count.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

    def active(self, now: datetime) -> bool:
        exp = self.expires_at
        if exp is not None and exp.tzinfo is None:  # SQLite hands timestamps back naive (UTC)
            exp = exp.replace(tzinfo=now.tzinfo)
        return self.revoked_at is None and (exp is None or exp > now)

    def as_dict(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "id": self.id,
            "platform": self.platform_code,
            "subject_kind": self.subject_kind,
            "subject_id": self.subject_id,
            "reason": self.reason,
            "granted_by": self.granted_by,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "revoked_by": self.revoked_by,
            "revoke_reason": self.revoke_reason,
        }
