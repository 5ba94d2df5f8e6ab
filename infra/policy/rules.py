"""The checks themselves, as plain functions over resource properties (unit-testable without
the Pulumi engine). Each returns a list of violation messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

TENANT_LABEL = "govops.cn/tenant"
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
PLATFORM_NAMESPACES = {"govops-system"}  # the platform's own services may be exposed; nothing else
POD_TEMPLATES = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
}


def _pod_spec(type_: str, props: dict[str, Any]) -> dict[str, Any] | None:
    if type_ == "kubernetes:core/v1:Pod":
        return props.get("spec") or {}
    if type_ in POD_TEMPLATES:
        return ((props.get("spec") or {}).get("template") or {}).get("spec") or {}
    return None


def _containers(spec: dict[str, Any]) -> Iterable[dict[str, Any]]:
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def no_privileged(type_: str, props: dict[str, Any]) -> list[str]:
    spec = _pod_spec(type_, props)
    if spec is None:
        return []
    bad = [
        c.get("name", "?")
        for c in _containers(spec)
        if (
            (c.get("securityContext") or {}).get("privileged")
            or (c.get("securityContext") or {}).get("allowPrivilegeEscalation") is True
        )
    ]
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        bad.append("host namespaces")
    return [f"privileged containers are not allowed: {', '.join(bad)}"] if bad else []


def images_from_registry(type_: str, props: dict[str, Any], registry: str) -> list[str]:
    spec = _pod_spec(type_, props)
    if spec is None:
        return []
    bad = [c.get("image", "") for c in _containers(spec) if not str(c.get("image", "")).startswith(registry + "/")]
    return [f"images must come from {registry}: {', '.join(bad)}"] if bad else []


def no_exposed_services(
    type_: str, props: dict[str, Any], platform_namespaces: set[str] = PLATFORM_NAMESPACES
) -> list[str]:
    """No LoadBalancer or NodePort outside the platform: a tenant reaches users through the
    platform's gateway, never by opening a port on the nodes."""
    if type_ != "kubernetes:core/v1:Service":
        return []
    ns = (props.get("metadata") or {}).get("namespace") or "default"
    kind = (props.get("spec") or {}).get("type") or "ClusterIP"
    if ns not in platform_namespaces and kind in ("LoadBalancer", "NodePort"):
        return [f"service type {kind} is not allowed outside the platform (namespace {ns})"]
    return []


def resource_limits(type_: str, props: dict[str, Any]) -> list[str]:
    """Every container declares CPU and memory limits (GB/T 22239 resource control)."""
    spec = _pod_spec(type_, props)
    if spec is None:
        return []
    bad = [
        c.get("name", "?")
        for c in _containers(spec)
        if not {"cpu", "memory"} <= set(((c.get("resources") or {}).get("limits") or {}).keys())
    ]
    return [f"containers must set cpu and memory limits: {', '.join(bad)}"] if bad else []


def run_as_non_root(type_: str, props: dict[str, Any]) -> list[str]:
    """runAsNonRoot on the pod or on every container, and no container that asks for uid 0."""
    spec = _pod_spec(type_, props)
    if spec is None:
        return []
    pod = spec.get("securityContext") or {}
    bad = []
    for c in _containers(spec):
        sc = c.get("securityContext") or {}
        non_root = sc.get("runAsNonRoot", pod.get("runAsNonRoot"))
        uid = sc.get("runAsUser", pod.get("runAsUser"))
        if non_root is not True or uid == 0:
            bad.append(c.get("name", "?"))
    return [f"containers must run as non-root (runAsNonRoot: true): {', '.join(bad)}"] if bad else []


def no_host_paths(type_: str, props: dict[str, Any]) -> list[str]:
    spec = _pod_spec(type_, props)
    if spec is None:
        return []
    bad = [v.get("name", "?") for v in spec.get("volumes") or [] if v.get("hostPath") is not None]
    return [f"hostPath volumes are not allowed: {', '.join(bad)}"] if bad else []


def restricted_tenants(resources: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Every tenant namespace enforces the restricted Pod Security Standard."""
    out = []
    for t, p in resources:
        meta = p.get("metadata") or {}
        labels = meta.get("labels") or {}
        tenant = t == "kubernetes:core/v1:Namespace" and labels.get(TENANT_LABEL) == "true"
        if tenant and labels.get(PSA_ENFORCE) != "restricted":
            out.append(f"tenant namespace {meta.get('name')} must carry {PSA_ENFORCE}=restricted")
    return out


def tenants_are_fenced(resources: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Every tenant namespace has a ResourceQuota and a default-deny NetworkPolicy."""
    tenants = {
        (p.get("metadata") or {}).get("name")
        for t, p in resources
        if t == "kubernetes:core/v1:Namespace"
        and ((p.get("metadata") or {}).get("labels") or {}).get(TENANT_LABEL) == "true"
    }
    quotas = {
        (p.get("metadata") or {}).get("namespace") for t, p in resources if t == "kubernetes:core/v1:ResourceQuota"
    }
    deny = {
        (p.get("metadata") or {}).get("namespace")
        for t, p in resources
        if t == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
        and (p.get("spec") or {}).get("podSelector") == {}
        and set((p.get("spec") or {}).get("policyTypes") or []) == {"Ingress", "Egress"}
        and not (p.get("spec") or {}).get("ingress")
        and not (p.get("spec") or {}).get("egress")
    }
    out = []
    for ns in sorted(n for n in tenants if n):
        if ns not in quotas:
            out.append(f"tenant namespace {ns} has no ResourceQuota")
        if ns not in deny:
            out.append(f"tenant namespace {ns} has no default-deny NetworkPolicy")
    return out


def tenant_namespaces(resources: list[tuple[str, dict[str, Any]]]) -> set[str]:
    names: set[str] = set()
    for t, p in resources:
        meta = p.get("metadata") or {}
        if t == "kubernetes:core/v1:Namespace" and (meta.get("labels") or {}).get(TENANT_LABEL) == "true":
            names.add(str(meta.get("name")))
    return names
