"""PlatformServices: govops itself on the cloud it provisions.

The gateway (stateless, N replicas behind a ClusterIP Service), the diagnosis workers as a
StatefulSet whose ordinal is the shard (`govops video patrol --shard $ORDINAL/$REPLICAS`), and the
Prometheus alert rules as a ConfigMap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.k8s_object import K8sObject
from infra.platform_network import platform_network_policies
from infra.tenant import LABEL_PREFIX, PLATFORM_NAMESPACE

GATEWAY_PORT, METRICS_PORT = 8080, 9100
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@dataclass
class PlatformServicesArgs:
    image: str
    gateway_replicas: int = 2
    diagnosis_workers: int = 2
    database_secret: str = "govops-database"  # noqa: S105 - a Secret's name (key `url`), made outside Pulumi state
    alert_rules: dict[str, str] = field(default_factory=dict)  # file name -> rules YAML
    namespace: str = PLATFORM_NAMESPACE
    # zone -> its CIDRs (the departments file's `networks`): who reaches the platform, and what it reaches
    networks: dict[str, list[str]] = field(default_factory=dict)


def _container(name: str, image: str, args: list[str], env: list[dict], port: int | None = None) -> dict:
    c = {
        "name": name,
        "image": image,
        "args": args,
        "env": env,
        "securityContext": RESTRICTED,
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    }
    if port:
        c["ports"] = [{"name": "http", "containerPort": port}]
        c["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": port}, "periodSeconds": 10}
        c["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 20}
    return c


class PlatformServices(pulumi.ComponentResource):
    def __init__(self, name: str, args: PlatformServicesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("govops:cloud:PlatformServices", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = K8sObject(
            "kubernetes:core/v1:Namespace",
            f"{name}-namespace",
            {
                "metadata": {
                    "name": args.namespace,
                    "labels": {
                        f"{LABEL_PREFIX}/platform": "true",
                        f"{LABEL_PREFIX}/zone": "management",  # never a tenant zone: no same-zone peer
                        "pod-security.kubernetes.io/enforce": "restricted",
                    },
                }
            },
            child,
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        db_env: list[dict[str, Any]] = [
            {
                "name": "GOVOPS_DATABASE_URL",
                "valueFrom": {"secretKeyRef": {"name": args.database_secret, "key": "url", "optional": True}},
            },
            {"name": "GOVOPS_ENVIRONMENT", "value": "production"},
        ]
        pod_sc = {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}}
        labels = {"app.kubernetes.io/name": "govops-gateway"}
        self.gateway = K8sObject(
            "kubernetes:apps/v1:Deployment",
            f"{name}-gateway",
            {
                "metadata": {"name": "govops-gateway", "namespace": args.namespace, "labels": labels},
                "spec": {
                    "replicas": args.gateway_replicas,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "securityContext": pod_sc,
                            "containers": [
                                _container(
                                    "gateway",
                                    args.image,
                                    ["serve", "--host", "0.0.0.0", "--port", str(GATEWAY_PORT), "--no-sample"],  # noqa: S104 - in a pod
                                    db_env,
                                    GATEWAY_PORT,
                                )
                            ],
                        },
                    },
                },
            },
            in_ns,
        )
        K8sObject(
            "kubernetes:core/v1:Service",
            f"{name}-gateway-svc",
            {
                "metadata": {
                    "name": "govops-gateway",
                    "namespace": args.namespace,
                    "labels": labels,
                    # `up` waits for the gateway Deployment's pods to be Ready, and this Service
                    # selects exactly those pods. The provider's own Service wait would add a fixed
                    # 10 s "settle" after the last Endpoints change to every up that creates it.
                    "annotations": {"pulumi.com/skipAwait": "true"},
                },
                "spec": {
                    "type": "ClusterIP",
                    "selector": labels,
                    "ports": [{"name": "http", "port": 80, "targetPort": GATEWAY_PORT}],
                },
            },
            in_ns,
        )
        wl = {"app.kubernetes.io/name": "govops-diagnosis"}
        shard_env = [
            *db_env,
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "GOVOPS_PATROL_SHARDS", "value": str(args.diagnosis_workers)},
        ]
        K8sObject(
            "kubernetes:core/v1:Service",
            f"{name}-diagnosis-headless",
            {
                "metadata": {"name": "govops-diagnosis", "namespace": args.namespace},
                "spec": {"clusterIP": "None", "selector": wl, "ports": [{"name": "metrics", "port": METRICS_PORT}]},
            },
            in_ns,
        )
        self.workers = K8sObject(
            "kubernetes:apps/v1:StatefulSet",
            f"{name}-diagnosis",
            {
                "metadata": {"name": "govops-diagnosis", "namespace": args.namespace, "labels": wl},
                "spec": {
                    "serviceName": "govops-diagnosis",
                    "replicas": args.diagnosis_workers,
                    "podManagementPolicy": "Parallel",
                    "selector": {"matchLabels": wl},
                    "template": {
                        "metadata": {"labels": wl},
                        "spec": {
                            "securityContext": pod_sc,
                            # shard = the pod's ordinal (govops-diagnosis-<i>) of GOVOPS_PATROL_SHARDS
                            "containers": [
                                _container(
                                    "patrol", args.image, ["video", "patrol", "--shard-from-pod-name"], shard_env
                                )
                            ],
                        },
                    },
                },
            },
            in_ns,
        )
        K8sObject(
            "kubernetes:core/v1:ConfigMap",
            f"{name}-alert-rules",
            {
                "metadata": {
                    "name": "govops-alert-rules",
                    "namespace": args.namespace,
                    "labels": {"prometheus.io/rules": "true"},
                },
                "data": args.alert_rules,
            },
            in_ns,
        )
        platform_network_policies(
            args.namespace,
            args.networks,
            gateway_labels=labels,
            gateway_port=GATEWAY_PORT,
            workers_labels=wl,
            metrics_port=METRICS_PORT,
            opts=in_ns,
        )
        self.register_outputs({"gateway": self.gateway.metadata.apply(lambda m: m["name"])})
