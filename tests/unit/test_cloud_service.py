"""The provisioning service's own logic, with a fake engine (the real `pulumi up` is in
tests/integration/test_cloud_pulumi.py)."""

from __future__ import annotations

import threading

import pytest
import yaml

from govops import alerts, audit
from govops.errors import Conflict, NotFound, PermissionDenied, ServiceUnavailable, ValidationFailed
from govops.principal import DEPT_ADMIN, LOCAL_SYSTEM_ADMIN, Principal
from infra.provisioning import service as service_module
from infra.provisioning.binaries import PulumiBinaries
from infra.provisioning.changes import PropertyChange, ResourceChange, property_changes, step_change
from infra.provisioning.contract import EngineResult, Watch
from infra.provisioning.models import CloudRun
from infra.provisioning.quota import QuotaDesk
from infra.provisioning.runs import RunKind, RunStatus
from infra.provisioning.service import Provisioning
from tests.conftest import client_as

GAJ = Principal("gaj-admin", "公安管理员", frozenset({DEPT_ADMIN}), department="gaj")
QUOTA_URN = "urn:pulumi:lab::govops-cloud::govops:cloud:DepartmentTenant$kubernetes:core/v1:ResourceQuota::gaj-quota"
DRIFTED = ResourceChange(
    QUOTA_URN, "kubernetes:core/v1:ResourceQuota", "update", (PropertyChange('spec.hard["requests.cpu"]', "16", "99"),)
)


class FakeEngine:
    """The engine contract (infra/provisioning/contract.py), answering from a shared box."""

    def __init__(self, cfg, box):
        self.cfg, self.box = cfg, box
        self.seen = yaml.safe_load(cfg.departments_file.read_text())
        self.calls: list[str] = []

    def _go(self, op: str, watch: Watch | None) -> EngineResult:
        self.calls.append(op)
        if watch and watch.on_output:
            watch.on_output(f"{op} (lab)\n")
        if watch and watch.on_event:
            watch.on_event("resource_pre", {"urn": QUOTA_URN, "type": "kubernetes:core/v1:ResourceQuota", "op": op})
        if self.box["gate"]:
            self.box.setdefault("waiting", threading.Event()).set()
            self.box["gate"].wait(10)
        if not self.box["ok"]:
            return EngineResult(False, {}, "log", "error: boom")
        changes = list(self.box["changes"].get(op, []))
        return EngineResult(True, {"same": 3, **({"update": len(changes)} if changes else {})}, "log", None, changes)

    def preview(self, watch=None):
        return self._go("preview", watch)

    def up(self, watch=None, *, refresh=False):
        return self._go("up+refresh" if refresh else "up", watch)

    def refresh(self, watch=None):
        return self._go("refresh", watch)

    def drift(self, watch=None):
        return self._go("drift", watch)


@pytest.fixture
def binaries(tmp_path) -> PulumiBinaries:
    d = tmp_path / "bin"
    d.mkdir()
    for name in ("pulumi", "pulumi-resource-kubernetes"):
        (d / name).write_text("")
    return PulumiBinaries(cli_dir=d, provider_dir=d)


@pytest.fixture
def service(runtime, binaries, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    runtime.settings.kubeconfig = kubeconfig
    engines: list[FakeEngine] = []
    box: dict = {"ok": True, "gate": None, "changes": {}}

    def factory(cfg):
        engines.append(FakeEngine(cfg, box))
        return engines[-1]

    svc = Provisioning(runtime.settings, runtime.sessions, binaries=binaries, engine_factory=factory)
    svc.engines, svc.box = engines, box
    return svc


def _wait_finished(svc: Provisioning, run_id: int):
    """Join the background run's thread (its record and follow-up are written when it ends)."""
    threads = [t for t in threading.enumerate() if t.name.startswith("cloud-") and t.name.endswith(f"-{run_id}")]
    for t in threads:
        t.join(60)
    return svc.get_run(run_id)


def test_runs_are_typed_stored_and_audited(service, runtime):
    run = service.up("ops")
    assert run.status is RunStatus.SUCCEEDED and run.kind is RunKind.UP and run.counts == {"same": 3}
    assert service.runs()[0].id == run.id
    assert service.engines[-1].calls == ["up"]
    with runtime.sessions() as s:
        rec = s.query(audit.AuditRecord).filter_by(action="cloud.up").one()
        assert rec.result == "success" and audit.verify(s).ok


def test_each_operation_is_its_own_engine_method(service):
    for op, kind in (("preview", RunKind.PREVIEW), ("refresh", RunKind.REFRESH), ("drift", RunKind.DRIFT)):
        run = getattr(service, op)("ops")
        assert run.kind is kind and service.engines[-1].calls == [op]
    assert service.destroy_tenant("cgj", "ops").kind is RunKind.DESTROY_TENANT
    assert service.engines[-1].calls == ["up"]


def test_failed_up_keeps_the_declared_departments(service):
    before = service.declared_file.read_text()
    service.box["ok"] = False
    run = service.destroy_tenant("cgj", "ops")
    assert run.status is RunStatus.FAILED and "boom" in run.error
    assert service.declared_file.read_text() == before
    assert "cgj" not in {d["code"] for d in service.engines[-1].seen["departments"]}
    assert not list(service.dir.glob("departments.candidate-*"))
    service.box["ok"] = True
    assert service.destroy_tenant("cgj", "ops").ok
    assert "cgj" not in {t["code"] for t in service.tenants()}


def test_one_busy_check_for_waiting_and_background_runs(service):
    gate = threading.Event()
    service.box["gate"] = gate
    started = service.up("ops", wait=False)  # returns at once with the running run
    try:
        assert started.status is RunStatus.RUNNING
        with pytest.raises(Conflict, match=rf"busy.*run #{started.id}"):
            service.preview("someone-else")
        with pytest.raises(Conflict, match="busy"):
            service.drift("someone-else", wait=False)
        assert [r.id for r in service.runs()] == [started.id]  # refused runs leave no row
    finally:
        gate.set()
    assert _wait_finished(service, started.id).ok
    assert service.preview("someone-else").ok  # the lock was released by the background run


def test_missing_binaries_or_kubeconfig_refuse_before_a_run_exists(service, runtime, tmp_path):
    service.binaries = PulumiBinaries(cli_dir=tmp_path / "nowhere", provider_dir=tmp_path / "nowhere")
    with pytest.raises(ServiceUnavailable, match="pulumi is not installed") as exc:
        service.up("ops", wait=False)
    assert "GOVOPS_PULUMI_BIN_DIR" in (exc.value.hint or "")
    runtime.settings.kubeconfig = tmp_path / "missing-kubeconfig"
    with pytest.raises(ServiceUnavailable, match="kubeconfig"):
        service.up("ops")
    assert service.runs() == []


def test_binaries_are_resolved_from_the_kernel_settings(monkeypatch, tmp_path):
    from importlib.metadata import version

    from govops.settings import load_settings

    monkeypatch.setenv("GOVOPS_CACHE", str(tmp_path))
    b = PulumiBinaries.from_settings(load_settings(data_dir=tmp_path))
    assert b.cli_dir == tmp_path / f"pulumi-{version('pulumi')}" / "bin"
    assert b.provider_dir == tmp_path / f"pulumi-kubernetes-{version('pulumi_kubernetes')}" / "bin"
    monkeypatch.setenv("GOVOPS_PULUMI_BIN_DIR", str(tmp_path / "x"))
    monkeypatch.setenv("GOVOPS_PULUMI_PROVIDER_DIR", str(tmp_path / "y"))
    explicit = PulumiBinaries.from_settings(load_settings(data_dir=tmp_path))
    assert explicit == PulumiBinaries(tmp_path / "x", tmp_path / "y")


def test_the_service_takes_its_binaries_from_its_settings(runtime, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    runtime.settings.kubeconfig = kubeconfig
    runtime.settings.components_dir = tmp_path / "empty-cache"
    svc = Provisioning(runtime.settings, runtime.sessions, engine_factory=lambda cfg: FakeEngine(cfg, {}))
    with pytest.raises(ServiceUnavailable, match="empty-cache"):
        svc.preview("ops")


def test_a_run_left_running_by_a_dead_process_is_closed(service, runtime):
    from datetime import UTC, datetime

    with runtime.sessions.begin() as s:
        s.add(CloudRun(stack=service.stack, kind="up", status="running", actor="x", started_at=datetime.now(UTC)))
    assert service.preview("ops").ok
    stale = service.runs()[-1]
    assert stale.status is RunStatus.FAILED and "interrupted" in stale.error


def test_drift_reports_changes_and_raises_then_resolves_an_alert(service, runtime):
    service.box["changes"] = {"drift": [DRIFTED]}
    run = service.drift("ops")
    assert run.ok and [c.name for c in run.changes] == ["gaj-quota"]
    assert run.changes[0].properties[0].as_dict() == {
        "path": 'spec.hard["requests.cpu"]',
        "kind": "update",
        "old": "16",
        "new": "99",
    }
    assert service.get_run(run.id).changes == run.changes  # stored, not only returned
    assert service.engines[-1].calls == ["drift"]  # a refresh preview, never refresh or up
    with runtime.sessions() as s:
        alert = alerts.open_alert(s, f"cloud-drift-{service.stack}")
        assert alert is not None and "gaj-quota" in alert.summary and alert.source == "cloud"
    service.box["changes"] = {}
    reverted = service.up("ops", revert_drift=True)
    assert reverted.ok and reverted.kind is RunKind.UP and service.engines[-1].calls == ["up+refresh"]
    with runtime.sessions() as s:
        (record,) = audit.query(s, action="cloud.revert-drift")  # its own audited action, not a plain up
        assert record.actor == "ops" and record.detail["run"] == reverted.id
    assert service.drift("ops").changes == ()
    with runtime.sessions() as s:
        assert alerts.open_alert(s, f"cloud-drift-{service.stack}") is None


def test_property_changes_skip_what_the_apiserver_rewrites():
    old = {
        "metadata": {"name": "q", "resourceVersion": "1", "managedFields": [1]},
        "spec": {"hard": {"requests.cpu": "16", "pods": "50"}},
        "status": {"used": {"pods": "0"}},
    }
    new = {
        "metadata": {"name": "q", "resourceVersion": "9", "managedFields": [2]},
        "spec": {"hard": {"requests.cpu": "99", "pods": "50", "limits.cpu": "1"}},
        "status": {"used": {"pods": "3"}},
    }
    assert [(p.path, p.kind) for p in property_changes(old, new)] == [
        ('spec.hard["limits.cpu"]', "add"),
        ('spec.hard["requests.cpu"]', "update"),
    ]
    assert step_change("refresh", QUOTA_URN, "kubernetes:core/v1:ResourceQuota", old, old) is None
    assert step_change("refresh", QUOTA_URN, "kubernetes:core/v1:ResourceQuota", old, None).op == "delete"
    assert step_change("update", "urn::t", "govops:cloud:DepartmentTenant", old, new) is None
    assert "requests.cpu" in step_change("update", QUOTA_URN, "kubernetes:core/v1:ResourceQuota", old, new).describe()


def test_quota_request_is_previewed_then_approved(service, runtime):
    desk = QuotaDesk(service)
    with pytest.raises(PermissionDenied):
        desk.request(GAJ, "cgj", {"cpu": "32"}, "not mine")
    with pytest.raises(ValidationFailed, match="negative"):
        desk.request(GAJ, "gaj", {"cpu": "-1"}, "negative")
    with pytest.raises(ValidationFailed, match="unknown quota field"):
        desk.request(GAJ, "gaj", {"gpus": "1"}, "typo")
    req = desk.request(GAJ, "gaj", {"cpu": "24"}, "video analytics for 雪亮工程")
    assert req["status"] == "pending" and req["quota"]["cpu"] == "24"
    assert [r["id"] for r in desk.list(GAJ)] == [req["id"]]
    with pytest.raises(Conflict, match="no current preview"):
        desk.approve(LOCAL_SYSTEM_ADMIN, req["id"])
    change = ResourceChange(QUOTA_URN, "kubernetes:core/v1:ResourceQuota", "update")
    service.box["changes"] = {"preview": [change]}
    preview = desk.preview(LOCAL_SYSTEM_ADMIN, req["id"])
    assert preview.kind is RunKind.PREVIEW and preview.target == "gaj" and preview.changes == (change,)
    shown = desk.show(LOCAL_SYSTEM_ADMIN, req["id"])
    assert shown["preview_current"] and shown["preview"]["changes"][0]["name"] == "gaj-quota"
    assert service.engines[-1].seen["departments"][0]["quota"]["cpu"] == "24"  # previewed the candidate
    request, run = desk.approve(LOCAL_SYSTEM_ADMIN, req["id"])
    assert run.ok and run.kind is RunKind.UP and request["status"] == "applied"
    assert next(t for t in service.tenants() if t["code"] == "gaj")["quota"]["cpu"] == "24"
    with pytest.raises(Conflict):
        desk.approve(LOCAL_SYSTEM_ADMIN, req["id"])
    with runtime.sessions() as s:
        actions = [r.action for r in s.query(audit.AuditRecord).order_by(audit.AuditRecord.id)]
    for step in ("cloud.quota.request", "cloud.quota.preview", "cloud.quota.approve", "cloud.quota.apply"):
        assert step in actions


def test_a_stale_preview_is_not_approvable(service):
    desk = QuotaDesk(service)
    req = desk.request(LOCAL_SYSTEM_ADMIN, "gaj", {"cpu": "24"}, "more")
    desk.preview(LOCAL_SYSTEM_ADMIN, req["id"])
    service.destroy_tenant("cgj", "ops")  # the declared cloud changed since the preview
    assert not desk.show(LOCAL_SYSTEM_ADMIN, req["id"])["preview_current"]
    with pytest.raises(Conflict, match="no current preview"):
        desk.approve(LOCAL_SYSTEM_ADMIN, req["id"])


def test_a_failed_apply_leaves_the_request_approvable(service):
    desk = QuotaDesk(service)
    req = desk.request(LOCAL_SYSTEM_ADMIN, "gaj", {"pods": 80}, "more pods")
    desk.preview(LOCAL_SYSTEM_ADMIN, req["id"])
    service.box["ok"] = False
    _, run = desk.approve(LOCAL_SYSTEM_ADMIN, req["id"])
    assert not run.ok
    again = desk.show(LOCAL_SYSTEM_ADMIN, req["id"])
    assert again["status"] == "pending" and "boom" in again["decision_note"] and again["preview_current"]
    service.box["ok"] = True
    _, run = desk.approve(LOCAL_SYSTEM_ADMIN, req["id"])
    assert run.ok and desk.show(LOCAL_SYSTEM_ADMIN, req["id"])["status"] == "applied"


def test_cloud_api_roles_and_background_approval(app, district, binaries, monkeypatch, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    district.settings.kubeconfig = kubeconfig
    district.settings.pulumi_bin_dir, district.settings.pulumi_provider_dir = binaries.cli_dir, binaries.provider_dir
    box: dict = {"ok": True, "gate": None, "changes": {"preview": [DRIFTED]}}
    monkeypatch.setattr(service_module, "_pulumi_engine", lambda cfg: FakeEngine(cfg, box))
    gaj, ops = client_as(app, GAJ), client_as(app, LOCAL_SYSTEM_ADMIN)
    assert [t["code"] for t in gaj.get("/api/cloud/tenants").json()["items"]] == ["gaj"]
    assert gaj.get("/api/cloud/runs").status_code == 403
    assert gaj.post("/api/cloud/up").status_code == 403
    assert gaj.post("/api/cloud/drift").status_code == 403
    r = gaj.post("/api/cloud/quota-requests", json={"department": "cgj", "quota": {"cpu": "9"}, "reason": "x"})
    assert r.status_code == 403
    r = gaj.post("/api/cloud/quota-requests", json={"department": "gaj", "quota": {"cpu": "9"}, "reason": "x"})
    assert r.status_code == 201
    rid = r.json()["id"]
    assert gaj.post(f"/api/cloud/quota-requests/{rid}/approve").status_code == 403
    assert gaj.post(f"/api/cloud/quota-requests/{rid}/preview").status_code == 403
    assert gaj.get(f"/api/cloud/quota-requests/{rid}").status_code == 200
    assert len(ops.get("/api/cloud/tenants").json()["items"]) == 5

    r = ops.post(f"/api/cloud/quota-requests/{rid}/approve")
    assert r.status_code == 409 and "preview" in r.json()["hint"]
    gate = threading.Event()
    box["gate"] = gate
    r = ops.post(f"/api/cloud/quota-requests/{rid}/preview")
    assert r.status_code == 202 and r.json()["run"]["status"] == "running"
    assert ops.post("/api/cloud/up").status_code == 409  # busy while the preview runs
    assert box.setdefault("waiting", threading.Event()).wait(30)  # the engine is running, held at the gate
    following = ops.get(r.json()["follow"]).json()  # a run still going shows its log and progress
    assert following["status"] == "running" and "preview (lab)" in following["log"]
    assert set(following["summary"]) == {"resources_started", "resources_done"}  # written every 2 s
    gate.set()
    preview_id = r.json()["run"]["id"]
    svc = Provisioning(district.settings, district.sessions)
    assert _wait_finished(svc, preview_id).ok
    shown = gaj.get(f"/api/cloud/quota-requests/{rid}").json()
    assert shown["preview_current"]
    assert shown["preview"]["changes"][0]["properties"][0]["new"] == "99"
    r = ops.post(f"/api/cloud/quota-requests/{rid}/approve")
    assert r.status_code == 202 and r.json()["follow"] == f"/api/v1/cloud/runs/{r.json()['run']['id']}"
    assert r.json()["request"]["status"] == "applying"
    assert _wait_finished(svc, r.json()["run"]["id"]).ok
    assert ops.get(f"/api/cloud/quota-requests/{rid}").json()["status"] == "applied"
    log = ops.get(f"/api/cloud/runs/{r.json()['run']['id']}").json()
    assert log["log"] and log["kind"] == "up"
    assert ops.get("/api/cloud/quota-requests/9999").status_code == 404


def test_unknown_tenant_is_a_clear_error(service):
    with pytest.raises(NotFound, match="no tenant 'nope'"):
        service.destroy_tenant("nope", "ops")


def test_a_bad_workload_is_refused_before_the_run(service):
    (service.workloads_dir / "gaj").mkdir(parents=True)
    (service.workloads_dir / "gaj" / "x.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    with pytest.raises(ValidationFailed, match=r"x\.yaml: kind Namespace") as exc:
        service.up("ops")
    assert exc.value.hint and service.runs() == []


def test_engine_events_become_changes_and_policy_messages():
    """The real engine's follower, fed the JSON events the Pulumi CLI writes (no stdout scraping)."""
    from pulumi import automation as auto

    from infra.provisioning.engine import _Follower

    seen: list[tuple[str, str]] = []
    f = _Follower(Watch(on_event=lambda kind, data: seen.append((kind, data["op"]))), live=True)

    def state(cpu: str) -> dict:
        return {"outputs": {"spec": {"hard": {"requests.cpu": cpu}}, "metadata": {"resourceVersion": cpu}}}

    step = {"op": "refresh", "urn": QUOTA_URN, "type": "kubernetes:core/v1:ResourceQuota", "provider": ""}
    events = [
        {"resourcePreEvent": {"metadata": {**step, "old": state("16"), "new": state("99")}}},
        {"resourcePreEvent": {"metadata": {**step, "urn": QUOTA_URN + "2", "old": state("4"), "new": state("4")}}},
        {
            "policyEvent": {
                "message": "No privileged containers.\n  privileged containers are not allowed: shell",
                "policyName": "no-privileged-pods",
                "enforcementLevel": "mandatory",
                "resource_urn": "urn:pulumi:it::govops-cloud::kubernetes:apps/v1:Deployment::gaj-shell",
            }
        },
        {"summaryEvent": {"resourceChanges": {"same": 1, "update": 1}}},
    ]
    for e in events:
        f.event(auto.events.EngineEvent.from_json({"sequence": 1, "timestamp": 0, **e}))
    assert seen == [("resource_pre", "refresh"), ("resource_pre", "refresh")]
    assert f.changes == [DRIFTED] and f.counts == {"same": 1, "update": 1}
    failed = f.failed(auto.CommandError("error: update failed"))
    assert failed.error == (
        "refused by the MLPS policy pack: policy no-privileged-pods on gaj-shell: "
        "No privileged containers. privileged containers are not allowed: shell"
    )
