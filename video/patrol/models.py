"""Patrol tables (巡检): one row of history per diagnosis, one watch per camera, one row per round.

A history row keeps the measurements and a small thumbnail of the judged picture, so a person can
see *why* a camera was called faulty. The watch is the patrol's memory of a camera: its stable
verdict, the run of observations that may change it, its scene reference and its own thresholds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from govops.db import Base
from video.diagnosis.baseline import edge_sigma

VERDICTS = ("ok", "faulty", "offline")
ORIGINS = ("patrol", "on_demand", "onvif_event")


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


class DiagnosisRecord(Base):
    __tablename__ = "diagnosis_records"
    __table_args__ = (
        Index("ix_diagnosis_records_camera_id", "camera_id", "id"),
        # one day's verdicts for the daily report (video_0005_diagnosis_at_idx)
        Index("ix_diagnosis_records_at", "at", "verdict", "camera_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    origin: Mapped[str] = mapped_column(String(20))  # patrol | on_demand | onvif_event
    verdict: Mapped[str] = mapped_column(String(10))  # ok | faulty | offline
    faults: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{code, score}]
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    elapsed_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    round_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The judged picture as a small JPEG (about 10 KB), or None when nothing was decoded.
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "camera": self.camera_id,
            "at": _iso(self.at),
            "origin": self.origin,
            "verdict": self.verdict,
            "faults": self.faults or [],
            "metrics": self.metrics or {},
            "error": self.error,
            "elapsed_ms": self.elapsed_ms,
            "round": self.round_id,
        }


class CameraWatch(Base):
    """The patrol's state of one camera (created on its first diagnosis)."""

    __tablename__ = "camera_watches"

    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    # The verdict the catalogue, the KPIs and the alerts follow, and since when it holds.
    stable: Mapped[str] = mapped_column(String(10), default="ok")
    stable_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The latest verdict and how many observations in a row have given it.
    pending: Mapped[str | None] = mapped_column(String(10), nullable=True)
    streak: Mapped[int] = mapped_column(Integer, default=0)
    # Alerts raised and resolved for this camera so far (a flapping camera shows here).
    alerts_raised: Mapped[int] = mapped_column(Integer, default=0)
    # Reference picture for scene_change (a JPEG at the analysis size) and when it was taken.
    reference: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    reference_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Per-camera threshold overrides (a night camera may be dark on purpose): {name: value}.
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "camera": self.camera_id,
            "stable": self.stable,
            "stable_since": _iso(self.stable_since),
            "pending": self.pending,
            "streak": self.streak,
            "alerts_raised": self.alerts_raised,
            "reference_at": _iso(self.reference_at),
            "thresholds": self.thresholds or {},
        }


class CameraBaseline(Base):
    """A camera's normal picture (建档) in one mode, day or night: the reference picture and the
    statistics each relative check needs (video.diagnosis.Baseline), refined over the first
    healthy rounds. Taken by the patrol on a camera's first healthy picture of that mode, or by
    a person on demand (audited)."""

    __tablename__ = "camera_baselines"
    __table_args__ = (PrimaryKeyConstraint("camera_id", "mode"),)

    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(10))  # day | night
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    samples: Mapped[int] = mapped_column(Integer, default=1)
    # The reference picture of this mode (a JPEG at the analysis size).
    reference: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    taken_by: Mapped[str] = mapped_column(String(120))  # "patrol" or the person who re-took it

    def as_dict(self) -> dict[str, Any]:
        stats = self.stats or {}
        gw = (stats.get("illuminants") or {}).get("grey_world", [0.0, 0.0])
        return {
            "camera": self.camera_id,
            "mode": self.mode,
            "samples": self.samples,
            "taken_at": _iso(self.taken_at),
            "updated_at": _iso(self.updated_at),
            "taken_by": self.taken_by,
            "blur_effect": stats.get("blur_effect"),
            "noise_sigma": stats.get("noise_sigma"),
            "brightness": stats.get("brightness"),
            # hour of the day (China Standard Time) → the normal brightness learned at it
            "brightness_by_hour": {
                int(h): round(v[0]) for h, v in sorted((stats.get("hours") or {}).items(), key=lambda kv: int(kv[0]))
            },
            "colour": gw,
            **edge_sigma(stats.get("edge_spread")),
            # where the camera draws its OSD, filled in before diagnosis (shares of the picture)
            "osd": stats.get("osd") or [],
        }


class PatrolRound(Base):
    __tablename__ = "patrol_rounds"
    __table_args__ = (Index("ix_patrol_rounds_shard_id", "shard", "shards", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shard: Mapped[int] = mapped_column(Integer)
    shards: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | done | stopped | failed
    cameras: Mapped[int] = mapped_column(Integer, default=0)
    ok: Mapped[int] = mapped_column(Integer, default=0)
    faulty: Mapped[int] = mapped_column(Integer, default=0)
    offline: Mapped[int] = mapped_column(Integer, default=0)
    timed_out: Mapped[int] = mapped_column(Integer, default=0)
    alerts_raised: Mapped[int] = mapped_column(Integer, default=0)
    alerts_cleared: Mapped[int] = mapped_column(Integer, default=0)
    cpu_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak_rss_mib: Mapped[float | None] = mapped_column(Float, nullable=True)

    @property
    def elapsed_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "shard": f"{self.shard}/{self.shards}",
            "status": self.status,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "elapsed_s": self.elapsed_s,
            "cameras": self.cameras,
            "ok": self.ok,
            "faulty": self.faulty,
            "offline": self.offline,
            "timed_out": self.timed_out,
            "alerts_raised": self.alerts_raised,
            "alerts_cleared": self.alerts_cleared,
            "cpu_s": self.cpu_s,
            "peak_rss_mib": self.peak_rss_mib,
        }
