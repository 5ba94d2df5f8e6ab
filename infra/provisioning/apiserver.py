"""The one read adapter over the cloud's kube-apiserver (writes go through Pulumi only): reads a
kubeconfig (certificate, token or no user), and answers each tenant's quota against its use.

httpx, not the kubernetes client: the gateway needs two GETs, not the whole generated API."""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx
import yaml

from govops.errors import ServiceUnavailable

TENANT_QUOTA = "tenant-quota"
NEAR_LIMIT = Decimal("0.8")  # from 80 % of a resource a tenant shows as near its limit
_SUFFIX = {
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
}


def quantity(text: str) -> Decimal:
    """A Kubernetes quantity (e.g. 500m, 8Gi, 2) as a number."""
    s = str(text).strip()
    for suffix in sorted(_SUFFIX, key=len, reverse=True):
        if s.endswith(suffix):
            return Decimal(s[: -len(suffix)]) * _SUFFIX[suffix]
    try:
        return Decimal(s)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a Kubernetes quantity") from None


@dataclass(frozen=True)
class ResourceUse:
    resource: str
    hard: str
    used: str

    @property
    def ratio(self) -> float | None:
        h = quantity(self.hard)
        return None if h == 0 else float(quantity(self.used) / h)

    def as_dict(self) -> dict[str, Any]:
        r = self.ratio
        ratio = None if r is None else round(r, 4)
        return {"resource": self.resource, "hard": self.hard, "used": self.used, "ratio": ratio}


@dataclass(frozen=True)
class TenantUsage:
    namespace: str
    resources: tuple[ResourceUse, ...]

    @property
    def highest(self) -> float:
        return max((r.ratio or 0.0 for r in self.resources), default=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "resources": [r.as_dict() for r in self.resources],
            "highest_ratio": round(self.highest, 4),
            "near_limit": self.highest >= NEAR_LIMIT,
        }


class Apiserver:
    def __init__(self, kubeconfig: Path, timeout: float = 10.0) -> None:
        self.kubeconfig = kubeconfig
        self.timeout = timeout

    def _client(self) -> httpx.Client:
        try:
            cfg = yaml.safe_load(self.kubeconfig.read_text(encoding="utf-8")) or {}
            ctx_name = cfg.get("current-context")
            ctx = next(c["context"] for c in cfg.get("contexts", []) if c["name"] == ctx_name)
            cluster = next(c["cluster"] for c in cfg.get("clusters", []) if c["name"] == ctx["cluster"])
            user = next((u.get("user") or {} for u in cfg.get("users", []) if u["name"] == ctx.get("user")), {})
        except (OSError, yaml.YAMLError, KeyError, StopIteration, TypeError, AttributeError) as exc:
            raise ServiceUnavailable(
                f"kubeconfig {self.kubeconfig} is not usable ({type(exc).__name__})", hint="check GOVOPS_KUBECONFIG"
            ) from None
        ctx_ssl = ssl.create_default_context()
        if "certificate-authority-data" in cluster:
            ctx_ssl.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        elif "certificate-authority" in cluster:
            ctx_ssl.load_verify_locations(cafile=cluster["certificate-authority"])
        headers = {}
        if "client-certificate-data" in user and "client-key-data" in user:
            # ssl wants files: a private 0600 directory that lives only while the chain loads
            with tempfile.TemporaryDirectory(prefix="govops-kube-") as d:
                cert, key = Path(d) / "c.crt", Path(d) / "c.key"
                for path, field in ((cert, "client-certificate-data"), (key, "client-key-data")):
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(base64.b64decode(user[field]))
                ctx_ssl.load_cert_chain(str(cert), str(key))
        elif "client-certificate" in user:
            ctx_ssl.load_cert_chain(user["client-certificate"], user.get("client-key"))
        if "token" in user:
            headers["Authorization"] = f"Bearer {user['token']}"
        return httpx.Client(base_url=cluster["server"], verify=ctx_ssl, headers=headers, timeout=self.timeout)

    def _get(self, path: str, **params: str) -> dict[str, Any]:
        try:
            with self._client() as c:
                r = c.get(path, params=params)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"the cloud's apiserver did not answer: {type(exc).__name__}",
                hint="is the cluster up? see `govops lab status`",
            ) from None
        if r.status_code != 200:
            raise ServiceUnavailable(f"the cloud's apiserver answered {r.status_code} to {path}")
        body: dict[str, Any] = r.json()
        return body

    def quota_usage(self) -> dict[str, TenantUsage]:
        """Each namespace's tenant quota: hard limits against what is used now (the quota
        controller's status), by namespace."""
        items = self._get("/api/v1/resourcequotas", fieldSelector=f"metadata.name={TENANT_QUOTA}").get("items") or []
        out: dict[str, TenantUsage] = {}
        for q in items:
            ns = q["metadata"]["namespace"]
            hard = (q.get("status") or {}).get("hard") or (q.get("spec") or {}).get("hard") or {}
            used = (q.get("status") or {}).get("used") or {}
            uses = tuple(ResourceUse(k, str(v), str(used.get(k, "0"))) for k, v in sorted(hard.items()))
            out[ns] = TenantUsage(ns, uses)
        return out
