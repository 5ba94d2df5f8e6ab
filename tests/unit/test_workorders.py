"""Work orders: opening from the patrol's alerts, the state machine, SLA, verification by the
next diagnosis, self-healing, the monthly report, contractors' areas (in-process, SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from gateway.runtime import Runtime
from gateway.sample_district import CONTRACTORS
from govops import audit
from govops.alerts import Alert, raise_alert, resolve_alert
from govops.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from govops.principal import CONTRACTOR, LOCAL_SYSTEM_ADMIN, Principal
from monitoring.workorders import contractors, lifecycle, report
from monitoring.workorders.models import WorkOrder
from monitoring.workorders.settings import WorkOrderSettings
from monitoring.workorders.sync import sync
from video.catalogue.models import Camera
from video.patrol.models import DiagnosisRecord

SAMPLE = {code for code, _, _ in CONTRACTORS}  # the sample district's own contractors

T0 = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
ROAD = "龙山路主干道"  # key place
PARK = "朱泾公园"


def cam(rt: Runtime, name: str) -> Camera:
    with rt.transaction() as s:
        c = s.scalars(select(Camera).where(Camera.name == name)).one()
        s.expunge(c)
        return c


def fault(rt: Runtime, camera_id: str, verdict: str = "offline") -> None:
    with rt.transaction() as s:
        raise_alert(
            s,
            fingerprint=f"video.camera:{camera_id}",
            source="video.diagnosis",
            summary=f"摄像机 {camera_id} {verdict}",
            labels={"camera": camera_id, "verdict": verdict},
        )


def diagnosis(rt: Runtime, camera_id: str, verdict: str, at: datetime) -> None:
    with rt.transaction() as s:
        s.add(DiagnosisRecord(camera_id=camera_id, at=at, origin="patrol", verdict=verdict, faults=[], metrics={}))


def run(rt: Runtime, now: datetime, **kw: Any) -> Any:
    with rt.transaction() as s:
        return sync(s, now, WorkOrderSettings(**kw)).as_dict()


@pytest.fixture
def areas(district: Runtime) -> Runtime:
    """Contractor a: street 石化 (key area); b: 朱泾镇; the road camera's street row as 12 digits."""
    road, park = cam(district, ROAD), cam(district, PARK)
    with district.transaction() as s:
        contractors.add_contractor(s, "a-tech", "甲运维", None, actor="t")
        contractors.add_contractor(s, "b-tech", "乙运维", "021-1234", actor="t")
        assert road.area_code and park.area_code
        contractors.assign_area(s, "a-tech", road.area_code[:9] + "000", key_area=True, actor="t")
        contractors.assign_area(s, "b-tech", park.area_code[:9], key_area=False, actor="t")
    return district


def test_area_prefix_drops_zero_groups_and_refuses_junk() -> None:
    assert contractors.area_prefix("310116001000") == "310116001"
    assert contractors.area_prefix("310116000000") == "310116"
    assert contractors.area_prefix("310116001001") == "310116001001"
    with pytest.raises(ValidationFailed, match="admin-division"):
        contractors.area_prefix("shihua")


def test_a_held_fault_opens_one_order_for_the_areas_contractor_with_its_sla(areas: Runtime) -> None:
    road, park = cam(areas, ROAD), cam(areas, PARK)
    fault(areas, road.id)
    fault(areas, park.id, "faulty")
    first = run(areas, T0)
    assert len(first["opened"]) == 2
    assert run(areas, T0 + timedelta(minutes=15))["opened"] == []  # the same alert: no second order
    fault(areas, road.id)  # refreshed by the next round: still one order
    assert run(areas, T0 + timedelta(minutes=30))["opened"] == []
    with areas.transaction() as s:
        orders = {o.camera_id: o for o in s.scalars(select(WorkOrder))}
        assert len(orders) == 2
        r, p = orders[road.id], orders[park.id]
        assert (r.contractor_code, r.key_area, r.sla_hours, r.due_at) == ("a-tech", True, 24, T0 + timedelta(hours=24))
        assert (p.contractor_code, p.key_area, p.sla_hours) == ("b-tech", False, 48)
        assert r.state == "open" and r.verdict == "offline"
        assert any(a.action == "workorders.open" for a in s.scalars(select(audit.AuditRecord)))


def test_lifecycle_confirmed_repair_closes_and_refuted_repair_reopens(areas: Runtime) -> None:
    road = cam(areas, ROAD)
    fault(areas, road.id)
    [oid] = run(areas, T0)["opened"]
    worker = Principal("u-a", "甲", frozenset({CONTRACTOR}), contractor="a-tech")
    with areas.transaction() as s:
        with pytest.raises(Conflict, match="is open; cannot repair") as err:
            lifecycle.repair(s, worker, oid, "done", now=T0)
        assert "dispatch" in (err.value.hint or "")
        lifecycle.dispatch(s, LOCAL_SYSTEM_ADMIN, oid, now=T0 + timedelta(hours=1))
        with pytest.raises(ValidationFailed, match="note"):
            lifecycle.repair(s, worker, oid, "  ")
        lifecycle.repair(s, worker, oid, "更换电源", now=T0 + timedelta(hours=5))
    # The camera is still dead at the next patrol: the order goes back to the contractor.
    diagnosis(areas, road.id, "offline", T0 + timedelta(hours=5, minutes=10))
    assert run(areas, T0 + timedelta(hours=6))["reopened"] == [oid]
    with areas.transaction() as s:
        o = s.get(WorkOrder, oid)
        assert o is not None and (o.state, o.reopened, o.repaired_at) == ("dispatched", 1, None)
        lifecycle.repair(s, worker, oid, "更换光纤收发器", now=T0 + timedelta(hours=8))
    assert run(areas, T0 + timedelta(hours=8, minutes=5))["verified"] == []  # no diagnosis since
    diagnosis(areas, road.id, "ok", T0 + timedelta(hours=8, minutes=20))
    done = run(areas, T0 + timedelta(hours=8, minutes=30))
    assert done["verified"] == [oid] and done["closed"] == [oid]
    with areas.transaction() as s:
        o = s.get(WorkOrder, oid)
        assert o is not None and o.state == "closed"
        d = lifecycle.detail(s, o)
        steps = [(e["action"], e["to"]) for e in d["history"]]
        assert steps == [
            ("open", "open"),
            ("dispatch", "dispatched"),
            ("repair", "repaired"),
            ("reopen", "dispatched"),
            ("repair", "repaired"),
            ("verify", "verified"),
            ("close", "closed"),
        ]
        with pytest.raises(Conflict, match="closed"):
            lifecycle.close(s, LOCAL_SYSTEM_ADMIN, oid)
    # The patrol's alert still fires until its own hysteresis clears: no new order for it.
    assert run(areas, T0 + timedelta(hours=9))["opened"] == []
    # A new fault later (a new alert) opens a new order.
    with areas.transaction() as s:
        resolve_alert(s, f"video.camera:{road.id}")
    fault(areas, road.id)
    assert len(run(areas, T0 + timedelta(days=2))["opened"]) == 1


def test_an_order_past_its_sla_raises_one_alert_and_closing_resolves_it(areas: Runtime) -> None:
    park = cam(areas, PARK)
    fault(areas, park.id, "faulty")
    [oid] = run(areas, T0)["opened"]
    assert run(areas, T0 + timedelta(hours=47))["breached"] == []
    assert run(areas, T0 + timedelta(hours=49))["breached"] == [oid]
    assert run(areas, T0 + timedelta(hours=50))["breached"] == []  # raised once
    with areas.transaction() as s:
        [a] = s.scalars(select(Alert).where(Alert.source == "monitoring.workorders")).all()
        assert a.status == "firing" and a.fingerprint == f"monitoring.workorder:{oid}"
        assert a.labels["contractor"] == "b-tech" and "超时" in a.summary
        lifecycle.dispatch(s, LOCAL_SYSTEM_ADMIN, oid)
        lifecycle.repair(s, LOCAL_SYSTEM_ADMIN, oid, "清洁镜头", now=T0 + timedelta(hours=51))
    diagnosis(areas, park.id, "ok", T0 + timedelta(hours=52))
    run(areas, T0 + timedelta(hours=53))
    with areas.transaction() as s:
        assert s.scalars(select(Alert.status).where(Alert.source == "monitoring.workorders")).one() == "resolved"
        [row] = [r for r in report.monthly(s, "2026-11") if r.contractor == "b-tech"]
        assert (row.opened, row.closed, row.on_time_rate, row.mttr_hours) == (1, 1, 0.0, 51.0)


def test_a_contractor_sees_and_repairs_only_its_own(areas: Runtime) -> None:
    road, park = cam(areas, ROAD), cam(areas, PARK)
    fault(areas, road.id)
    fault(areas, park.id, "faulty")
    run(areas, T0, auto_dispatch=True)
    a = Principal("u-a", "甲", frozenset({CONTRACTOR}), contractor="a-tech")
    nobody = Principal("u-x", "无", frozenset({CONTRACTOR}))
    with areas.transaction() as s:
        mine, _ = lifecycle.list_orders(s, a)
        assert [o.camera_id for o in mine] == [road.id]
        other = s.scalars(select(WorkOrder).where(WorkOrder.camera_id == park.id)).one()
        with pytest.raises(NotFound):
            lifecycle.get_order(s, a, other.id)
        with pytest.raises(NotFound):
            lifecycle.repair(s, a, other.id, "x")
        assert lifecycle.list_orders(s, nobody)[0] == []


def test_cursor_pages_cover_every_order_once(areas: Runtime) -> None:
    with areas.transaction() as s:
        ids = [c for c in s.scalars(select(Camera.id))]
    for c in ids:
        fault(areas, c)
    run(areas, T0)
    seen: list[int] = []
    after = None
    with areas.transaction() as s:
        for _ in range(10):
            page, after = lifecycle.list_orders(s, LOCAL_SYSTEM_ADMIN, after=after, limit=3)
            seen += [o.id for o in page]
            if after is None:
                break
    assert len(seen) == len(ids) == len(set(seen)) and seen == sorted(seen, reverse=True)


def test_a_photo_must_be_a_small_image(areas: Runtime, tmp_path: Path) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 100
    assert lifecycle.store_photo(tmp_path, 1, jpeg, 1000).endswith(".jpg")
    with pytest.raises(ValidationFailed, match="not a JPEG or PNG"):
        lifecycle.store_photo(tmp_path, 1, b"<svg/>", 1000)
    with pytest.raises(ValidationFailed, match="over the limit"):
        lifecycle.store_photo(tmp_path, 1, jpeg, 10)
    assert [p.name for p in (tmp_path / "workorders").iterdir() if p.name.startswith(".")] == []


def test_selfheal_reboots_once_per_window_and_records_the_outcome(areas: Runtime) -> None:
    road = cam(areas, ROAD)
    with areas.transaction() as s:
        s.get(Camera, road.id).onvif_address = "http://127.0.0.1:9/onvif/device_service"  # type: ignore[union-attr]
    calls: list[str] = []

    def reboot(address: str, user: str | None, password: str | None, timeout_s: float) -> str:
        calls.append(address)
        return "Rebooting in 30 seconds"

    fault(areas, road.id)
    with areas.transaction() as s:
        sync(s, T0, WorkOrderSettings(selfheal=False), reboot=reboot)
        assert calls == []
        out = sync(s, T0, WorkOrderSettings(selfheal=True, selfheal_every_hours=24), reboot=reboot)
        assert calls == ["http://127.0.0.1:9/onvif/device_service"]
        assert out.selfheal[0]["outcome"] == "rebooted: Rebooting in 30 seconds"
        sync(s, T0 + timedelta(hours=1), WorkOrderSettings(selfheal=True), reboot=reboot)
        assert len(calls) == 1
        o = s.scalars(select(WorkOrder)).one()
        assert o.selfheal_outcome and o.selfheal_outcome.startswith("rebooted")
        assert s.scalars(
            select(audit.AuditRecord).where(audit.AuditRecord.action == "workorders.selfheal.reboot")
        ).one()


def test_contractor_management_guards(areas: Runtime) -> None:
    with areas.transaction() as s:
        with pytest.raises(Conflict, match="exists"):
            contractors.add_contractor(s, "a-tech", "x", None, actor="t")
        with pytest.raises(ValidationFailed):
            contractors.add_contractor(s, "Bad Code", "x", None, actor="t")
        with pytest.raises(NotFound):
            contractors.assign_area(s, "zz", "310116", key_area=False, actor="t")
        listed = contractors.list_contractors(s)
        assert [c["code"] for c in listed if c["code"] not in SAMPLE] == ["a-tech", "b-tech"]
    fault(areas, cam(areas, PARK).id)
    [oid] = run(areas, T0, auto_dispatch=True)["opened"]
    # Sees the order through its department (cgj), but it is b-tech's to repair.
    both = Principal("u", "u", frozenset({CONTRACTOR, "dept-admin"}), department="cgj", contractor="a-tech")
    with areas.transaction() as s, pytest.raises(PermissionDenied, match="not assigned to you"):
        lifecycle.repair(s, both, oid, "x")


def test_month_must_be_a_month() -> None:
    with pytest.raises(ValidationFailed, match="YYYY-MM"):
        report.month_bounds("2026-13")
    assert report.month_bounds("2026-12", ZoneInfo("UTC"))[1] == datetime(2027, 1, 1, tzinfo=UTC)
    # 运维考核 counts the district's calendar month: Beijing's December begins at 16:00 UTC on 30 Nov
    assert report.month_bounds("2026-12", ZoneInfo("Asia/Shanghai")) == (
        datetime(2026, 11, 30, 16, tzinfo=UTC),
        datetime(2026, 12, 31, 16, tzinfo=UTC),
    )
    assert report.month_bounds("2026-12") == report.month_bounds("2026-12", ZoneInfo("Asia/Shanghai"))


def test_system_reboot_speaks_onvif_and_reads_the_answer() -> None:
    """`video.onvif.system_reboot` over real SOAP (zeep) to a fake device that implements it."""
    import asyncio

    from tools.lab.fake_onvif import ENVELOPE, DeviceSpec, DeviceState, FakeOnvifFleet
    from video.onvif import DeviceError, system_reboot

    class Rebootable(FakeOnvifFleet):
        reboots = 0

        def _answer(self, d: DeviceState, action: str, body: str, now: datetime) -> str:
            if action == "SystemReboot":
                Rebootable.reboots += 1
                return ENVELOPE.format(
                    body="<tds:SystemRebootResponse><tds:Message>Rebooting in 30 seconds</tds:Message>"
                    "</tds:SystemRebootResponse>"
                )
            return super()._answer(d, action, body, now)

    with Rebootable([DeviceSpec()], user="admin", password="pw") as fleet:
        assert asyncio.run(system_reboot(fleet.addresses[0], "admin", "pw")) == "Rebooting in 30 seconds"
        with pytest.raises(DeviceError, match=r"authori|auth"):
            asyncio.run(system_reboot(fleet.addresses[0], "admin", "wrong"))
    assert Rebootable.reboots == 1


def test_the_monthly_csv_opens_a_contractor_named_like_a_formula_as_text(areas: Runtime) -> None:
    """CSV injection: a contractor named `=HYPERLINK(…)` ran as a formula in the spreadsheet of
    whoever opened the 运维考核 report; now it is text, and the numbers stay numbers."""
    import csv
    import io

    with areas.transaction() as s:
        contractors.add_contractor(s, "c-tech", '=HYPERLINK("http://127.0.0.1/x","看")', None, actor="t")
        contractors.assign_area(s, "c-tech", "310116", key_area=False, actor="t")
        rows = report.monthly(s, "2026-11")
    cells = list(csv.reader(io.StringIO(report.to_csv(rows))))
    named = [r for r in cells[1:] if r[0] == "c-tech"]
    assert named and all(r[1] == '\'=HYPERLINK("http://127.0.0.1/x","看")' for r in named)
    assert all(not c.startswith(("=", "+", "@")) for r in cells for c in r)
