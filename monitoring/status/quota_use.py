"""Tenants' quota use as the cluster reports it (ResourceQuota status: used against hard)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from govops.settings import Settings

SUFFIX = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
RESOURCES = {"cpu": "requests.cpu", "memory": "requests.memory", "storage": "requests.storage", "pods": "pods"}


def quantity(value: str | None) -> float | None:
    """A Kubernetes quantity as a number ("500m" → 0.5, "8Gi" → 8589934592)."""
    if value is None:
        return None
    m = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value).strip())
    if not m:
        return None
    return float(m.group(1)) * SUFFIX.get(m.group(2), 1.0)


def kubeconfig(settings: Settings) -> Path:
    return Path(settings.kubeconfig or (settings.data_dir / "lab" / "kube" / "kubeconfig"))


def tenant_use(settings: Settings, namespaces: list[str], timeout: float = 3.0) -> dict[str, dict[str, Any]] | None:
    """Per namespace: {resource: {"used": str, "hard": str, "ratio": float|None}}; None when no
    cluster is configured (the page then says so instead of showing zeros)."""
    path = kubeconfig(settings)
    if not path.is_file():
        return None
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=str(path)))
    out: dict[str, dict[str, Any]] = {ns: {} for ns in namespaces}
    for q in api.list_resource_quota_for_all_namespaces(_request_timeout=timeout).items:
        ns = q.metadata.namespace if q.metadata else None
        if ns not in out or q.status is None:
            continue
        hard, used = q.status.hard or {}, q.status.used or {}
        for name, key in RESOURCES.items():
            if key in hard:
                h, u = quantity(hard.get(key)), quantity(used.get(key, "0"))
                out[ns][name] = {
                    "used": used.get(key, "0"),
                    "hard": hard[key],
                    "ratio": (u / h) if h and u is not None else None,
                }
    return out
