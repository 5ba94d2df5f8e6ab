"""Work orders driven by the real patrol (OpenCV over the sample district's clips): a fault that
holds for RAISE_AFTER rounds opens one order; the next patrol confirms or refutes a repair; an
order past its SLA raises an alert. Self-healing sends a real ONVIF SystemReboot to the lab's
ipycam camera and to the project's fake ONVIF device, and records what each answered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.runtime import Runtime
from govops.alerts import Alert
from govops.principal import CONTRACTOR, LOCAL_SYSTEM_ADMIN, Principal
from monitoring.workorders import contractors, lifecycle
from monitoring.workorders.models import WorkOrder
from monitoring.workorders.settings import WorkOrderSettings
from monitoring.workorders.sync import SyncReport, sync
from video.catalogue.models import Camera
from video.patrol import Patrol, Policy

pytestmark = pytest.mark.integration

ROAD = "龙山路主干道"  # 石化街道, a key place
RAISE_AFTER = 2
WORKER = Principal("u-a", "甲运维", frozenset({CONTRACTOR}), contractor="a-tech")


def _camera(rt: Runtime, name: str) -> Camera:
    with rt.transaction() as s:
        cam = s.scalars(select(Camera).where(Camera.name == name)).one()
        s.expunge(cam)
        return cam


def _stream(rt: Runtime, camera_id: str, url: str) -> None:
    with rt.transaction() as s:
        s.get(Camera, camera_id).stream_url = url  # type: ignore[union-attr]


def _sync(rt: Runtime, now: datetime | None = None, **kw: object) -> SyncReport:
    with rt.transaction() as s:
        return sync(s, now, WorkOrderSettings(**kw), box=rt.box)  # type: ignore[arg-type]


def _orders(rt: Runtime, camera_id: str) -> list[WorkOrder]:
    with rt.transaction() as s:
        rows = list(s.scalars(select(WorkOrder).where(WorkOrder.camera_id == camera_id)))
        s.expunge_all()
        return rows


@pytest.fixture
def patrolled(district: Runtime, tmp_path: Path) -> tuple[Runtime, Patrol, str, str]:
    """The road camera goes dark (its stream disappears) and a contractor answers for its street."""
    cam = _camera(district, ROAD)
    assert cam.area_code and cam.stream_url
    with district.transaction() as s:
        contractors.add_contractor(s, "a-tech", "甲运维", None, actor="test")
        contractors.assign_area(s, "a-tech", cam.area_code[:9] + "000", key_area=True, actor="test")
    patrol = Patrol(
        district.sessions,
        district.box,
        concurrency=4,
        policy=Policy(raise_after=RAISE_AFTER),
        thresholds=district.thresholds,
    )
    assert patrol.run_round([cam.id]).counts["ok"] == 1
    _stream(district, cam.id, str(tmp_path / "cable-cut.mp4"))
    return district, patrol, cam.id, cam.stream_url


def test_a_held_fault_opens_one_order_and_the_next_patrol_judges_the_repair(
    patrolled: tuple[Runtime, Patrol, str, str],
) -> None:
    rt, patrol, cam, good = patrolled
    rounds = 0
    for _ in range(RAISE_AFTER - 1):
        assert patrol.run_round([cam]).counts["offline"] == 1
        rounds += 1
        assert _sync(rt).opened == [] and _orders(rt, cam) == []  # inside the hysteresis
    assert patrol.run_round([cam]).alerts_raised == 1
    rounds += 1
    assert rounds == RAISE_AFTER
    [oid] = _sync(rt).opened
    for _ in range(3):  # the fault holds: still one order
        patrol.run_round([cam])
        assert _sync(rt).opened == []
    [order] = _orders(rt, cam)
    assert (order.state, order.contractor_code, order.sla_hours, order.verdict) == ("open", "a-tech", 24, "offline")

    with rt.transaction() as s:
        lifecycle.dispatch(s, LOCAL_SYSTEM_ADMIN, oid)
        lifecycle.repair(s, WORKER, oid, "更换光纤收发器")
    # The contractor says it is fixed, but the next patrol still finds no picture: reopened.
    assert _sync(rt).reopened == []  # no patrol since the report yet
    patrol.run_round([cam])
    assert _sync(rt).reopened == [oid]
    [order] = _orders(rt, cam)
    assert (order.state, order.reopened) == ("dispatched", 1)

    with rt.transaction() as s:
        lifecycle.repair(s, WORKER, oid, "重新熔接光缆")
    _stream(rt, cam, good)
    assert patrol.run_round([cam]).counts["ok"] == 1
    done = _sync(rt)
    assert done.verified == [oid] and done.closed == [oid]
    [order] = _orders(rt, cam)
    assert order.state == "closed" and order.repaired_at and order.repaired_at <= order.due_at
    # The patrol's own alert clears after its hysteresis; no second order meanwhile.
    patrol.run_round([cam])
    assert _sync(rt).opened == [] and len(_orders(rt, cam)) == 1


def test_an_order_past_its_sla_raises_an_alert(patrolled: tuple[Runtime, Patrol, str, str]) -> None:
    rt, patrol, cam, _ = patrolled
    for _ in range(RAISE_AFTER):
        patrol.run_round([cam])
    [oid] = _sync(rt).opened
    [order] = _orders(rt, cam)
    assert _sync(rt, order.due_at - timedelta(minutes=1)).breached == []
    assert _sync(rt, order.due_at + timedelta(minutes=1)).breached == [oid]
    with rt.transaction() as s:
        [alert] = s.scalars(select(Alert).where(Alert.source == "monitoring.workorders")).all()
        assert alert.status == "firing" and alert.severity == "critical" and alert.labels["order"] == oid


def _selfheal_on(rt: Runtime, cam: str, address: str, user: str, password: str) -> str:
    with rt.transaction() as s:
        c = s.get(Camera, cam)
        assert c is not None
        c.onvif_address, c.username, c.password_enc = address, user, rt.box.encrypt(password)
    report = _sync(rt, datetime.now(UTC), selfheal=True, selfheal_every_hours=6)
    [attempt] = report.selfheal
    # At most once per window per camera.
    assert _sync(rt, datetime.now(UTC) + timedelta(hours=1), selfheal=True, selfheal_every_hours=6).selfheal == []
    [order] = _orders(rt, cam)
    assert order.selfheal_outcome == attempt["outcome"]
    return str(attempt["outcome"])


def test_selfheal_asks_the_lab_camera_to_reboot(patrolled: tuple[Runtime, Patrol, str, str], onvif_camera) -> None:  # type: ignore[no-untyped-def]
    rt, patrol, cam, _ = patrolled
    for _ in range(RAISE_AFTER):
        patrol.run_round([cam])
    address = f"http://{onvif_camera.host}:{onvif_camera.port}/onvif/device_service"
    outcome = _selfheal_on(rt, cam, address, onvif_camera.user, onvif_camera.password)
    # ipycam 1.3 does not implement SystemReboot: the real answer is a SOAP fault, recorded as such.
    assert outcome.startswith("failed:") and "not supported" in outcome.lower(), outcome


def test_selfheal_against_the_fake_onvif_device(patrolled: tuple[Runtime, Patrol, str, str]) -> None:
    from tools.lab.fake_onvif import DeviceSpec, FakeOnvifFleet

    rt, patrol, cam, _ = patrolled
    for _ in range(RAISE_AFTER):
        patrol.run_round([cam])
    with FakeOnvifFleet([DeviceSpec()], user="admin", password="admin") as fleet:
        outcome = _selfheal_on(rt, cam, fleet.addresses[0], "admin", "admin")
    assert outcome.startswith("failed:") and "not supported" in outcome.lower(), outcome
