"""The e-government cloud: read the stack config and the departments file, create components."""

from pathlib import Path

import pulumi

from infra import sdk_speedups
from infra.model import load_cloud, load_workloads
from infra.platform import PlatformServices, PlatformServicesArgs
from infra.tenant import DepartmentTenant, DepartmentTenantArgs
from infra.workloads import TenantWorkloads

sdk_speedups.apply()
config = pulumi.Config("govops")
root = Path(__file__).resolve().parent.parent
cloud = load_cloud(root / config.get("departmentsFile", "infra/departments.yaml"))

# The platform first: the engine starts steps in the order they are registered, and the gateway
# Deployment's wait for ready pods then overlaps the tenants' objects instead of following them.
if config.get_bool("platform") is not False:
    rules = {p.name: p.read_text(encoding="utf-8") for p in sorted((root / "monitoring" / "rules").glob("*.yml"))}
    PlatformServices(
        "platform",
        PlatformServicesArgs(
            image=f"{cloud.registry}/govops/govops:{config.get('imageTag') or '0.1.0'}",
            gateway_replicas=config.get_int("gatewayReplicas") or 2,
            diagnosis_workers=config.get_int("diagnosisWorkers") or 2,
            alert_rules=rules,
            networks={zone: net.cidrs for zone, net in cloud.networks.items()},
        ),
    )
tenants = {
    d.code: DepartmentTenant(
        d.code,
        DepartmentTenantArgs(d, cloud.group_of(d), cloud.auditors_group, zone_cidrs=tuple(cloud.cidrs_of(d.zone))),
    )
    for d in cloud.departments
}

# Departments' own applications, in their tenants, under the policy pack like everything else.
workloads_dir = config.get("workloadsDir")
for code, tenant in tenants.items():
    manifests = load_workloads(Path(workloads_dir) if workloads_dir else None, code)
    if manifests:
        TenantWorkloads(f"{code}-workloads", tenant.namespace, manifests, pulumi.ResourceOptions(depends_on=[tenant]))

pulumi.export("tenants", {code: t.namespace for code, t in tenants.items()})
