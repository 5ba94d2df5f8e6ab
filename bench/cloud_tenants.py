"""Benchmark: N department tenants on a real kube-apiserver (etcd, controllers, kwok), through the
provisioning service's `pulumi up`, against `kubectl apply -f` of the same rendered manifests.

The Pulumi program (infra/__main__.py: the platform services and N tenants) is rendered once under
Pulumi mocks into plain manifests, one file per namespace (the Namespace first), and three
baselines apply them, each on its own fresh control plane started exactly like the Pulumi one, so
every "first" starts from an empty cluster:

  kubectl_apply              `kubectl apply -f <dir>` (client-side apply, kubectl's default), then
                             the same again (the no-op re-apply)
  kubectl_apply_server_side  `kubectl apply --server-side -f <dir>`, twice
  python_ssa_loop            not kubectl: one server-side-apply PATCH per object from this process
                             over one HTTP connection (the bench's earlier baseline, kept for reference)

After each first apply (and after `pulumi up`) the bench checks that every rendered object exists,
so all runs measure the same object set. The ratios are Pulumi's first/no-op `up` against each
baseline's first apply/re-apply; the issue's goal is up <= 300 s, no-op <= 60 s, <= 3x `kubectl apply`.

kubectl is built at the pinned KUBERNETES_VERSION by tools/components/kubectl.sh (part of `make
tools`, ~1 min on top of the kubernetes build); if it is missing, the bench builds it first through
`tools/bootstrap.sh kubectl`.

Prints one JSON object. Usage: python bench/cloud_tenants.py [--tenants 100]
"""

from __future__ import annotations

import argparse
import json
import resource
import runpy
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gateway.runtime import Runtime  # noqa: E402
from govops.settings import load_settings  # noqa: E402
from infra.provisioning.contract import Watch  # noqa: E402
from infra.provisioning.service import Provisioning  # noqa: E402
from tools.components import ComponentMissing, component_dir  # noqa: E402
from tools.lab.kube import KubeHandle, start_kube  # noqa: E402

# What the provisioning service sets in the stack config (infra/provisioning/engine.py).
STACK_CONFIG = {"govops:platform": "true", "govops:gatewayReplicas": "1"}


def departments(n: int) -> dict:
    zones = ["gov-extranet", "video-private", "internet", "gov-intranet"]
    return {
        "district": "310116",
        "registry": "registry.gov.local",
        "auditors_group": "/310116/auditors",
        "departments": [
            {
                "code": f"d{i:03d}",
                "name": f"部门{i}",
                "zone": zones[i % 4],
                "mlps_level": 2 + i % 2,
                "quota": {"cpu": "4", "memory": "8Gi", "storage": "100Gi", "pods": 50},
            }
            for i in range(n)
        ],
    }


def render(departments_file: Path) -> list[dict]:
    """Every Kubernetes object the Pulumi program (infra/__main__.py, run as is) makes, rendered
    under Pulumi mocks with the stack config the provisioning service sets."""
    import pulumi

    out: list[tuple[str, dict]] = []

    class Rec(pulumi.runtime.Mocks):
        def new_resource(self, args):
            out.append((args.typ, args.inputs))
            return [args.name, args.inputs]

        def call(self, args):
            return {}

    pulumi.runtime.set_all_config({**STACK_CONFIG, "govops:departmentsFile": str(departments_file)})
    pulumi.runtime.set_mocks(Rec(), project="govops-cloud", stack="bench", preview=False)

    @pulumi.runtime.test
    def program():
        runpy.run_path(str(REPO / "infra" / "__main__.py"), run_name="__main__")

    program()
    manifests = []
    for typ, inputs in out:
        if not typ.startswith("kubernetes:"):
            continue
        group_version, kind = typ.split(":")[1], typ.split(":")[2]
        group, version = group_version.split("/")
        api_version = version if group == "core" else f"{group}/{version}"
        body = {"apiVersion": api_version, "kind": kind, **{k: v for k, v in inputs.items()}}
        if "roleRef" not in body and "role_ref" in inputs:
            body["roleRef"] = body.pop("role_ref")
        manifests.append(body)
    return manifests


def write_manifests(manifests: list[dict], directory: Path) -> int:
    """One multi-document YAML file per namespace, its Namespace first (kubectl applies a file's
    documents in order, and a namespaced object needs its namespace)."""
    by_ns: dict[str, list[dict]] = {}
    for m in manifests:
        ns = m["metadata"]["name"] if m["kind"] == "Namespace" else m["metadata"]["namespace"]
        by_ns.setdefault(ns, []).append(m)
    directory.mkdir(parents=True)
    for ns, docs in by_ns.items():
        docs.sort(key=lambda m: m["kind"] != "Namespace")
        (directory / f"{ns}.yaml").write_text(yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False))
    return len(by_ns)


PLURAL = {
    "Namespace": "namespaces",
    "ResourceQuota": "resourcequotas",
    "LimitRange": "limitranges",
    "NetworkPolicy": "networkpolicies",
    "RoleBinding": "rolebindings",
    "Service": "services",
    "ConfigMap": "configmaps",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
}


def object_path(m: dict) -> str:
    api = "/api/v1" if m["apiVersion"] == "v1" else f"/apis/{m['apiVersion']}"
    ns = m["metadata"].get("namespace")
    return f"{api}/{'namespaces/' + ns + '/' if ns else ''}{PLURAL[m['kind']]}/{m['metadata']['name']}"


def present(kube: KubeHandle, manifests: list[dict]) -> int:
    """How many of the rendered objects exist on the cluster."""
    with kube.client() as c:
        return sum(c.get(object_path(m)).status_code == 200 for m in manifests)


def ssa_loop(kube: KubeHandle, manifests: list[dict]) -> float:
    started = time.perf_counter()
    with kube.client() as c:
        for m in manifests:
            r = c.patch(
                object_path(m),
                content=json.dumps(m),
                params={"fieldManager": "bench", "force": "true"},
                headers={"content-type": "application/apply-patch+yaml"},
            )
            r.raise_for_status()
    return time.perf_counter() - started


def kubectl_binary() -> Path:
    try:
        return component_dir("kubectl", "KUBERNETES_VERSION") / "bin" / "kubectl"
    except ComponentMissing:
        print("bench: building kubectl (tools/bootstrap.sh kubectl) ...", file=sys.stderr)
        subprocess.run([str(REPO / "tools" / "bootstrap.sh"), "kubectl"], check=True, stdout=sys.stderr)
        return component_dir("kubectl", "KUBERNETES_VERSION") / "bin" / "kubectl"


def kubectl_apply(kubectl: Path, kube: KubeHandle, directory: Path, *extra: str) -> tuple[float, dict[str, int]]:
    """One `kubectl apply -f <dir>`: wall time and how many objects it reported per outcome."""
    argv = [
        str(kubectl),
        f"--kubeconfig={kube.kubeconfig}",
        f"--cache-dir={kube.workdir / 'kubectl-cache'}",
        "apply",
        *extra,
        "-f",
        str(directory),
    ]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed, dict(Counter(line.rsplit(" ", 1)[-1] for line in proc.stdout.splitlines() if line.strip()))


class StepTimes:
    """Per-object step durations (engine event from resource_pre to resource_done)."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.durations: list[float] = []

    def __call__(self, kind: str, data: dict) -> None:
        if "::kubernetes:" not in data.get("urn", "") and "$kubernetes:" not in data.get("urn", ""):
            return
        if kind == "resource_pre":
            self.started[data["urn"]] = time.perf_counter()
        elif kind == "resource_done" and data["urn"] in self.started:
            self.durations.append(time.perf_counter() - self.started.pop(data["urn"]))

    def percentiles(self) -> dict[str, float]:
        d = sorted(self.durations)
        if not d:
            return {}
        return {f"p{q}": round(d[min(len(d) - 1, int(len(d) * q / 100))], 2) for q in (50, 95, 99)} | {
            "max": round(d[-1], 2)
        }


def fresh_cluster(workdir: Path) -> KubeHandle:
    """A control plane like the one `pulumi up` runs against: etcd, apiserver, controllers, kwok."""
    return start_kube(workdir, kwok_nodes=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenants", type=int, default=100)
    n = ap.parse_args().tenants
    tmp = Path(tempfile.mkdtemp(prefix="bench-cloud-"))
    raw = departments(n)
    kubectl = kubectl_binary()
    kubectl_version = json.loads(
        subprocess.run(
            [str(kubectl), "version", "--client", "-o", "json"], capture_output=True, text=True, check=True
        ).stdout
    )
    kube = fresh_cluster(tmp / "kube")
    try:
        settings = load_settings(
            data_dir=tmp / "data",
            kubeconfig=kube.kubeconfig,
            pulumi_passphrase="bench",
            pulumi_stack="bench",
            environment="test",
        )
        rt = Runtime.build(settings)
        rt.migrate()
        svc = Provisioning(settings, rt.sessions)
        svc.declared_file.write_text(yaml.safe_dump(raw, allow_unicode=True))
        manifests = render(svc.declared_file)
        steps = StepTimes()
        t0 = time.perf_counter()
        first = svc.up("bench", watch=Watch(on_event=steps))
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        noop = svc.up("bench")
        t_noop = time.perf_counter() - t0
        # The largest of the Pulumi processes (CLI, Python program, policy pack, provider), all
        # reaped by now; the control plane is still running, so it is not in this figure.
        children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        pulumi_present = present(kube, manifests)
    finally:
        kube.stop()
    objects = sum(first.counts.values())
    mdir = tmp / "manifests"
    files = write_manifests(manifests, mdir)

    baselines: dict[str, dict] = {}
    for key, what, extra in [
        ("kubectl_apply", "kubectl apply -f <dir> (client-side apply, kubectl's default)", ()),
        ("kubectl_apply_server_side", "kubectl apply --server-side -f <dir>", ("--server-side",)),
    ]:
        cluster = fresh_cluster(tmp / f"kube-{key}")
        try:
            t_apply, verbs_first = kubectl_apply(kubectl, cluster, mdir, *extra)
            count = present(cluster, manifests)
            t_again, verbs_again = kubectl_apply(kubectl, cluster, mdir, *extra)
        finally:
            cluster.stop()
        baselines[key] = {
            "command": what,
            "first_s": round(t_apply, 2),
            "reapply_s": round(t_again, 2),
            "objects_present_after_first": count,
            "outcomes_first": verbs_first,
            "outcomes_reapply": verbs_again,
        }
    cluster = fresh_cluster(tmp / "kube-python_ssa_loop")
    try:
        t_apply = ssa_loop(cluster, manifests)
        count = present(cluster, manifests)
        t_again = ssa_loop(cluster, manifests)
    finally:
        cluster.stop()
    baselines["python_ssa_loop"] = {
        "command": "NOT kubectl: one server-side-apply PATCH per object from the bench process, one HTTP connection",
        "first_s": round(t_apply, 2),
        "reapply_s": round(t_again, 2),
        "objects_present_after_first": count,
    }
    for b in baselines.values():
        if b["objects_present_after_first"] != len(manifests):
            raise RuntimeError(f"baseline created {b['objects_present_after_first']} of {len(manifests)} objects: {b}")
    if pulumi_present != len(manifests):
        raise RuntimeError(f"pulumi up left {pulumi_present} of the {len(manifests)} rendered objects")

    ratios = {}
    for key, b in baselines.items():
        ratios[f"first_up_vs_{key}_first"] = round(t_first / b["first_s"], 2)
        ratios[f"noop_up_vs_{key}_reapply"] = round(t_noop / b["reapply_s"], 2)
    kinds = Counter(m["kind"] for m in manifests)
    print(
        json.dumps(
            {
                "benchmark": "cloud_tenants",
                "tenants": n,
                "objects_in_stack": objects,
                "rendered_k8s_objects": len(manifests),
                "rendered_kinds": dict(kinds),
                "manifest_files": files,
                "rendered_objects_present_after_pulumi_up": pulumi_present,
                "first_up_s": round(t_first, 1),
                "noop_up_s": round(t_noop, 1),
                "first_up_status": first.status.value,
                "noop_summary": noop.counts,
                "objects_per_s_first_up": round(objects / t_first, 1),
                "objects_per_s_noop_up": round(objects / t_noop, 1),
                "object_step_latency_s_first_up": steps.percentiles(),
                "kubectl_version": kubectl_version["clientVersion"]["gitVersion"],
                "baselines": baselines,
                "ratios": ratios,
                "goal": {"first_up_s": 300, "noop_up_s": 60, "ratio_max_vs_kubectl_apply": 3},
                "goal_met": {
                    "first_up": t_first <= 300,
                    "noop_up": t_noop <= 60,
                    "ratio_first_vs_kubectl_apply": ratios["first_up_vs_kubectl_apply_first"] <= 3,
                    "ratio_noop_vs_kubectl_apply": ratios["noop_up_vs_kubectl_apply_reapply"] <= 3,
                },
                "peak_rss_mb_bench_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "peak_rss_mb_largest_pulumi_process": round(children_rss, 1),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
