"""运维日报: one district day of operations in one document, the morning report a duty officer
reads and forwards.

- 视频 the video network: 在线率 / 完好率 / 联网率 at the day's end against their targets and the
  day before (the recorded KPI samples; the live catalogue for today), the cameras the patrol
  found faulty or offline by fault, and its rounds;
- 告警 alerts raised, resolved and escalated that day, and those still open at its end;
- 工单 work orders opened, repaired and closed that day, and those overdue at its end;
- 集群 / 政务云 the Ansible and Pulumi runs of the day, failures named;
- 备份 the newest cluster backup and whether it was older than its schedule at the day's end.

The day is the district's (GOVOPS_TIMEZONE): what 12月7日 means in 金山. Every count is of records
kept anyway; nothing is sampled for the report. `daily()` is the one function behind
`govops report daily`, `GET /api/v1/reports/daily` and the console's `/reports/daily`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from govops.alerts import Alert
from govops.errors import ValidationFailed
from govops.localtime import configured_zone, day_start
from govops.settings import Settings
from monitoring.kpi_history.models import KpiSample
from video.catalogue.settings import VideoSettings

RATES = ("online_rate", "intact_rate", "networking_rate")
LISTED = 10  # the longest-overdue orders, failed runs: named, the rest counted


@dataclass(frozen=True)
class Day:
    day: date
    start: datetime  # UTC
    end: datetime  # UTC, exclusive
    before: datetime  # UTC: when the district's day before began (a day is not always 24 h long)
    today: bool  # the day is not over yet (at the `now` the_day was given)


def the_day(day: str | None, zone: ZoneInfo | None = None, now: datetime | None = None) -> Day:
    """The district day `day` (YYYY-MM-DD; default yesterday, the day a morning report covers)."""
    zone = zone or configured_zone()
    now = now or datetime.now(UTC)
    if day is None or day == "yesterday":
        day = (now.astimezone(zone).date() - timedelta(days=1)).isoformat()
    elif day == "today":
        day = now.astimezone(zone).date().isoformat()
    start = day_start(day, zone)
    if start > now:
        raise ValidationFailed(f"{day} has not begun in {zone.key}", hint="give today or an earlier day")
    previous = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    end = day_start(day, zone, after=True)
    return Day(date.fromisoformat(day), start, end, day_start(previous, zone), start <= now < end)


def daily(
    session: Session,
    settings: Settings,
    video: VideoSettings,
    *,
    day: str | None = None,
    zone: ZoneInfo | None = None,
    backup_max_age_h: float = 26.0,
) -> dict[str, Any]:
    zone = zone or configured_zone()
    d = the_day(day, zone)
    return {
        "day": d.day.isoformat(),
        "timezone": zone.key,
        "from": d.start.isoformat(),
        "until": d.end.isoformat(),
        "video": _video(session, video, d),
        "alerts": _alerts(session, d),
        "workorders": _workorders(session, d),
        "cluster": _runs(session, d, "cluster"),
        "cloud": _runs(session, d, "cloud"),
        "backup": _backup(settings, d, backup_max_age_h),
    }


# -- video ------------------------------------------------------------------------------------


def _kpis_at_end(session: Session, start: datetime, end: datetime) -> dict[str, float | None] | None:
    """The district's last recorded sample of each rate within [start, end)."""
    last = session.scalar(
        select(func.max(KpiSample.recorded_at)).where(
            KpiSample.scope == "district", KpiSample.recorded_at >= start, KpiSample.recorded_at < end
        )
    )
    if last is None:
        return None
    rows = session.execute(
        select(KpiSample.metric, KpiSample.value).where(KpiSample.scope == "district", KpiSample.recorded_at == last)
    )
    return {m: v for m, v in rows if m in (*RATES, "cameras")}


def _video(session: Session, video: VideoSettings, d: Day) -> dict[str, Any]:
    from video.catalogue.models import Camera
    from video.coverage import Coverage
    from video.patrol.models import DiagnosisRecord, PatrolRound

    kpis: dict[str, float | None] | None = None
    if d.today:  # the day is not over: the catalogue as it is now
        district = Coverage(session, video).by_area("district")
        if district:
            kpis = {m: getattr(district[0], m) for m in RATES} | {"cameras": district[0].cameras}
        source = "live"
    else:
        kpis, source = _kpis_at_end(session, d.start, d.end), "recorded"
    before = _kpis_at_end(session, d.before, d.start) or {}
    change = {}
    for m in RATES:
        now_, then = (kpis or {}).get(m), before.get(m)
        if now_ is not None and then is not None:
            change[m] = round(now_ - then, 4)
    that_day = (DiagnosisRecord.at >= d.start, DiagnosisRecord.at < d.end)
    diagnosed = session.scalar(select(func.count(func.distinct(DiagnosisRecord.camera_id))).where(*that_day))
    cameras: dict[str, set[str]] = defaultdict(set)
    for camera, verdict, faults in session.execute(  # the day's few faulty or offline verdicts
        select(DiagnosisRecord.camera_id, DiagnosisRecord.verdict, DiagnosisRecord.faults).where(
            *that_day, DiagnosisRecord.verdict != "ok"
        )
    ):
        if verdict == "offline":
            cameras["offline"].add(camera)
        for f in faults or []:
            cameras[str(f.get("code"))].add(camera)
    rounds = Counter(
        status
        for (status,) in session.execute(
            select(PatrolRound.status).where(PatrolRound.started_at >= d.start, PatrolRound.started_at < d.end)
        )
    )
    return {
        "cameras": session.scalar(select(func.count()).select_from(Camera)) or 0,
        "kpi": kpis,
        "kpi_source": source if kpis else None,
        "kpi_change": change,
        "targets": {
            "online_rate": video.target_online,
            "intact_rate": video.target_intact_other,
            "networking_rate": video.target_networking,
        },
        "diagnosed_cameras": diagnosed or 0,
        "faults": {code: len(ids) for code, ids in sorted(cameras.items(), key=lambda kv: (-len(kv[1]), kv[0]))},
        "patrol_rounds": dict(sorted(rounds.items())),
    }


# -- alerts -----------------------------------------------------------------------------------


def _by_severity(session: Session, *where: Any) -> dict[str, int]:
    rows = session.execute(select(Alert.severity, func.count()).where(*where).group_by(Alert.severity))
    return {severity: n for severity, n in sorted(rows)}


def _alerts(session: Session, d: Day) -> dict[str, Any]:
    open_at_end = (Alert.starts_at < d.end, or_(Alert.ends_at.is_(None), Alert.ends_at >= d.end))
    oldest = session.scalars(
        select(Alert)
        .where(*open_at_end, Alert.severity == "critical")
        .order_by(Alert.starts_at, Alert.id)
        .limit(LISTED)
    ).all()
    return {
        "raised": _by_severity(session, Alert.starts_at >= d.start, Alert.starts_at < d.end),
        "resolved": _by_severity(session, Alert.ends_at >= d.start, Alert.ends_at < d.end),
        "escalated": session.scalar(
            select(func.count()).select_from(Alert).where(Alert.escalated_at >= d.start, Alert.escalated_at < d.end)
        )
        or 0,
        "open_at_end": _by_severity(session, *open_at_end),
        "oldest_open_critical": [
            {"id": a.id, "summary": a.summary, "since": a.starts_at.isoformat(), "claimed_by": a.claimed_by}
            for a in oldest
        ],
    }


# -- work orders ------------------------------------------------------------------------------


def _workorders(session: Session, d: Day) -> dict[str, Any]:
    from monitoring.workorders.models import Contractor, WorkOrder

    def count(column: Any, *more: Any) -> int:
        return (
            session.scalar(select(func.count()).select_from(WorkOrder).where(column >= d.start, column < d.end, *more))
            or 0
        )

    unfinished = and_(
        WorkOrder.opened_at < d.end,
        WorkOrder.due_at < d.end,
        or_(WorkOrder.repaired_at.is_(None), WorkOrder.repaired_at >= d.end),
        or_(WorkOrder.closed_at.is_(None), WorkOrder.closed_at >= d.end),
    )
    overdue = session.execute(
        select(WorkOrder, Contractor.name)
        .outerjoin(Contractor, Contractor.code == WorkOrder.contractor_code)
        .where(unfinished)
        .order_by(WorkOrder.due_at, WorkOrder.id)
        .limit(LISTED)
    ).all()
    return {
        "opened": count(WorkOrder.opened_at),
        "repaired": count(WorkOrder.repaired_at),
        "closed": count(WorkOrder.closed_at),
        "closed_late": count(WorkOrder.closed_at, WorkOrder.breached.is_(True)),
        "overdue_at_end": session.scalar(select(func.count()).select_from(WorkOrder).where(unfinished)) or 0,
        "longest_overdue": [
            {
                "id": o.id,
                "camera": o.camera_id,
                "camera_name": o.camera_name,
                "contractor": o.contractor_code,
                "contractor_name": name,
                "due_at": o.due_at.isoformat(),
                "state": o.state,
            }
            for o, name in overdue
        ],
    }


# -- runs and backups -------------------------------------------------------------------------


def _runs(session: Session, d: Day, which: str) -> dict[str, Any]:
    if which == "cluster":
        from infra.cluster.models import ClusterRun as Run
    else:
        from infra.provisioning.models import CloudRun as Run  # type: ignore[assignment]
    rows = session.scalars(select(Run).where(Run.started_at >= d.start, Run.started_at < d.end).order_by(Run.id)).all()
    failed = [r for r in rows if r.status == "failed"]
    return {
        "runs": dict(sorted(Counter(f"{r.kind} {r.status}" for r in rows).items())),
        "failed": [
            {
                "id": r.id,
                "kind": r.kind,
                "at": r.started_at.isoformat(),
                "error": (r.error or "").splitlines()[0][:300] if r.error else None,
            }
            for r in failed[-LISTED:]
        ],
    }


def _backup(settings: Settings, d: Day, max_age_h: float) -> dict[str, Any]:
    from infra.cluster.backup import list_backups, target_dir_of

    target = target_dir_of(settings)
    end = min(d.end, datetime.now(UTC))
    newest = next((p for p in list_backups(target) if p.stat().st_mtime < end.timestamp()), None)
    at = datetime.fromtimestamp(newest.stat().st_mtime, UTC) if newest else None
    return {
        "target": str(target),
        "newest": newest.name if newest else None,
        "at": at.isoformat() if at else None,
        "too_old": at is None or (end - at) > timedelta(hours=max_age_h),
        "max_age_h": max_age_h,
    }


# -- as text: the CLI's lines and the message sent to the duty group --------------------------

KPI_LABELS = (
    ("online_rate", "在线率 online"),
    ("intact_rate", "完好率 intact"),
    ("networking_rate", "联网率 networked"),
)


def _counts(d: dict[str, int]) -> str:
    return " · ".join(f"{k} {n}" for k, n in d.items()) or "0"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def kpi_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(KPI, end of day, vs the day before, target) per rate, as people read them."""
    v = report["video"]
    kpi, change = v["kpi"] or {}, v["kpi_change"]
    return [
        (label, _pct(kpi.get(key)), f"{change[key] * 100:+.1f} pt" if key in change else "—", _pct(v["targets"][key]))
        for key, label in KPI_LABELS
    ]


def lines(report: dict[str, Any], *, kpis: bool = True) -> list[str]:
    """The report as lines of text, Chinese first, times on the district's clock (without the
    KPI lines when `kpis` is False: the CLI shows them as a table)."""
    from govops.localtime import shown

    v, a, w, b = report["video"], report["alerts"], report["workorders"], report["backup"]
    out: list[str] = []
    if kpis:
        out += [
            f"{label}: {end} (目标 target {target}, 较前日 {change})" for label, end, change, target in kpi_rows(report)
        ]
    if not v["kpi"]:
        out.append("当日未记录指标 no KPI sample that day: govops video kpi --record (a daily timer)")
    out += [
        f"摄像机 cameras {v['cameras']} · 当日诊断 diagnosed {v['diagnosed_cameras']} · "
        f"巡检 rounds {_counts(v['patrol_rounds'])}",
        f"故障摄像机 cameras with a fault: {_counts(v['faults'])}",
        f"告警 alerts: 新增 raised {_counts(a['raised'])} · 恢复 resolved {_counts(a['resolved'])} · "
        f"升级 escalated {a['escalated']} · 日终未恢复 open at the end {_counts(a['open_at_end'])}",
        *(
            f"  #{x['id']} {x['summary']} (since {shown(x['since'])}, {x['claimed_by'] or '未认领 unclaimed'})"
            for x in a["oldest_open_critical"]
        ),
        f"工单 work orders: 新开 opened {w['opened']} · 修复 repaired {w['repaired']} · 关闭 closed {w['closed']} "
        f"(late {w['closed_late']}) · 日终超时 overdue at the end {w['overdue_at_end']}",
        *(
            f"  #{o['id']} {o['camera_name']} · {o['contractor_name'] or o['contractor'] or '—'} "
            f"· due {shown(o['due_at'])}"
            for o in w["longest_overdue"]
        ),
        f"集群 cluster: {_counts(report['cluster']['runs'])} · 政务云 cloud: {_counts(report['cloud']['runs'])}",
        *(
            f"  失败 failed: {k} run #{x['id']} {x['kind']}: {x['error'] or ''}"
            for k in ("cluster", "cloud")
            for x in report[k]["failed"]
        ),
    ]
    if not b["newest"]:
        out.append(f"备份 backup: 日终前没有备份 none in {b['target']} before the day's end (govops cluster backup)")
    else:
        late = f" · 超过 older than {b['max_age_h']:g} h" if b["too_old"] else ""
        out.append(f"备份 backup: {b['newest']} · {shown(b['at'])}{late}")
    return out


def send(report: dict[str, Any], notifier: Any, console_url: str | None = None) -> dict[str, str]:
    """Send the report to every channel that takes it (`daily_report` among its events): channel
    name → sent, failed or rate_limited; {} when none does."""
    from monitoring.notify.templates import REPORT, Message

    url = f"{console_url.rstrip('/')}/reports/daily?day={report['day']}" if console_url else None
    message = Message(REPORT, [], extra={"day": report["day"], "lines": lines(report), "url": url, "report": report})
    return dict(notifier.send_now(message))
