"""Fault work orders (运维工单) at scrape time: orders by state and contractor, and the active
orders past their SLA. One grouped query; labels bounded by the five states and the contractors
(a district has a handful), never by orders or cameras."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from monitoring.collectors.base import ScrapeCollector
from monitoring.workorders.models import WorkOrder

UNASSIGNED = "none"


class WorkOrderCollector(ScrapeCollector):
    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def families(self) -> dict[str, Metric]:
        return {
            "orders": GaugeMetricFamily(
                "govops_workorders", "Fault work orders by state and contractor", labels=["state", "contractor"]
            ),
            "overdue": GaugeMetricFamily(
                "govops_workorders_overdue",
                "Open or dispatched orders past their SLA due time, by contractor",
                labels=["contractor"],
            ),
        }

    def fill(self, fams: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        late = case((WorkOrder.state.in_(("open", "dispatched")) & (WorkOrder.due_at < now), 1), else_=0)
        overdue: dict[str, int] = {}
        with self._sessions() as session:
            for contractor, state, n, n_late in session.execute(
                select(WorkOrder.contractor_code, WorkOrder.state, func.count(), func.sum(late)).group_by(
                    WorkOrder.contractor_code, WorkOrder.state
                )
            ):
                who = contractor or UNASSIGNED
                fams["orders"].add_metric([state, who], n)
                overdue[who] = overdue.get(who, 0) + int(n_late or 0)
        for who, n in sorted(overdue.items()):
            fams["overdue"].add_metric([who], n)
