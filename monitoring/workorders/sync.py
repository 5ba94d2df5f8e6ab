"""One sync step of the work-order engine, run by the gateway every `sync_interval_s` and by
`govops workorders sync`:

1. every camera-fault alert of the patrol that is still firing (it was raised after the
   hysteresis, RAISE_AFTER rounds) and has no order yet opens one, for the area's contractor;
2. every repaired order is checked against the newest diagnosis of its camera made after the
   repair report: healthy → verified (and closed), anything else → reopened;
3. every open or dispatched order whose camera a person has since accepted as normal (误报确认,
   `govops video accept`) and that is still healthy is withdrawn: closed as a false alarm, so no
   contractor is sent to a camera with nothing wrong;
4. every open or dispatched order past its due time raises one SLA-breach alert;
5. with self-healing on, a camera that stopped answering gets one ONVIF SystemReboot.

The step reads the kernel's alerts and the video room's tables and writes only its own tables,
the audit log and its own alerts; calling it twice in a row changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govops.alerts import Alert, raise_alert
from govops.db import as_utc
from govops.secretbox import SecretBox
from govops.settings import load_or_explain
from monitoring.workorders.contractors import responsible
from monitoring.workorders.lifecycle import breach_fingerprint, due, finish, sla_hours, step
from monitoring.workorders.models import WorkOrder, WorkOrderEvent
from monitoring.workorders.settings import WorkOrderSettings
from video.catalogue.models import Camera
from video.patrol.models import DiagnosisRecord
from video.patrol.ondemand import ACCEPT_ACTION

CAMERA_ALERT_SOURCE = "video.diagnosis"  # video/patrol/ledger.py ALERT_SOURCE
CAMERA_FINGERPRINT = "video.camera:"
ALERT_SOURCE = "monitoring.workorders"
ACTOR = "system:workorders"

Rebooter = Callable[[str, str | None, str | None, float], str]


@dataclass
class SyncReport:
    opened: list[int] = field(default_factory=list)
    dispatched: list[int] = field(default_factory=list)
    verified: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    withdrawn: list[int] = field(default_factory=list)
    breached: list[int] = field(default_factory=list)
    selfheal: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sync(
    session: Session,
    now: datetime | None = None,
    settings: WorkOrderSettings | None = None,
    *,
    box: SecretBox | None = None,
    reboot: Rebooter | None = None,
) -> SyncReport:
    now = now or datetime.now(UTC)
    settings = settings or load_or_explain(WorkOrderSettings)
    report = SyncReport()
    open_new(session, now, settings, report)
    verify_repaired(session, now, settings, report)
    withdraw_false_alarms(session, now, report)
    check_sla(session, now, report)
    if settings.selfheal:
        from monitoring.workorders.selfheal import heal

        heal(session, now, settings, report, box=box, reboot=reboot)
    return report


def open_new(session: Session, now: datetime, settings: WorkOrderSettings, report: SyncReport) -> None:
    alerts = list(
        session.scalars(
            select(Alert).where(
                Alert.source == CAMERA_ALERT_SOURCE,
                Alert.status == "firing",
                Alert.fingerprint.startswith(CAMERA_FINGERPRINT),
            )
        )
    )
    if not alerts:
        return
    camera_ids = [a.fingerprint.removeprefix(CAMERA_FINGERPRINT) for a in alerts]
    busy = set(
        session.scalars(
            select(WorkOrder.camera_id).where(WorkOrder.camera_id.in_(camera_ids), WorkOrder.state != "closed")
        )
    )
    # An alert that already had its order (closed since, while the patrol's hysteresis still
    # holds the alert open) opens no second one.
    seen = set(session.scalars(select(WorkOrder.alert_id).where(WorkOrder.alert_id.in_([a.id for a in alerts]))))
    cams = {c.id: c for c in session.scalars(select(Camera).where(Camera.id.in_(camera_ids)))}
    for alert, camera_id in zip(alerts, camera_ids, strict=True):
        cam = cams.get(camera_id)
        if cam is None or camera_id in busy or alert.id in seen:
            continue
        area = responsible(session, cam.area_code)
        key = bool(cam.key_place or (area is not None and area.key_area))
        hours = sla_hours(key, settings.sla_key_hours, settings.sla_other_hours)
        order = WorkOrder(
            camera_id=cam.id,
            camera_name=cam.name,
            area_code=cam.area_code,
            contractor_code=area.contractor_code if area else None,
            key_area=key,
            state="open",
            fault=alert.summary[:500],
            verdict=str((alert.labels or {}).get("verdict") or "faulty")[:10],
            alert_id=alert.id,
            sla_hours=hours,
            opened_at=now,
            due_at=due(now, hours),
            reopened=0,
            breached=False,
        )
        session.add(order)
        session.flush()
        session.add(
            WorkOrderEvent(order_id=order.id, at=now, actor=ACTOR, action="open", to_state="open", note=order.fault)
        )
        from govops import audit

        audit.append(
            session,
            actor=ACTOR,
            action="workorders.open",
            target=f"workorder:{order.id}",
            detail={"camera": cam.id, "contractor": order.contractor_code, "sla_hours": hours, "alert": alert.id},
        )
        busy.add(camera_id)
        report.opened.append(order.id)
        if settings.auto_dispatch and order.contractor_code:
            order.dispatched_at = now
            step(session, order, "dispatch", "dispatched", actor=ACTOR, at=now, note=order.contractor_code)
            report.dispatched.append(order.id)
    session.flush()


def latest_diagnosis_after(session: Session, camera_id: str, after: datetime) -> DiagnosisRecord | None:
    return session.scalar(
        select(DiagnosisRecord)
        .where(DiagnosisRecord.camera_id == camera_id, DiagnosisRecord.at > after)
        .order_by(DiagnosisRecord.id.desc())
        .limit(1)
    )


def check_repair(
    session: Session, order: WorkOrder, now: datetime, settings: WorkOrderSettings, *, actor: str = ACTOR
) -> str | None:
    """Judge one repaired order by the newest diagnosis after the repair report: 'verified',
    'reopened', or None while no patrol has looked since."""
    assert order.repaired_at is not None
    rec = latest_diagnosis_after(session, order.camera_id, order.repaired_at)
    if rec is None:
        return None
    if rec.verdict == "ok":
        order.verified_at = now
        step(session, order, "verify", "verified", actor=actor, at=now, note=f"diagnosis {rec.id} ok")
        if settings.auto_close:
            finish(session, order, actor=actor, at=now)
        return "verified"
    order.reopened += 1
    order.repaired_at = None
    codes = ", ".join(f.get("code", "?") for f in rec.faults or []) or rec.error or rec.verdict
    step(
        session,
        order,
        "reopen",
        "dispatched",
        actor=actor,
        at=now,
        note=f"diagnosis {rec.id} {rec.verdict}: {codes}"[:1000],
    )
    return "reopened"


def verify_repaired(session: Session, now: datetime, settings: WorkOrderSettings, report: SyncReport) -> None:
    for order in list(session.scalars(select(WorkOrder).where(WorkOrder.state == "repaired"))):
        outcome = check_repair(session, order, now, settings)
        if outcome == "verified":
            report.verified.append(order.id)
            if order.state == "closed":
                report.closed.append(order.id)
        elif outcome == "reopened":
            report.reopened.append(order.id)


def withdraw_false_alarms(session: Session, now: datetime, report: SyncReport) -> None:
    """Close, as a false alarm, each open or dispatched order whose camera a person accepted as
    normal after the order opened, while the camera's newest diagnosis is still healthy. One
    query for the acceptances since the oldest such order (a handful), then one per match."""
    from govops.audit import AuditRecord

    orders = list(session.scalars(select(WorkOrder).where(WorkOrder.state.in_(("open", "dispatched")))))
    if not orders:
        return
    newest_accept: dict[str, AuditRecord] = {}
    for entry in session.scalars(
        select(AuditRecord)
        .where(AuditRecord.action == ACCEPT_ACTION, AuditRecord.at > min(o.opened_at for o in orders))
        .order_by(AuditRecord.id)
    ):
        newest_accept[entry.target.removeprefix("camera:")] = entry
    for order in orders:
        accepted = newest_accept.get(order.camera_id)
        if accepted is None or as_utc(accepted.at) <= as_utc(order.opened_at):
            continue
        newest = latest_diagnosis_after(session, order.camera_id, order.opened_at)
        if newest is None or newest.verdict != "ok":
            continue
        codes = ", ".join((accepted.detail or {}).get("accepted") or []) or "?"
        finish(
            session,
            order,
            actor=ACTOR,
            at=now,
            action="withdraw",
            note=f"误报 false alarm: {accepted.actor} accepted the camera's picture ({codes}) as normal"[:1000],
        )
        report.withdrawn.append(order.id)
    session.flush()


def check_sla(session: Session, now: datetime, report: SyncReport) -> None:
    late = session.scalars(
        select(WorkOrder).where(
            WorkOrder.state.in_(("open", "dispatched")), WorkOrder.due_at < now, WorkOrder.breached.is_(False)
        )
    )
    from govops import audit

    for order in list(late):
        order.breached = True
        raise_alert(
            session,
            fingerprint=breach_fingerprint(order.id),
            source=ALERT_SOURCE,
            severity="critical" if order.key_area else "warning",
            summary=f"工单 {order.id} 超时 SLA breach: 摄像机 {order.camera_name} ({order.camera_id}) "
            f"{order.sla_hours} h 内未修复, 运维单位 {order.contractor_code or '未指派'}"[:500],
            labels={
                "order": order.id,
                "camera": order.camera_id,
                "area": order.area_code,
                "contractor": order.contractor_code,
                "key_area": order.key_area,
            },
        )
        session.add(
            WorkOrderEvent(
                order_id=order.id,
                at=now,
                actor=ACTOR,
                action="sla_breach",
                from_state=order.state,
                to_state=order.state,
                note=f"due {order.due_at.isoformat()}",
            )
        )
        audit.append(
            session,
            actor=ACTOR,
            action="workorders.sla_breach",
            target=f"workorder:{order.id}",
            result="failure",
            detail={"camera": order.camera_id, "contractor": order.contractor_code},
        )
        report.breached.append(order.id)
    session.flush()


def verify_now(
    session: Session, principal: Any, order_id: int, settings: WorkOrderSettings, *, now: datetime | None = None
) -> WorkOrder:
    """`verify`: judge a repaired order now, from the diagnoses already made."""
    from govops.errors import Conflict
    from monitoring.workorders.lifecycle import _require, get_order

    order = get_order(session, principal, order_id)
    _require(order, "verify")
    outcome = check_repair(session, order, now or datetime.now(UTC), settings, actor=principal.subject)
    if outcome is None:
        raise Conflict(
            f"camera {order.camera_id} has not been diagnosed since the repair report",
            hint=f"run `govops video rediagnose {order.camera_id}` or wait for the next patrol",
        )
    return order
