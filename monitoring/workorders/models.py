"""Work-order tables (运维工单): contractors and their areas, orders, each order's history.

Camera IDs are kept as plain strings (no foreign key into the video room's tables): an order
outlives a camera removed from the catalogue, and the history of a contract stays complete.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from govops.db import Base, UtcDateTime

STATES = ("open", "dispatched", "repaired", "verified", "closed")
ACTIVE = ("open", "dispatched", "repaired", "verified")


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


class Contractor(Base):
    """A maintenance contractor (运维单位)."""

    __tablename__ = "wo_contractors"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "contact": self.contact}


class ContractorArea(Base):
    """One area a contractor answers for. `prefix` is the admin-division code without its
    trailing all-zero groups, so a street's row covers its communities and grids."""

    __tablename__ = "wo_contractor_areas"

    prefix: Mapped[str] = mapped_column(String(20), primary_key=True)
    contractor_code: Mapped[str] = mapped_column(ForeignKey("wo_contractors.code", ondelete="CASCADE"), index=True)
    key_area: Mapped[bool] = mapped_column(Boolean, default=False)  # 重点区域: the shorter SLA

    def as_dict(self) -> dict[str, Any]:
        return {"area": self.prefix, "contractor": self.contractor_code, "key_area": self.key_area}


class WorkOrder(Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        Index("ix_work_orders_camera_state", "camera_id", "state"),
        Index("ix_work_orders_contractor_id", "contractor_code", "id"),
        Index("ix_work_orders_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(20))
    camera_name: Mapped[str] = mapped_column(String(200))
    area_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    contractor_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    key_area: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(12), default="open")
    fault: Mapped[str] = mapped_column(String(500))
    verdict: Mapped[str] = mapped_column(String(10))  # faulty | offline, when opened
    alert_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sla_hours: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    repaired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    repair_note: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    photo: Mapped[str | None] = mapped_column(String(200), nullable=True)  # file name under the data dir
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    selfheal_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    selfheal_outcome: Mapped[str | None] = mapped_column(String(300), nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "camera": self.camera_id,
            "camera_name": self.camera_name,
            "area": self.area_code,
            "contractor": self.contractor_code,
            "key_area": self.key_area,
            "state": self.state,
            "fault": self.fault,
            "verdict": self.verdict,
            "sla_hours": self.sla_hours,
            "opened_at": _iso(self.opened_at),
            "due_at": _iso(self.due_at),
            "dispatched_at": _iso(self.dispatched_at),
            "repaired_at": _iso(self.repaired_at),
            "verified_at": _iso(self.verified_at),
            "closed_at": _iso(self.closed_at),
            "repair_note": self.repair_note,
            "has_photo": bool(self.photo),
            "reopened": self.reopened,
            "breached": self.breached,
            "selfheal_at": _iso(self.selfheal_at),
            "selfheal_outcome": self.selfheal_outcome,
        }


class WorkOrderEvent(Base):
    """One step in an order's life: who moved it, from which state to which, and why."""

    __tablename__ = "work_order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(12), nullable=True)
    to_state: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(String(1000), nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": _iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "from": self.from_state,
            "to": self.to_state,
            "note": self.note,
        }
