"""Self-healing (告警自愈), opt-in (GOVOPS_WORKORDERS_SELFHEAL=true): a camera that stopped
answering (offline, signal loss) gets one ONVIF SystemReboot, at most once every
`selfheal_every_hours` per camera; the outcome is written on the order and in the audit log.

A reboot is only tried; whether it helped is for the next patrol to say, like any repair.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import GovopsError
from govops.secretbox import SecretBox
from monitoring.workorders.models import WorkOrder, WorkOrderEvent
from monitoring.workorders.settings import WorkOrderSettings
from video.catalogue.models import Camera

if TYPE_CHECKING:
    from monitoring.workorders.sync import Rebooter, SyncReport

ACTOR = "system:selfheal"
NOT_ANSWERING = ("offline",)


def onvif_reboot(address: str, user: str | None, password: str | None, timeout_s: float) -> str:
    """The default rebooter: the video room's ONVIF adapter, on a loop of its own."""
    from video.onvif import system_reboot

    return asyncio.run(system_reboot(address, user, password, request_timeout_s=timeout_s))


def _last_attempt(session: Session, camera_id: str) -> datetime | None:
    from govops.db import as_utc

    last = session.scalar(select(func.max(WorkOrder.selfheal_at)).where(WorkOrder.camera_id == camera_id))
    return as_utc(last) if last else None


def heal(
    session: Session,
    now: datetime,
    settings: WorkOrderSettings,
    report: SyncReport,
    *,
    box: SecretBox | None,
    reboot: Rebooter | None = None,
) -> None:
    reboot = reboot or onvif_reboot
    candidates = session.scalars(
        select(WorkOrder).where(
            WorkOrder.state.in_(("open", "dispatched")),
            WorkOrder.verdict.in_(NOT_ANSWERING),
            WorkOrder.selfheal_at.is_(None),
        )
    )
    for order in list(candidates):
        cam = session.get(Camera, order.camera_id)
        if cam is None or not cam.onvif_address:
            continue
        last = _last_attempt(session, cam.id)
        if last is not None and now - last < timedelta(hours=settings.selfheal_every_hours):
            continue
        password = box.decrypt(cam.password_enc) if (box is not None and cam.password_enc) else None
        try:
            message = reboot(cam.onvif_address, cam.username, password, settings.selfheal_timeout_s)
            outcome, result = f"rebooted: {message}", "success"
        except GovopsError as exc:
            outcome, result = f"failed: {exc.message}", "failure"
        except Exception as exc:  # a rebooter must not stop the sync step for the others
            outcome, result = f"failed: {exc.__class__.__name__}", "failure"
        order.selfheal_at = now
        order.selfheal_outcome = outcome[:300]
        session.add(
            WorkOrderEvent(
                order_id=order.id,
                at=now,
                actor=ACTOR,
                action="selfheal",
                from_state=order.state,
                to_state=order.state,
                note=order.selfheal_outcome,
            )
        )
        audit.append(
            session,
            actor=ACTOR,
            action="workorders.selfheal.reboot",
            target=f"camera:{cam.id}",
            result=result,
            detail={"order": order.id, "outcome": order.selfheal_outcome},
        )
        report.selfheal.append({"order": order.id, "camera": cam.id, "outcome": order.selfheal_outcome})
    session.flush()
