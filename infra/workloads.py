"""TenantWorkloads: a department's own applications on its tenant, from plain manifests.

A department's workloads are Kubernetes manifests in <workloads dir>/<department code>/*.yaml.
They land in the department's namespace (whatever namespace a manifest names), only namespaced
kinds from a short list are accepted, and the policy pack checks every one at preview and up:
this is where an MLPS baseline rule refuses a privileged or root container, a hostPath, an image
from outside the internal registry or a NodePort.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra.k8s_object import K8sObject


def _type_token(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{kind}"


class TenantWorkloads(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        namespace: pulumi.Input[str],
        manifests: list[tuple[str, dict[str, Any]]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("govops:cloud:TenantWorkloads", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        for _, m in manifests:
            meta = {**m["metadata"], "namespace": namespace}
            props = {k: v for k, v in m.items() if k not in ("apiVersion", "kind", "metadata", "status")}
            K8sObject(
                _type_token(m["apiVersion"], m["kind"]),
                f"{name}-{m['kind'].lower()}-{meta['name']}",
                {"metadata": meta, **props},
                child,
            )
        self.register_outputs({})
