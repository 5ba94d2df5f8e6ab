"""DepartmentTenant and PlatformServices under Pulumi mocks; the policy checks on bad tenants."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest

from infra.model import DepartmentsInvalid, load_cloud, parse_cloud

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "infra" / "policy"))
import rules  # noqa: E402  (the policy pack's check functions)


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append((args.typ, args.name, args.inputs))
        outputs = dict(args.inputs)
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@pytest.fixture
def mocks() -> Iterator[Recorder]:
    # Pulumi's mocks need the thread's current event loop; an earlier test's asyncio.run may have cleared it.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    rec = Recorder()
    pulumi.runtime.set_mocks(rec, preview=False)
    yield rec
    asyncio.set_event_loop(None)
    loop.close()


def _build(mocks: Recorder, cloud_yaml: Path = REPO / "infra" / "departments.yaml") -> list[tuple[str, str, dict]]:
    from infra.platform import PlatformServices, PlatformServicesArgs
    from infra.tenant import DepartmentTenant, DepartmentTenantArgs

    cloud = load_cloud(cloud_yaml)

    @pulumi.runtime.test
    def program():
        tenants = [
            DepartmentTenant(
                d.code,
                DepartmentTenantArgs(
                    d, cloud.group_of(d), cloud.auditors_group, zone_cidrs=tuple(cloud.cidrs_of(d.zone))
                ),
            )
            for d in cloud.departments
        ]
        PlatformServices(
            "platform",
            PlatformServicesArgs(
                image="registry.gov.local/govops/govops:0.1.0",
                alert_rules={"platform.yml": "groups: []"},
                networks={zone: net.cidrs for zone, net in cloud.networks.items()},
            ),
        )
        return pulumi.Output.all(*[t.namespace for t in tenants])

    program()
    return mocks.resources


def _of(resources, typ: str, ns: str | None = None):
    return [
        inp
        for t, _, inp in resources
        if t == typ and (ns is None or (inp.get("metadata") or {}).get("namespace") == ns)
    ]


def test_each_department_becomes_a_fenced_tenant(mocks):
    res = _build(mocks)
    namespaces = {n["metadata"]["name"]: n for n in _of(res, "kubernetes:core/v1:Namespace")}
    assert set(namespaces) == {"dept-gaj", "dept-zzb", "dept-cgj", "dept-xzspj", "dept-dsjj", "govops-system"}
    gaj = namespaces["dept-gaj"]["metadata"]["labels"]
    assert gaj["govops.cn/zone"] == "video-private" and gaj["govops.cn/mlps-level"] == "3"
    assert gaj["pod-security.kubernetes.io/enforce"] == "restricted"
    quota = _of(res, "kubernetes:core/v1:ResourceQuota", "dept-gaj")[0]["spec"]["hard"]
    assert quota["requests.cpu"] == "16" and quota["pods"] == "200"
    assert quota["services.loadbalancers"] == "0" and quota["services.nodeports"] == "0"
    assert _of(res, "kubernetes:core/v1:LimitRange", "dept-gaj")
    binding = {
        b["metadata"]["name"]: b for b in _of(res, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "dept-gaj")
    }
    assert binding["department-admins"]["subjects"][0]["name"] == "oidc:/310116/gaj"
    assert binding["department-admins"]["roleRef"]["name"] == "admin"
    assert binding["auditors"]["roleRef"]["name"] == "view"
    typed = [(t, i) for t, _, i in res]
    assert rules.tenants_are_fenced(typed) == []


def test_zones_never_meet(mocks):
    res = _build(mocks)
    policies = _of(res, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    by_ns: dict[str, list[dict]] = {}
    for p in policies:
        by_ns.setdefault(p["metadata"]["namespace"], []).append(p)
    video = {p["metadata"]["name"]: p for p in by_ns["dept-gaj"]}
    internet = {p["metadata"]["name"]: p for p in by_ns["dept-xzspj"]}
    assert video["allow-same-zone"]["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "govops.cn/zone": "video-private"
    }
    assert "allow-same-zone" not in internet  # 互联网区 tenants talk to nobody but themselves
    # Out of the cluster, each tenant reaches its own zone's ranges only.
    egress = {
        ns: [
            b["ipBlock"]["cidr"]
            for p in ps
            if p["metadata"]["name"] == "allow-zone-networks"
            for b in p["spec"]["egress"][0]["to"]
        ]
        for ns, ps in by_ns.items()
    }
    assert egress["dept-gaj"] == ["10.40.0.0/16"] and egress["dept-xzspj"] == ["172.20.0.0/20"]
    assert egress["dept-zzb"] == ["10.16.0.0/14"]
    # The management network: no tenant (only the platform, which is the management zone in the cluster).
    assert all("10.255.0.0/24" not in cidrs for ns, cidrs in egress.items() if ns.startswith("dept-"))
    tenants = {ns: ps for ns, ps in by_ns.items() if ns.startswith("dept-")}
    assert len(tenants) == 5
    for ns_policies in tenants.values():
        names = {p["metadata"]["name"] for p in ns_policies}
        assert {"default-deny", "allow-same-namespace", "allow-from-platform", "allow-dns"} <= names


def test_the_platform_is_fenced_as_the_management_zone(mocks):
    res = _build(mocks)
    ns = next(n for n in _of(res, "kubernetes:core/v1:Namespace") if n["metadata"]["name"] == "govops-system")
    assert ns["metadata"]["labels"]["govops.cn/zone"] == "management"
    policies = {
        p["metadata"]["name"]: p["spec"]
        for p in _of(res, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "govops-system")
    }
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    egress = [b["ipBlock"]["cidr"] for b in policies["allow-zone-networks"]["egress"][0]["to"]]
    assert egress == ["10.255.0.0/24", "10.16.0.0/14", "10.40.0.0/16"]  # never the 互联网区 (172.20.0.0/20)
    clients = policies["allow-gateway-clients"]
    assert clients["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "govops-gateway"}}
    assert [b["ipBlock"]["cidr"] for b in clients["ingress"][0]["from"]] == egress
    assert clients["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8080}]
    scrape = policies["allow-metrics-scrape"]["ingress"][0]
    assert [b["ipBlock"]["cidr"] for b in scrape["from"]] == ["10.255.0.0/24"]


def test_platform_services(mocks):
    res = _build(mocks)
    sts = _of(res, "kubernetes:apps/v1:StatefulSet", "govops-system")[0]
    assert (
        sts["spec"]["replicas"] == 2
        and "--shard-from-pod-name" in sts["spec"]["template"]["spec"]["containers"][0]["args"]
    )
    dep = _of(res, "kubernetes:apps/v1:Deployment", "govops-system")[0]
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["image"].startswith("registry.gov.local/") and c["securityContext"]["allowPrivilegeEscalation"] is False
    typed = [(t, i) for t, _, i in res]
    checks = (rules.no_privileged, rules.resource_limits, rules.run_as_non_root, rules.no_host_paths)
    for t, i in typed:
        assert all(check(t, i) == [] for check in checks), t
        assert rules.images_from_registry(t, i, "registry.gov.local") == [] and rules.no_exposed_services(t, i) == []
    assert rules.restricted_tenants(typed) == []
    assert _of(res, "kubernetes:core/v1:ConfigMap", "govops-system")[0]["data"] == {"platform.yml": "groups: []"}


def test_policy_rejects_bad_tenants():
    ns = ("kubernetes:core/v1:Namespace", {"metadata": {"name": "dept-x", "labels": {"govops.cn/tenant": "true"}}})
    assert rules.tenants_are_fenced([ns]) == [
        "tenant namespace dept-x has no ResourceQuota",
        "tenant namespace dept-x has no default-deny NetworkPolicy",
    ]
    lb = {"metadata": {"namespace": "dept-x"}, "spec": {"type": "LoadBalancer"}}
    assert rules.no_exposed_services("kubernetes:core/v1:Service", lb) == [
        "service type LoadBalancer is not allowed outside the platform (namespace dept-x)"
    ]
    assert rules.no_exposed_services("kubernetes:core/v1:Service", {**lb, "metadata": {}})  # default namespace too
    assert not rules.no_exposed_services(
        "kubernetes:core/v1:Service", {**lb, "metadata": {"namespace": "govops-system"}}
    )
    priv = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "c", "image": "docker.io/x", "securityContext": {"privileged": True}}]}
            }
        }
    }
    assert rules.no_privileged("kubernetes:apps/v1:Deployment", priv)
    assert rules.images_from_registry("kubernetes:apps/v1:Deployment", priv, "registry.gov.local")
    assert rules.resource_limits("kubernetes:apps/v1:Deployment", priv) == [
        "containers must set cpu and memory limits: c"
    ]
    assert rules.run_as_non_root("kubernetes:apps/v1:Deployment", priv)
    host = {"spec": {"volumes": [{"name": "root", "hostPath": {"path": "/"}}], "containers": []}}
    assert rules.no_host_paths("kubernetes:core/v1:Pod", host) == ["hostPath volumes are not allowed: root"]
    root = {
        "spec": {
            "securityContext": {"runAsNonRoot": True},
            "containers": [{"name": "a"}, {"name": "b", "securityContext": {"runAsUser": 0}}],
        }
    }
    assert rules.run_as_non_root("kubernetes:core/v1:Pod", root) == [
        "containers must run as non-root (runAsNonRoot: true): b"
    ]
    lax = ("kubernetes:core/v1:Namespace", {"metadata": {"name": "dept-x", "labels": {"govops.cn/tenant": "true"}}})
    assert rules.restricted_tenants([lax]) == [
        "tenant namespace dept-x must carry pod-security.kubernetes.io/enforce=restricted"
    ]


@pytest.mark.parametrize(
    "mutation, needle",
    [
        (lambda d: d["departments"].append(dict(d["departments"][0])), "duplicate department code 'gaj'"),
        (
            lambda d: d["departments"][1]["quota"].update(cpu="-2"),
            "departments[1] (zzb).quota.cpu: quota '-2' is negative",
        ),
        (lambda d: d["departments"][2].update(zone="moon-zone"), "departments[2] (cgj).zone"),
        (lambda d: d["departments"][3]["quota"].update(pods=-1), "departments[3] (xzspj).quota.pods"),
    ],
)
def test_bad_departments_file_names_the_entry(mutation, needle):
    import yaml

    raw = yaml.safe_load((REPO / "infra" / "departments.yaml").read_text())
    mutation(raw)
    with pytest.raises(DepartmentsInvalid) as exc:
        parse_cloud(raw)
    assert needle in str(exc.value)


def test_sdk_outputs_set_keeps_deque_semantics():
    from infra.sdk_speedups import OrderedFutures

    q = OrderedFutures(["a", "b"])
    q.append("c")
    q.remove("b")
    with pytest.raises(ValueError):
        q.remove("b")
    assert len(q) == 2 and q.popleft() == "a"
    q.append("a")  # re-queued at the end, as the SDK's quiescence loop does
    assert [q.popleft(), q.popleft()] == ["c", "a"] and len(q) == 0
    with pytest.raises(IndexError):
        q.popleft()


def test_tenant_objects_register_like_the_typed_classes(mocks):
    """Same type tokens and camelCase inputs as pulumi_kubernetes' classes, so URNs and state match."""
    res = _build(mocks)
    ns = next(i for t, n, i in res if t == "kubernetes:core/v1:Namespace" and n == "gaj-namespace")
    assert ns["apiVersion"] == "v1" and ns["kind"] == "Namespace"
    np = _of(res, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "dept-gaj")[0]
    assert np["apiVersion"] == "networking.k8s.io/v1" and np["kind"] == "NetworkPolicy"
    rb = _of(res, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "dept-gaj")[0]
    assert rb["apiVersion"] == "rbac.authorization.k8s.io/v1" and set(rb) >= {"roleRef", "subjects", "metadata"}


def test_sdk_direct_urn_matches_the_sdks(mocks):
    """The direct create_urn builds the URN the SDK's Output chain builds, and hands anything else
    (here an Output parent) to the SDK."""
    from pulumi.runtime import resource

    from infra import sdk_speedups

    sdk = resource.create_urn
    parent = "urn:pulumi:s::p::govops:cloud:DepartmentTenant::gaj"
    cases = [("gaj-quota", "kubernetes:core/v1:ResourceQuota", parent), ("x", "govops:cloud:DepartmentTenant", None)]

    @pulumi.runtime.test
    def check():
        expected = [sdk(*c) for c in cases]
        assert sdk_speedups._direct_create_urn()
        got = [resource.create_urn(*c) for c in cases]
        via_output = resource.create_urn("y", "t:m:R", pulumi.Output.from_input(parent))

        def compare(urns):
            n = len(cases)
            assert urns[n : 2 * n] == urns[:n]
            assert (
                urns[0] == "urn:pulumi:s::p::govops:cloud:DepartmentTenant$kubernetes:core/v1:ResourceQuota::gaj-quota"
            )
            assert urns[-1] == "urn:pulumi:s::p::govops:cloud:DepartmentTenant$t:m:R::y"

        return pulumi.Output.all(*expected, *got, via_output).apply(compare)

    try:
        check()
    finally:
        resource.create_urn = sdk


def test_department_workloads_land_in_their_namespace(mocks, tmp_path):
    from infra.model import load_workloads
    from infra.workloads import TenantWorkloads

    (tmp_path / "gaj").mkdir()
    (tmp_path / "gaj" / "app.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: kube-system}\n"
        "spec: {replicas: 1, template: {spec: {containers: [{name: web, image: registry.gov.local/web:1}]}}}\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"
    )
    manifests = load_workloads(tmp_path, "gaj")
    assert [m["kind"] for _, m in manifests] == ["Deployment", "Service"]
    assert load_workloads(tmp_path, "zzb") == [] and load_workloads(None, "gaj") == []

    @pulumi.runtime.test
    def program():
        TenantWorkloads("gaj-workloads", "dept-gaj", manifests)

    program()
    made = {t: i for t, _, i in mocks.resources if t.startswith("kubernetes:")}
    assert set(made) == {"kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"}
    assert made["kubernetes:apps/v1:Deployment"]["metadata"]["namespace"] == "dept-gaj"  # not kube-system
    assert made["kubernetes:apps/v1:Deployment"]["apiVersion"] == "apps/v1"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n", "kind Namespace is not a tenant workload"),
        ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: x}\n", "ClusterRole"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "without metadata.name"),
        ("a: [\n", "cannot read"),
    ],
)
def test_bad_workload_names_the_file(tmp_path, text, needle):
    from infra.model import WorkloadInvalid, load_workloads

    (tmp_path / "gaj").mkdir()
    (tmp_path / "gaj" / "bad.yaml").write_text(text)
    with pytest.raises(WorkloadInvalid, match=r"bad\.yaml") as exc:
        load_workloads(tmp_path, "gaj")
    assert needle in str(exc.value)


@pytest.mark.parametrize(
    ("networks", "needle"),
    [
        ({"internet": {"cidrs": ["10.16.1.0/24"]}}, "gov-extranet 10.16.0.0/14 overlaps internet 10.16.1.0/24"),
        ({"video-private": {"cidrs": ["10.40.0.1/16"]}}, "not a network in CIDR form"),
        ({"moon": {"cidrs": []}}, "networks.moon"),
    ],
)
def test_zone_networks_never_overlap(networks, needle):
    import yaml

    raw = yaml.safe_load((REPO / "infra" / "departments.yaml").read_text())
    raw["networks"] = {**raw["networks"], **networks}
    with pytest.raises(DepartmentsInvalid) as exc:
        parse_cloud(raw)
    assert needle in str(exc.value)
