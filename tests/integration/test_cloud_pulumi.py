"""The e-government cloud for real: `pulumi up` through the provisioning service against the lab's
kube-apiserver (etcd, controller-manager, scheduler, kwok nodes)."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
import yaml

from gateway.runtime import Runtime
from govops.principal import LOCAL_SYSTEM_ADMIN
from govops.settings import load_settings
from infra.provisioning.contract import Watch
from infra.provisioning.quota import QuotaDesk
from infra.provisioning.service import Provisioning
from tests.fixtures.platform import need, wait_for
from tools.components import component_dir
from tools.lab.kube import wait_deployment_ready

pytestmark = pytest.mark.integration
TENANTS = {"dept-gaj", "dept-zzb", "dept-cgj", "dept-xzspj", "dept-dsjj"}


@pytest.fixture(scope="module")
def cloud(kube, tmp_path_factory):
    d = tmp_path_factory.mktemp("cloud")
    settings = load_settings(
        data_dir=d / "data",
        kubeconfig=kube.kubeconfig,
        pulumi_passphrase="integration-pass",
        pulumi_stack="it",
        environment="test",
    )
    rt = Runtime.build(settings)
    rt.migrate()
    return Provisioning(settings, rt.sessions)


def _tenant_namespaces(c) -> set[str]:
    items = c.get("/api/v1/namespaces", params={"labelSelector": "govops.cn/tenant=true"}).json()["items"]
    return {n["metadata"]["name"] for n in items if n["status"].get("phase") != "Terminating"}


def _quota_rv(c) -> dict[str, str]:
    return {
        ns: c.get(f"/api/v1/namespaces/{ns}/resourcequotas/tenant-quota").json()["metadata"]["resourceVersion"]
        for ns in sorted(_tenant_namespaces(c))
    }


def test_1_up_creates_five_fenced_tenants(cloud, kube):
    from kubernetes import client, config

    run = cloud.up("ops")
    assert run.ok, run.error
    assert run.counts.get("create", 0) >= 5 * 9
    api = config.new_client_from_config(str(kube.kubeconfig))
    core, net, rbac = client.CoreV1Api(api), client.NetworkingV1Api(api), client.RbacAuthorizationV1Api(api)
    assert {n.metadata.name for n in core.list_namespace(label_selector="govops.cn/tenant=true").items} == TENANTS
    quota = core.read_namespaced_resource_quota("tenant-quota", "dept-gaj")
    assert quota.spec.hard["requests.cpu"] == "16" and quota.spec.hard["services.loadbalancers"] == "0"
    policies = {p.metadata.name for p in net.list_namespaced_network_policy("dept-gaj").items}
    assert {"default-deny", "allow-same-namespace", "allow-from-platform", "allow-dns", "allow-same-zone"} <= policies
    assert "allow-same-zone" not in {p.metadata.name for p in net.list_namespaced_network_policy("dept-xzspj").items}
    binding = rbac.read_namespaced_role_binding("department-admins", "dept-gaj")
    assert binding.subjects[0].name == "oidc:/310116/gaj"
    # `up` returned only once the gateway's pods were Ready (the Deployment's await), not later.
    gateway = client.AppsV1Api(api).read_namespaced_deployment("govops-gateway", "govops-system")
    assert gateway.status.ready_replicas == gateway.spec.replicas


def _ready_addresses(c, service: str) -> int:
    ep = c.get(f"/api/v1/namespaces/govops-system/endpoints/{service}").json()
    return sum(len(s.get("addresses") or []) for s in ep.get("subsets") or [])


def _changed_lines(cloud, run) -> str:
    log = cloud.get_run(run.id).log or ""
    return "\n".join(ln for ln in log.splitlines() if any(m in ln for m in ("replace", "+-", " ~ ", "update")))


def test_2_second_up_changes_nothing(cloud):
    run = cloud.up("ops")
    assert run.ok and set(run.counts) == {"same"}, _changed_lines(cloud, run)


def test_3_platform_deployment_ready_on_kwok(cloud, kube):
    with kube.client() as c:
        d = wait_deployment_ready(c, "govops-system", "govops-gateway", timeout=180)
        assert d["status"]["readyReplicas"] == 2  # stateless: sessions live in the database
        # The gateway Service (not awaited by the provider) selects exactly those Ready pods.
        wait_for(lambda: _ready_addresses(c, "govops-gateway") == 2, timeout=60, what="gateway Service endpoints")
        sts = c.get("/apis/apps/v1/namespaces/govops-system/statefulsets/govops-diagnosis").json()
        assert sts["spec"]["replicas"] == 2


ZONE_PROBE = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: zone-probe}
spec:
  replicas: 1
  selector: {matchLabels: {app: zone-probe}}
  template:
    metadata: {labels: {app: zone-probe}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: probe
          image: registry.gov.local/tools/probe:1
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}
"""
# One tenant workload in each zone of the sample (two in 政务外网, so that same-zone peers show); the
# platform's gateway and diagnosis workers stand for the management zone inside the cluster.
ZONE_OF_TENANT = {"gaj": "视频专网", "zzb": "政务外网", "cgj": "政务外网#2", "xzspj": "互联网区"}
PLATFORM = {
    "govops-system/govops-gateway[Deployment]": "gateway",
    "govops-system/govops-diagnosis[StatefulSet]": "diagnosis",
}
# The zones' address ranges (infra/departments.yaml) as the analyzer prints them.
NETWORKS = {
    "10.16.0.0-10.19.255.255": "net:政务外网",
    "10.40.0.0-10.40.255.255": "net:视频专网",
    "172.20.0.0-172.20.15.255": "net:互联网区",
    "10.255.0.0-10.255.0.255": "net:management",
}
ALL = "All Connections"


def _zone_table() -> dict[tuple[str, str], str]:
    """Every flow the analyzer may list, and what it must allow; a flow not here must not be listed."""
    table = {
        ("视频专网", "net:视频专网"): ALL,  # a 视频专网 tenant reaches the cameras' subnet
        ("政务外网", "政务外网#2"): ALL,  # same-zone peers
        ("政务外网#2", "政务外网"): ALL,
        ("政务外网", "net:政务外网"): ALL,
        ("政务外网#2", "net:政务外网"): ALL,
        ("互联网区", "net:互联网区"): ALL,  # its own DMZ range: nothing else, no tenant, no other zone
        ("gateway", "diagnosis"): ALL,
        ("diagnosis", "gateway"): ALL,
        ("net:management", "diagnosis"): "TCP 9100",  # Prometheus scrapes the workers
    }
    for platform in ("gateway", "diagnosis"):
        for tenant in ZONE_OF_TENANT.values():
            table[(platform, tenant)] = ALL  # the platform reaches every tenant (allow-from-platform)
        for net in ("net:management", "net:政务外网", "net:视频专网"):  # never net:互联网区
            table[(platform, net)] = ALL
    for net in ("net:management", "net:政务外网", "net:视频专网"):  # operators, civil servants, security staff
        table[(net, "gateway")] = "TCP 8080"
    return table


def _endpoint(name: str) -> str:
    if name in PLATFORM:
        return PLATFORM[name]
    if name.startswith("dept-") and name.endswith("/zone-probe[Deployment]"):
        return ZONE_OF_TENANT.get(name.removeprefix("dept-").split("/")[0], name)
    return NETWORKS.get(name, name)  # anything else shows as itself, and fails the comparison


def test_3b_zones_proven_by_np_guard_netpol_analyzer(cloud, kube, tmp_path):
    """np-guard's netpol-analyzer reads the live objects of a real `up` and lists every allowed flow."""
    kubectl = need(component_dir, "kubectl", "KUBERNETES_VERSION") / "bin" / "kubectl"
    analyzer = need(component_dir, "netpol-analyzer", "NETPOL_ANALYZER_VERSION") / "bin" / "k8snetpolicy"
    for code in ZONE_OF_TENANT:
        (cloud.workloads_dir / code).mkdir(parents=True)
        (cloud.workloads_dir / code / "zone-probe.yaml").write_text(ZONE_PROBE)
    try:
        run = cloud.up("ops")
        assert run.ok, run.error
        assert sorted(c.name for c in run.changes if c.op == "create") == [
            f"{code}-workloads-deployment-zone-probe" for code in sorted(ZONE_OF_TENANT)
        ]
        with kube.client() as c:
            for code in ZONE_OF_TENANT:
                wait_deployment_ready(c, f"dept-{code}", "zone-probe", timeout=180)
        live = tmp_path / "live"
        live.mkdir()
        # Workloads, not their pods: with the two StatefulSet pods (whose pod-name labels differ) and a
        # peer that has a namespaceSelector but no podSelector, k8snetpolicy 1.4.4 panics on a nil
        # selector (upstream PR #666). A workload stands for all its pods, so the verdict is the same.
        for kind in ("namespaces", "networkpolicies", "deployments", "statefulsets"):
            out = subprocess.run(
                [kubectl, "--kubeconfig", kube.kubeconfig, "get", kind, "--all-namespaces", "-o", "yaml"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert out.returncode == 0, out.stderr
            (live / f"{kind}.yaml").write_text(out.stdout)
        report = subprocess.run(
            [analyzer, "list", "--dirpath", live, "--output", "json", "--quiet"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert report.returncode == 0, report.stderr[-2000:]
        flows = json.loads(report.stdout)
        assert flows, "the analyzer listed no flow at all"
        found = {(_endpoint(f["src"]), _endpoint(f["dst"])): f["conn"] for f in flows}
        assert len(found) == len(flows)  # one line per pair of endpoints
        # The claims of issue #16, each on its own, then the whole table.
        assert {dst for (src, dst) in found if src == "互联网区"} == {"net:互联网区"}, found
        assert not {src for (src, dst) in found if dst == "互联网区"} - {"gateway", "diagnosis"}, found
        assert found[("视频专网", "net:视频专网")] == ALL
        assert {src for (src, dst) in found if dst == "net:management"} == {"gateway", "diagnosis"}
        assert not [pair for pair in found if pair[0].startswith("0.0.0.0") or pair[1].startswith("0.0.0.0")]
        expected = _zone_table()
        assert {k: v for k, v in found.items() if expected.get(k) != v} == {}, "flows the zone table does not allow"
        assert {k: v for k, v in expected.items() if found.get(k) != v} == {}, "flows of the zone table not found"
    finally:
        for code in ZONE_OF_TENANT:
            (cloud.workloads_dir / code / "zone-probe.yaml").unlink(missing_ok=True)
            (cloud.workloads_dir / code).rmdir()
        removed = cloud.up("ops")
    assert removed.ok, removed.error
    assert sorted(c.name for c in removed.changes if c.op == "delete") == [
        f"{code}-workloads-deployment-zone-probe" for code in sorted(ZONE_OF_TENANT)
    ]
    with kube.client() as c:

        def probes_gone() -> bool:
            return not any(
                c.get(f"/api/v1/namespaces/dept-{code}/pods", params={"labelSelector": "app=zone-probe"}).json()[
                    "items"
                ]
                for code in ZONE_OF_TENANT
            )

        wait_for(probes_gone, timeout=120, what="the zone probes' pods to go")


def test_4_quota_change_updates_only_that_quota(cloud, kube):
    with kube.client() as c:
        before = _quota_rv(c)
    desk = QuotaDesk(cloud)
    req = desk.request(LOCAL_SYSTEM_ADMIN, "zzb", {"cpu": "6"}, "综治 video wall")
    preview = desk.preview(LOCAL_SYSTEM_ADMIN, req["id"])
    assert preview.ok, preview.error
    # The approver reads exactly one change: that tenant's quota, old value -> new value.
    assert [(c.op, c.name) for c in preview.changes] == [("update", "zzb-quota")]
    assert ('spec.hard["requests.cpu"]', "4", "6") in {(p.path, p.old, p.new) for p in preview.changes[0].properties}
    request, run = desk.approve(LOCAL_SYSTEM_ADMIN, req["id"])
    assert request["status"] == "applied", run.error
    assert run.counts.get("update") == 1
    with kube.client() as c:
        after = _quota_rv(c)
        hard = c.get("/api/v1/namespaces/dept-zzb/resourcequotas/tenant-quota").json()["spec"]["hard"]
    assert hard["requests.cpu"] == "6"
    assert {ns for ns in before if before[ns] != after[ns]} == {"dept-zzb"}


def _quota_hard(c, ns: str) -> dict[str, str]:
    return c.get(f"/api/v1/namespaces/{ns}/resourcequotas/tenant-quota").json()["spec"]["hard"]


def test_4b_drift_is_reported_not_applied_then_reverted_by_up_revert_drift(cloud, kube):
    from govops import alerts, audit

    quiet = cloud.drift("ops")
    assert quiet.ok and quiet.changes == (), [c.describe() for c in quiet.changes]
    # What `kubectl edit` does: an update by another field manager, outside Pulumi.
    with kube.client() as c:
        r = c.patch(
            "/api/v1/namespaces/dept-gaj/resourcequotas/tenant-quota",
            params={"fieldManager": "kubectl-edit"},
            headers={"Content-Type": "application/merge-patch+json"},
            json={"spec": {"hard": {"requests.cpu": "99"}}},
        )
        assert r.status_code == 200, r.text
    for _ in range(2):  # reported twice: the first check wrote nothing to the state
        run = cloud.drift("ops")
        assert run.ok, run.error
        assert [(ch.op, ch.name) for ch in run.changes] == [("update", "gaj-quota")], run.changes
        props = {p.path: (p.old, p.new) for p in run.changes[0].properties}
        assert props['spec.hard["requests.cpu"]'] == ("16", "99"), props
    with kube.client() as c:
        assert _quota_hard(c, "dept-gaj")["requests.cpu"] == "99"  # nothing changed on the cluster
    with cloud.sessions() as s:
        alert = alerts.open_alert(s, "cloud-drift-it")
        assert alert is not None and "gaj-quota" in alert.summary
    # A plain up compares the program with the recorded state, which still says 16: nothing to do.
    plain = cloud.up("ops")
    assert plain.ok and set(plain.counts) == {"same"}, plain.counts
    with kube.client() as c:
        assert _quota_hard(c, "dept-gaj")["requests.cpu"] == "99"  # the plain up left the drift alone
    # The revert: the platform's gateway Deployment is refreshed too, and stays as it is (no roll,
    # no wait for new pods): only the drifted quota is written back.
    reverted = cloud.up("ops", revert_drift=True)
    assert reverted.ok, reverted.error
    assert reverted.counts == {"same": reverted.counts["same"], "update": 1}, reverted.counts
    assert [(ch.op, ch.name) for ch in reverted.changes] == [("update", "gaj-quota")], reverted.changes
    with kube.client() as c:
        assert _quota_hard(c, "dept-gaj")["requests.cpu"] == "16"
    with cloud.sessions() as s:
        (record,) = audit.query(s, action="cloud.revert-drift")
        assert record.actor == "ops" and record.result == "success"
        assert record.detail["run"] == reverted.id and record.detail["resources"] == ["gaj-quota"]
    after = cloud.drift("ops")
    assert after.ok and after.changes == ()
    with cloud.sessions() as s:
        assert alerts.open_alert(s, "cloud-drift-it") is None


PRIVILEGED = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: root-shell}
spec:
  replicas: 1
  selector: {matchLabels: {app: root-shell}}
  template:
    metadata: {labels: {app: root-shell}}
    spec:
      containers:
        - name: shell
          image: registry.gov.local/tools/shell:1
          securityContext: {privileged: true}
"""

COMPLIANT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: case-intake}
spec:
  replicas: 2
  selector: {matchLabels: {app: case-intake}}
  template:
    metadata: {labels: {app: case-intake}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: web
          image: registry.gov.local/zzb/case-intake:1.0
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
          resources: {requests: {cpu: "1", memory: 1Gi}, limits: {cpu: "1", memory: 1Gi}}
"""


def test_4c_policy_pack_refuses_a_privileged_workload_in_a_real_up(cloud, kube):
    gaj = cloud.workloads_dir / "gaj"
    gaj.mkdir(parents=True)
    (gaj / "shell.yaml").write_text(PRIVILEGED)
    try:
        run = cloud.up("ops")
        assert not run.ok
        # The operator's one line names the rule and the container.
        assert "privileged containers are not allowed: shell" in run.error, run.error
        assert "containers must set cpu and memory limits: shell" in run.error
        assert "Traceback" not in run.error
        with kube.client() as c:
            assert c.get("/apis/apps/v1/namespaces/dept-gaj/deployments/root-shell").status_code == 404
    finally:
        (gaj / "shell.yaml").unlink()
    again = cloud.up("ops")
    # The refused up may leave one object it registered before the pack's verdict; the next up
    # removes it, and the cluster holds no trace of the refused workload.
    assert again.ok and set(again.counts) <= {"same", "delete"}, again.error
    with kube.client() as c:
        assert c.get("/apis/apps/v1/namespaces/dept-gaj/deployments/root-shell").status_code == 404


def test_4d_quota_use_from_the_apiserver(cloud, kube):
    zzb = cloud.workloads_dir / "zzb"
    zzb.mkdir(parents=True)
    (zzb / "intake.yaml").write_text(COMPLIANT)
    run = cloud.up("ops")
    assert run.ok, run.error
    with kube.client() as c:
        wait_deployment_ready(c, "dept-zzb", "case-intake", timeout=180)

    def zzb_cpu():
        row = next(r for r in cloud.usage() if r["code"] == "zzb")
        use = {u["resource"]: u for u in row["usage"]["resources"]}
        return use["requests.cpu"]["used"] == "2" and row

    row = wait_for(zzb_cpu, timeout=60, what="the quota controller to count zzb's pods")
    use = {u["resource"]: u for u in row["usage"]["resources"]}
    assert use["requests.cpu"]["hard"] == "6" and use["requests.cpu"]["ratio"] == round(2 / 6, 4)
    assert use["pods"]["used"] == "2"
    assert cloud.usage()[0]["code"] == "zzb"  # the nearest a limit first
    gaj = next(r for r in cloud.usage() if r["code"] == "gaj")
    assert {u["resource"]: u["used"] for u in gaj["usage"]["resources"]}["pods"] == "0"


def test_5_destroy_one_tenant_removes_only_its_objects(cloud, kube):
    run = cloud.destroy_tenant("cgj", "ops")
    assert run.ok, run.error
    assert run.counts.get("delete", 0) >= 9 and "create" not in run.counts
    with kube.client() as c:
        wait_for(lambda: _tenant_namespaces(c) == TENANTS - {"dept-cgj"}, timeout=120, what="dept-cgj to go")
        assert c.get("/api/v1/namespaces/dept-gaj/resourcequotas/tenant-quota").status_code == 200


def test_6_apiserver_killed_mid_up_fails_cleanly_then_converges(cloud, kube):
    raw = yaml.safe_load(cloud.declared_file.read_text())
    for i in range(4):
        raw["departments"].append(
            {
                "code": f"extra{i}",
                "name": f"临时部门{i}",
                "zone": "gov-extranet",
                "quota": {"cpu": "1", "memory": "1Gi", "storage": "1Gi", "pods": 5},
            }
        )
    cloud.declared_file.write_text(yaml.safe_dump(raw, allow_unicode=True))
    created: list[str] = []
    result: list = []

    def on_event(kind, data):
        if kind == "resource_done" and data["op"] == "create":
            created.append(data["urn"])

    t = threading.Thread(target=lambda: result.append(cloud.up("ops", watch=Watch(on_event=on_event))))
    t.start()
    wait_for(lambda: len(created) >= 3, timeout=180, interval=0.05, what="the up to be under way")
    kube.stop("kube-apiserver")
    t.join(300)
    assert result[0].status.value == "failed" and result[0].error
    assert "Traceback" not in (result[0].error or "")
    kube.restart_apiserver()
    time.sleep(2)
    run = cloud.up("ops")
    assert run.ok, run.error
    again = cloud.up("ops")
    assert set(again.counts) == {"same"}
    with kube.client() as c:
        expected = {f"dept-{d['code']}" for d in raw["departments"]}
        assert _tenant_namespaces(c) == expected  # nothing missing, nothing orphaned
