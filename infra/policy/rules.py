"""The checks themselves, as plain functions over resource properties (unit-testable without
the Pulumi engine). Each returns a list of violation messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

TENANT_LABEL = "govops.cn/tenant"
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


def no_exposed_services(type_: str, props: dict[str, Any], tenant_namespaces: set[str]) -> list[str]:
    if type_ != "kubernetes:core/v1:Service":
        return []
    ns = (props.get("metadata") or {}).get("namespace")
    kind = (props.get("spec") or {}).get("type", "ClusterIP")
    if ns in tenant_namespaces and kind in ("LoadBalancer", "NodePort"):
        return [f"service type {kind} is not allowed in tenant namespace {ns}"]
    return []


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
