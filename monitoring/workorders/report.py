"""The monthly report per contractor and area (运维考核).

For each area a contractor answers for, over one calendar month of the district (its time zone,
GOVOPS_TIMEZONE: an order opened at 03:00 on the 1st, Beijing time, is that month's):
- 完好率 (intact rate) and 在线率 (online rate) of the area's cameras, as the video KPIs define
  them (intact = online and no picture fault; online = online or faulty), measured over the
  month's patrol diagnoses (share of diagnoses ok / not offline); an area the patrol did not
  visit that month falls back to the catalogue's current status (`source` says which);
- work orders opened and closed in the month;
- on-time repair rate: of the orders closed in the month, those whose confirmed repair came
  before the SLA deadline;
- mean time to repair (hours from opening to the confirmed repair report).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from govops.errors import ValidationFailed
from govops.localtime import configured_zone
from govops.spreadsheet import text_out
from monitoring.workorders.models import Contractor, ContractorArea, WorkOrder
from video.catalogue.models import Camera
from video.patrol.models import DiagnosisRecord

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
UNASSIGNED = "-"
COLUMNS = (
    "contractor",
    "contractor_name",
    "area",
    "key_area",
    "cameras",
    "intact_rate",
    "online_rate",
    "source",
    "opened",
    "closed",
    "on_time_rate",
    "mttr_hours",
)


@dataclass
class ReportRow:
    contractor: str
    contractor_name: str
    area: str
    key_area: bool
    cameras: int = 0
    intact_rate: float | None = None
    online_rate: float | None = None
    source: str = "patrol"
    opened: int = 0
    closed: int = 0
    on_time_rate: float | None = None
    mttr_hours: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def month_bounds(month: str, zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """When the district's calendar month begins and the next one begins, in UTC."""
    m = MONTH.match(month.strip())
    if not m:
        raise ValidationFailed(f"month {month!r} is not YYYY-MM", hint="e.g. --month 2026-11")
    year, mon = int(m.group(1)), int(m.group(2))
    zone = zone or configured_zone()
    start = datetime(year, mon, 1, tzinfo=zone)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def this_month(zone: ZoneInfo | None = None) -> str:
    """The district's current month, YYYY-MM."""
    return datetime.now(zone or configured_zone()).strftime("%Y-%m")


def _ratio(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def monthly(
    session: Session, month: str, contractor: str | None = None, zone: ZoneInfo | None = None
) -> list[ReportRow]:
    start, end = month_bounds(month, zone)
    names = {c.code: c.name for c in session.scalars(select(Contractor))}
    areas = list(session.scalars(select(ContractorArea).order_by(ContractorArea.prefix)))
    by_len = sorted(areas, key=lambda a: -len(a.prefix))

    def owner(area_code: str | None) -> ContractorArea | None:
        return next((a for a in by_len if area_code and area_code.startswith(a.prefix)), None)

    rows: dict[tuple[str, str], ReportRow] = {
        (a.contractor_code, a.prefix): ReportRow(
            a.contractor_code, names.get(a.contractor_code, ""), a.prefix, a.key_area
        )
        for a in areas
    }

    # Cameras and their month's diagnoses, attributed to the owning area.
    cam_area: dict[str, tuple[str, str] | None] = {}
    snapshot: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])  # cameras, online, intact
    for cid, area_code, status, fault in session.execute(
        select(Camera.id, Camera.area_code, Camera.status, Camera.picture_fault)
    ):
        a = owner(area_code)
        key = (a.contractor_code, a.prefix) if a else None
        cam_area[cid] = key
        if key:
            s = snapshot[key]
            s[0] += 1
            s[1] += status in ("online", "faulty")
            s[2] += status == "online" and not fault
    seen: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])  # diagnoses, online, ok
    for cid, verdict, n in session.execute(
        select(DiagnosisRecord.camera_id, DiagnosisRecord.verdict, func.count())
        .where(DiagnosisRecord.at >= start, DiagnosisRecord.at < end)
        .group_by(DiagnosisRecord.camera_id, DiagnosisRecord.verdict)
    ):
        key = cam_area.get(cid)
        if key:
            s = seen[key]
            s[0] += n
            s[1] += n if verdict != "offline" else 0
            s[2] += n if verdict == "ok" else 0

    repair_hours: dict[tuple[str, str], list[float]] = defaultdict(list)
    on_time: dict[tuple[str, str], int] = defaultdict(int)
    orders = session.scalars(
        select(WorkOrder).where(
            or_(
                WorkOrder.opened_at.between(start, end),
                WorkOrder.closed_at.between(start, end),
            )
        )
    )
    for o in orders:
        a = owner(o.area_code)
        code = o.contractor_code or UNASSIGNED
        key = (code, a.prefix if a and a.contractor_code == code else (o.area_code or UNASSIGNED))
        row = rows.get(key)
        if row is None:
            row = rows[key] = ReportRow(code, names.get(code, ""), key[1], o.key_area)
        if start <= o.opened_at < end:
            row.opened += 1
        if o.closed_at is not None and start <= o.closed_at < end:
            row.closed += 1
            if o.repaired_at is not None:
                repair_hours[key].append((o.repaired_at - o.opened_at).total_seconds() / 3600)
                on_time[key] += o.repaired_at <= o.due_at

    for key, row in rows.items():
        d = seen.get(key)
        if d and d[0]:
            row.cameras = snapshot[key][0]
            row.online_rate, row.intact_rate, row.source = _ratio(d[1], d[0]), _ratio(d[2], d[0]), "patrol"
        else:
            s = snapshot.get(key, [0, 0, 0])
            row.cameras = s[0]
            row.online_rate, row.intact_rate, row.source = _ratio(s[1], s[0]), _ratio(s[2], s[0]), "catalogue"
        hours = repair_hours.get(key, [])
        row.on_time_rate = _ratio(on_time.get(key, 0), len(hours))
        row.mttr_hours = round(sum(hours) / len(hours), 2) if hours else None
    out = sorted(rows.values(), key=lambda r: (r.contractor, r.area))
    return [r for r in out if contractor is None or r.contractor == contractor]


def to_csv(rows: list[ReportRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in rows:
        d = r.as_dict()
        w.writerow(["" if d[c] is None else text_out(d[c]) for c in COLUMNS])
    return buf.getvalue()
