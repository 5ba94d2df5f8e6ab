"""DepartmentTenant: one department of the e-government cloud as a Kubernetes tenant.

Namespace (department, zone, MLPS level labels; Pod Security Admission `restricted`),
ResourceQuota (no LoadBalancer or NodePort services), LimitRange defaults, NetworkPolicies
(default deny; within the tenant; from the platform gateway; DNS egress; same-zone peers, so
视频专网 and 互联网区 tenants can never reach each other) and RBAC tying the department's SSO
group, as the cluster's OIDC groups claim carries it, to `admin` and the auditors to `view`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.k8s_object import K8sObject
from infra.model import INTRA_ZONE_ALLOWED, ZONES, DepartmentSpec

LABEL_PREFIX = "govops.cn"
PLATFORM_NAMESPACE = "govops-system"


@dataclass
class DepartmentTenantArgs:
    department: DepartmentSpec
    sso_group: str
    auditors_group: str
    oidc_groups_prefix: str = "oidc:"
    platform_namespace: str = PLATFORM_NAMESPACE
    zone_cidrs: tuple[str, ...] = ()  # the tenant's zone's address ranges, reachable from its pods


# The cluster's DNS, the one shared service every namespace needs.
DNS_EGRESS = {
    "podSelector": {},
    "policyTypes": ["Egress"],
    "egress": [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
    ],
}


def network_policy(name: str, ns: pulumi.Input[str], spec: dict, opts: pulumi.ResourceOptions) -> K8sObject:
    return K8sObject(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        name,
        {"metadata": {"name": name.split("/")[-1], "namespace": ns}, "spec": spec},
        opts,
    )


class DepartmentTenant(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: DepartmentTenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("govops:cloud:DepartmentTenant", name, None, opts)
        d = args.department
        child = pulumi.ResourceOptions(parent=self)
        labels = {
            f"{LABEL_PREFIX}/tenant": "true",
            f"{LABEL_PREFIX}/department": d.code,
            f"{LABEL_PREFIX}/zone": d.zone,
            f"{LABEL_PREFIX}/mlps-level": str(d.mlps_level),
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        }
        ns = K8sObject(
            "kubernetes:core/v1:Namespace",
            f"{name}-namespace",
            {
                "metadata": {
                    "name": d.namespace,
                    "labels": labels,
                    "annotations": {
                        f"{LABEL_PREFIX}/department-name": d.name,
                        f"{LABEL_PREFIX}/zone-name": ZONES[d.zone],
                    },
                }
            },
            child,
        )
        ns_name = ns.metadata.apply(lambda m: m["name"])
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        q = d.quota
        self.quota = K8sObject(
            "kubernetes:core/v1:ResourceQuota",
            f"{name}-quota",
            {
                "metadata": {"name": "tenant-quota", "namespace": ns_name},
                "spec": {
                    "hard": {
                        "requests.cpu": q.cpu,
                        "limits.cpu": q.cpu,
                        "requests.memory": q.memory,
                        "limits.memory": q.memory,
                        "requests.storage": q.storage,
                        "pods": str(q.pods),
                        "services.loadbalancers": "0",
                        "services.nodeports": "0",
                    }
                },
            },
            in_ns,
        )
        K8sObject(
            "kubernetes:core/v1:LimitRange",
            f"{name}-limits",
            {
                "metadata": {"name": "tenant-defaults", "namespace": ns_name},
                "spec": {
                    "limits": [
                        {
                            "type": "Container",
                            "default": {"cpu": "500m", "memory": "512Mi"},
                            # No per-container max: the quota bounds the tenant, and a quota
                            # change then touches only the ResourceQuota.
                            "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                        }
                    ]
                },
            },
            in_ns,
        )
        network_policy(
            f"{name}/default-deny", ns_name, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, in_ns
        )
        network_policy(
            f"{name}/allow-same-namespace",
            ns_name,
            {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
            in_ns,
        )
        network_policy(
            f"{name}/allow-from-platform",
            ns_name,
            {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": args.platform_namespace}
                                }
                            }
                        ]
                    }
                ],
            },
            in_ns,
        )
        network_policy(f"{name}/allow-dns", ns_name, DNS_EGRESS, in_ns)
        if d.zone in INTRA_ZONE_ALLOWED:
            # Peers only from the same zone: a 互联网区 tenant never matches a 视频专网 selector.
            same_zone = {"namespaceSelector": {"matchLabels": {f"{LABEL_PREFIX}/zone": d.zone}}}
            network_policy(
                f"{name}/allow-same-zone",
                ns_name,
                {
                    "podSelector": {},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"from": [same_zone]}],
                    "egress": [{"to": [same_zone]}],
                },
                in_ns,
            )
        if args.zone_cidrs:
            # Out of the cluster, only to the own zone's ranges: zones never share addresses (the
            # model refuses overlaps), so a 互联网区 tenant can never reach 政务外网 or 视频专网.
            network_policy(
                f"{name}/allow-zone-networks",
                ns_name,
                {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [{"to": [{"ipBlock": {"cidr": c}} for c in args.zone_cidrs]}],
                },
                in_ns,
            )
        for suffix, binding, role, group in (
            ("admins", "department-admins", "admin", args.sso_group),
            ("auditors", "auditors", "view", args.auditors_group),
        ):
            K8sObject(
                "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
                f"{name}-{suffix}",
                {
                    "metadata": {"name": binding, "namespace": ns_name},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                    "subjects": [
                        {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "Group",
                            "name": f"{args.oidc_groups_prefix}{group}",
                        }
                    ],
                },
                in_ns,
            )
        self.namespace = ns_name
        self.register_outputs({"namespace": ns_name})
