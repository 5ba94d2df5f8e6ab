"""KPI samples and subsystem state transitions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from govops.db import Base

SCOPES = ("district", "area", "platform", "fault", "alerts", "tenant")


class KpiSample(Base):
    """One value of one KPI for one scope at one recording time (a long, narrow table: new KPIs
    need no migration, and a chart reads one (scope, key, metric) series down an index)."""

    __tablename__ = "kpi_samples"
    __table_args__ = (Index("ix_kpi_samples_series", "scope", "key", "metric", "recorded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    scope: Mapped[str] = mapped_column(String(20))  # district | area | platform | fault | alerts | tenant
    key: Mapped[str] = mapped_column(String(50))  # area code, platform code, fault code, tenant code
    name: Mapped[str] = mapped_column(String(200), default="")
    metric: Mapped[str] = mapped_column(String(50))  # online_rate, intact_rate, count, cpu_used_ratio, …
    value: Mapped[float | None] = mapped_column(Float, nullable=True)


class StatusState(Base):
    """The last state the status board saw per subsystem, and since when it holds."""

    __tablename__ = "status_states"

    subsystem: Mapped[str] = mapped_column(String(50), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
