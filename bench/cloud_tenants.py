"""Benchmark: N department tenants on a real kube-apiserver (etcd, kwok), through the provisioning
service's `pulumi up`, against a baseline that server-side-applies the same rendered manifests
object by object (what `kubectl apply --server-side -f` does), on a second, fresh apiserver.

Prints one JSON object. Usage: python bench/cloud_tenants.py [--tenants 100]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gateway.runtime import Runtime  # noqa: E402
from govops.settings import load_settings  # noqa: E402
from infra.model import parse_cloud  # noqa: E402
from infra.service.provisioning import Provisioning  # noqa: E402
from tools.lab.kube import start_kube  # noqa: E402


def departments(n: int) -> dict:
    zones = ["gov-extranet", "video-private", "internet", "gov-intranet"]
    return {"district": "310116", "registry": "registry.gov.local", "auditors_group": "/310116/auditors",
            "departments": [{"code": f"d{i:03d}", "name": f"部门{i}", "zone": zones[i % 4], "mlps_level": 2 + i % 2,
                             "quota": {"cpu": "4", "memory": "8Gi", "storage": "100Gi", "pods": 50}}
                            for i in range(n)]}


def render(cloud_raw: dict) -> list[dict]:
    """The same objects the Pulumi program makes, rendered under Pulumi mocks."""
    import pulumi

    from infra.tenant import DepartmentTenant, DepartmentTenantArgs

    out: list[tuple[str, dict]] = []

    class Rec(pulumi.runtime.Mocks):
        def new_resource(self, args):
            out.append((args.typ, args.inputs))
            return [args.name, args.inputs]

        def call(self, args):
            return {}

    pulumi.runtime.set_mocks(Rec(), preview=False)
    cloud = parse_cloud(cloud_raw)

    @pulumi.runtime.test
    def program():
        ts = [DepartmentTenant(d.code, DepartmentTenantArgs(d, cloud.group_of(d), cloud.auditors_group))
              for d in cloud.departments]
        return pulumi.Output.all(*[t.namespace for t in ts])

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


PLURAL = {"Namespace": "namespaces", "ResourceQuota": "resourcequotas", "LimitRange": "limitranges",
          "NetworkPolicy": "networkpolicies", "RoleBinding": "rolebindings"}


def apply_all(kube, manifests: list[dict]) -> float:
    started = time.perf_counter()
    with kube.client() as c:
        for m in manifests:
            api = "/api/v1" if m["apiVersion"] == "v1" else f"/apis/{m['apiVersion']}"
            ns = m["metadata"].get("namespace")
            path = f"{api}/{'namespaces/' + ns + '/' if ns else ''}{PLURAL[m['kind']]}/{m['metadata']['name']}"
            r = c.patch(path, content=json.dumps(m), params={"fieldManager": "bench", "force": "true"},
                        headers={"content-type": "application/apply-patch+yaml"})
            r.raise_for_status()
    return time.perf_counter() - started


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
            "max": round(d[-1], 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenants", type=int, default=100)
    n = ap.parse_args().tenants
    tmp = Path(tempfile.mkdtemp(prefix="bench-cloud-"))
    raw = departments(n)
    kube = start_kube(tmp / "kube", kwok_nodes=1)
    try:
        settings = load_settings(data_dir=tmp / "data", kubeconfig=kube.kubeconfig, pulumi_passphrase="bench",
                                 pulumi_stack="bench", environment="test")
        rt = Runtime.build(settings)
        rt.migrate()
        svc = Provisioning(settings, rt.sessions)
        svc.declared_file.write_text(yaml.safe_dump(raw, allow_unicode=True))
        steps = StepTimes()
        t0 = time.perf_counter()
        first = svc.up("bench", on_event=steps)
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        noop = svc.up("bench")
        t_noop = time.perf_counter() - t0
        # The largest of the Pulumi processes (CLI, Python program, policy pack, provider), all
        # reaped by now; the control plane is still running, so it is not in this figure.
        children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    finally:
        kube.stop()
    objects = sum(first["summary"].values())
    manifests = render(raw)
    base = start_kube(tmp / "kube-baseline", controllers=False, kwok_nodes=0)
    try:
        t_apply = apply_all(base, manifests)
        t_apply_again = apply_all(base, manifests)
    finally:
        base.stop()
    print(json.dumps({
        "benchmark": "cloud_tenants", "tenants": n, "objects_in_stack": objects, "tenant_manifests": len(manifests),
        "first_up_s": round(t_first, 1), "noop_up_s": round(t_noop, 1),
        "first_up_status": first["status"], "noop_summary": noop["summary"],
        "objects_per_s_first_up": round(objects / t_first, 1),
        "objects_per_s_noop_up": round(objects / t_noop, 1),
        "object_step_latency_s_first_up": steps.percentiles(),
        "baseline": "server-side apply of the same rendered manifests, one PATCH each (kubectl apply --server-side)",
        "baseline_apply_s": round(t_apply, 1), "baseline_reapply_s": round(t_apply_again, 1),
        "ratio_first_up_vs_baseline": round(t_first / t_apply, 2),
        "ratio_noop_vs_baseline_reapply": round(t_noop / t_apply_again, 2),
        "goal": {"first_up_s": 300, "noop_up_s": 60, "ratio_max": 3},
        "peak_rss_mb_bench_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_mb_largest_pulumi_process": round(children_rss, 1),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
