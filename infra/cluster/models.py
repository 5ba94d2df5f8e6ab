"""The cluster room's tables: one row per playbook run, one per host of the run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govops.db import Base, UtcDateTime


class ClusterRun(Base):
    __tablename__ = "cluster_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # check | apply
    playbook: Mapped[str] = mapped_column(String(200))
    inventory: Mapped[str] = mapped_column(String(1000))
    limit: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # running | succeeded | failed
    actor: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ClusterHostResult(Base):
    __tablename__ = "cluster_host_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("cluster_runs.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20))  # ok | changed | failed | unreachable
    ok: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    unreachable: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    failure: Mapped[str | None] = mapped_column(Text, nullable=True)  # the cause, in one line
    diffs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # check: task -> diff text
    controls: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # baseline evidence
