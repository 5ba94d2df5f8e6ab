"""Record the KPIs now (a periodic job: `govops video kpi --record`, at least daily), and read
them back as series for the 7/30/90-day charts."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from govops.alerts import Alert
from govops.localtime import configured_zone
from govops.settings import Settings
from monitoring.kpi_history.models import KpiSample
from video.catalogue.models import Camera
from video.catalogue.settings import VideoSettings
from video.coverage import Coverage, Kpi

RATES = ("online_rate", "intact_rate", "networking_rate")
WINDOWS = (7, 30, 90)


def _kpi_rows(at: datetime, scope: str, k: Kpi) -> list[KpiSample]:
    rows = [
        KpiSample(recorded_at=at, scope=scope, key=k.key, name=k.name, metric=m, value=getattr(k, m)) for m in RATES
    ]
    rows.append(KpiSample(recorded_at=at, scope=scope, key=k.key, name=k.name, metric="cameras", value=k.cameras))
    return rows


def record(
    session: Session,
    video: VideoSettings,
    *,
    at: datetime | None = None,
    tenants: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Store one sample of every KPI: district and each street (area), each platform, faults by
    code, open alerts by severity, and each tenant's quota use when the cluster reports it."""
    at = at or datetime.now(UTC)
    cov = Coverage(session, video)
    rows: list[KpiSample] = []
    for k in cov.by_area("street"):
        rows += _kpi_rows(at, "district" if k.key in {a.code for a in cov.tree.at_level("district")} else "area", k)
    for k in cov.by_platform():
        rows += _kpi_rows(at, "platform", k)
    faults: Counter[str] = Counter()
    for (codes,) in session.execute(select(Camera.diagnosis_faults).where(Camera.diagnosis_faults.is_not(None))):
        faults.update(codes or [])
    offline = session.scalar(select(func.count()).select_from(Camera).where(Camera.status == "offline")) or 0
    faults["offline"] = offline
    for code, n in sorted(faults.items()):
        rows.append(KpiSample(recorded_at=at, scope="fault", key=code, name=code, metric="count", value=n))
    for severity, n in session.execute(
        select(Alert.severity, func.count()).where(Alert.status == "firing").group_by(Alert.severity)
    ):
        rows.append(KpiSample(recorded_at=at, scope="alerts", key=severity, name=severity, metric="open", value=n))
    for t in tenants or []:
        for metric, value in (t.get("use") or {}).items():
            rows.append(
                KpiSample(
                    recorded_at=at, scope="tenant", key=t["code"], name=t.get("name", ""), metric=metric, value=value
                )
            )
    session.add_all(rows)
    session.flush()
    return {"recorded_at": at.isoformat().replace("+00:00", "Z"), "samples": len(rows)}


def series(
    session: Session, *, days: int, scope: str = "district", metrics: tuple[str, ...] = RATES, key: str | None = None
) -> dict[str, Any]:
    """Samples since `days` ago, one series per (key, metric), oldest first. With more than one
    sample a day (an hourly job), the chart gets the day's last, so 90 days stay 90 points; a day
    is the district's (GOVOPS_TIMEZONE), not UTC's, whose midnight is 08:00 in Beijing."""
    since = datetime.now(UTC) - timedelta(days=days)
    zone = configured_zone()
    stmt = (
        select(KpiSample)
        .where(KpiSample.scope == scope, KpiSample.metric.in_(metrics), KpiSample.recorded_at >= since)
        .order_by(KpiSample.recorded_at)
    )
    if key:
        stmt = stmt.where(KpiSample.key == key)
    per_day: dict[tuple[str, str], dict[str, tuple[str, float | None]]] = defaultdict(dict)
    names: dict[str, str] = {}
    for s in session.scalars(stmt):
        at = s.recorded_at if s.recorded_at.tzinfo else s.recorded_at.replace(tzinfo=UTC)
        day = at.astimezone(zone).date().isoformat()
        per_day[(s.key, s.metric)][day] = (at.isoformat().replace("+00:00", "Z"), s.value)
        names[s.key] = s.name
    out = [
        {
            "key": k,
            "name": names.get(k, k),
            "metric": m,
            "points": [[at, v] for _day, (at, v) in sorted(points.items())],
        }
        for (k, m), points in sorted(per_day.items())
    ]
    return {"days": days, "scope": scope, "series": out}


def tenants_use(settings: Settings) -> list[dict[str, Any]]:
    """Each declared tenant's quota use as ratios, when a cluster answers; [] otherwise (the video
    KPIs are still recorded: a missing cluster must not stop the daily record)."""
    from infra.model import load_cloud
    from monitoring.status.quota_use import tenant_use

    declared = settings.data_dir / "cloud" / "departments.yaml"
    if not declared.is_file():
        return []
    departments = load_cloud(declared).departments
    try:
        use = tenant_use(settings, [d.namespace for d in departments])
    except Exception:  # the cluster is down: record what we have
        return []
    if use is None:
        return []
    return [
        {
            "code": d.code,
            "name": d.name,
            "use": {f"{r}_used_ratio": v["ratio"] for r, v in use.get(d.namespace, {}).items()},
        }
        for d in departments
    ]


def record_now(sessions: sessionmaker[Session], settings: Settings, video: VideoSettings) -> dict[str, Any]:
    """The periodic job's one call (`govops video kpi --record`)."""
    tenants = tenants_use(settings)
    with sessions.begin() as s:
        out = record(s, video, tenants=tenants)
    return {**out, "tenants": len(tenants)}
