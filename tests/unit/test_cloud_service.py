"""The provisioning service's own logic, with a fake engine (the real `pulumi up` is in
tests/integration/test_cloud_*)."""

from __future__ import annotations

import threading

import pytest
import yaml

from govops import audit
from govops.errors import Conflict, PermissionDenied, ValidationFailed
from govops.principal import DEPT_ADMIN, LOCAL_ADMIN, Principal
from infra.service import provisioning as prov
from infra.service.engine import EngineResult
from infra.service.provisioning import Provisioning
from infra.service.quota import QuotaDesk
from tests.conftest import client_as

GAJ = Principal("gaj-admin", "公安管理员", frozenset({DEPT_ADMIN}), department="gaj")


class FakeEngine:
    def __init__(self, cfg, ok=True, gate: threading.Event | None = None):
        self.cfg, self.ok, self.gate = cfg, ok, gate
        self.seen = yaml.safe_load(cfg.departments_file.read_text())

    def _go(self, on_event=None, on_output=None):
        if self.gate:
            self.gate.wait(10)
        if on_output:
            on_output("Updating (lab)\n")
        return EngineResult(self.ok, {"same": 3} if self.ok else {}, "log", None if self.ok else "error: boom")

    preview = up = refresh = _go


@pytest.fixture
def service(runtime, monkeypatch):
    monkeypatch.setattr(prov, "_bin_dirs", lambda: [])
    engines: list[FakeEngine] = []
    box = {"ok": True, "gate": None}

    def factory(cfg):
        engines.append(FakeEngine(cfg, box["ok"], box["gate"]))
        return engines[-1]

    svc = Provisioning(runtime.settings, runtime.sessions, engine_factory=factory)
    svc.engines, svc.box = engines, box
    return svc


def test_runs_are_stored_and_audited(service, runtime):
    run = service.up("ops")
    assert run["status"] == "succeeded" and run["summary"] == {"same": 3}
    assert service.runs()[0]["id"] == run["id"]
    with runtime.sessions() as s:
        rec = s.query(audit.AuditRecord).filter_by(action="cloud.up").one()
        assert rec.result == "success" and audit.verify(s).ok


def test_failed_up_keeps_the_declared_departments(service):
    before = service.declared_file.read_text()
    service.box["ok"] = False
    run = service.destroy_tenant("cgj", "ops")
    assert run["status"] == "failed" and "boom" in run["error"]
    assert service.declared_file.read_text() == before
    assert "cgj" not in {d["code"] for d in service.engines[-1].seen["departments"]}
    service.box["ok"] = True
    assert service.destroy_tenant("cgj", "ops")["status"] == "succeeded"
    assert "cgj" not in {t["code"] for t in service.tenants()}


def test_concurrent_runs_are_refused(service):
    gate = threading.Event()
    service.box["gate"] = gate
    t = threading.Thread(target=service.up, args=("ops",))
    t.start()
    try:
        for _ in range(100):
            if service.runs() and service.runs()[0]["status"] == "running":
                break
            threading.Event().wait(0.05)
        with pytest.raises(Conflict, match=r"busy.*run #1"):
            service.preview("someone-else")
    finally:
        gate.set()
        t.join()


def test_quota_request_workflow(service):
    desk = QuotaDesk(service)
    with pytest.raises(PermissionDenied):
        desk.request(GAJ, "cgj", {"cpu": "32"}, "not mine")
    with pytest.raises(ValidationFailed):
        desk.request(GAJ, "gaj", {"cpu": "-1"}, "negative")
    req = desk.request(GAJ, "gaj", {"cpu": "24"}, "video analytics for 雪亮工程")
    assert req["status"] == "pending" and req["quota"]["cpu"] == "24"
    assert [r["id"] for r in desk.list(GAJ)] == [req["id"]]
    done = desk.approve(LOCAL_ADMIN, req["id"])
    assert done["status"] == "applied" and done["run"]["kind"] == "up"
    assert [e.cfg.departments_file.name.startswith("departments.candidate") for e in service.engines] == [True, True]
    gaj = next(t for t in service.tenants() if t["code"] == "gaj")
    assert gaj["quota"]["cpu"] == "24"
    with pytest.raises(Conflict):
        desk.approve(LOCAL_ADMIN, req["id"])


def test_cloud_api_roles(app, monkeypatch, tmp_path):
    monkeypatch.setattr(prov, "_bin_dirs", lambda: [])
    gaj = client_as(app, GAJ)
    assert [t["code"] for t in gaj.get("/api/cloud/tenants").json()["items"]] == ["gaj"]
    assert gaj.get("/api/cloud/runs").status_code == 403
    assert gaj.post("/api/cloud/up").status_code == 403
    r = gaj.post("/api/cloud/quota-requests", json={"department": "cgj", "quota": {"cpu": "9"}, "reason": "x"})
    assert r.status_code == 403
    r = gaj.post("/api/cloud/quota-requests", json={"department": "gaj", "quota": {"cpu": "9"}, "reason": "x"})
    assert r.status_code == 201
    assert gaj.post(f"/api/cloud/quota-requests/{r.json()['id']}/approve").status_code == 403
    assert len(client_as(app, LOCAL_ADMIN).get("/api/cloud/tenants").json()["items"]) == 5
