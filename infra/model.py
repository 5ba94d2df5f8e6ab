"""The declared departments of the e-government cloud, validated before anything is applied.

A departments file (YAML) lists each department with its code, zone, MLPS level and quota. A bad
entry (duplicate code, negative quota, unknown zone) fails validation naming the entry, and then
nothing is applied at all.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# Network zones of the government network (电子政务网络分区). Label values must be ASCII.
ZONES: dict[str, str] = {
    "gov-extranet": "政务外网",
    "gov-intranet": "政务内网",
    "video-private": "视频专网",
    "internet": "互联网区",
}
# Zones whose tenants may talk to other tenants of the same zone; the internet zone never.
INTRA_ZONE_ALLOWED = {"gov-extranet", "gov-intranet", "video-private"}
QUANTITY = re.compile(r"^(\d+(\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")


class Quota(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpu: str = "4"
    memory: str = "8Gi"
    storage: str = "100Gi"
    pods: Annotated[int, Field(ge=0, le=5000)] = 50

    @field_validator("cpu", "memory", "storage", mode="before")
    @classmethod
    def _quantity(cls, v: object) -> str:
        s = str(v).strip()
        if s.startswith("-"):
            raise ValueError(f"quota {s!r} is negative")
        if not QUANTITY.match(s):
            raise ValueError(f"{s!r} is not a Kubernetes quantity (e.g. 4, 500m, 8Gi)")
        return s


class DepartmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")]
    name: str
    zone: Literal["gov-extranet", "gov-intranet", "video-private", "internet"]
    mlps_level: Annotated[int, Field(ge=1, le=4)] = 2  # 等保等级
    sso_group: str | None = None  # defaults to /<district>/<code>
    quota: Quota = Quota()

    @property
    def namespace(self) -> str:
        return f"dept-{self.code}"


class ZoneNetwork(BaseModel):
    """The address ranges of one network zone (e.g. the 视频专网's camera subnets)."""

    model_config = ConfigDict(extra="forbid")

    cidrs: list[str] = []

    @field_validator("cidrs")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        out = []
        for c in v:
            try:
                out.append(str(ipaddress.ip_network(c, strict=True)))
            except ValueError as exc:
                raise ValueError(f"{c!r} is not a network in CIDR form ({exc})") from None
        return out


class CloudSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    district: Annotated[str, Field(pattern=r"^\d{6}$")]
    registry: str = "registry.gov.local"
    auditors_group: str = "/auditors"
    # Zone -> its address ranges; a tenant may reach its own zone's ranges and nothing else outside
    # the cluster. "management" is the operators' network, which no tenant reaches.
    networks: dict[Literal["gov-extranet", "gov-intranet", "video-private", "internet", "management"], ZoneNetwork] = {}
    departments: list[DepartmentSpec]

    @model_validator(mode="after")
    def _unique(self) -> CloudSpec:
        seen: set[str] = set()
        for i, d in enumerate(self.departments):
            if d.code in seen:
                raise ValueError(f"departments[{i}] ({d.name}): duplicate department code {d.code!r}")
            seen.add(d.code)
        return self

    @model_validator(mode="after")
    def _zones_apart(self) -> CloudSpec:
        nets = [(z, ipaddress.ip_network(c)) for z, n in self.networks.items() for c in n.cidrs]
        for i, (za, a) in enumerate(nets):
            for zb, b in nets[i + 1 :]:
                if za != zb and a.version == b.version and a.overlaps(b):
                    raise ValueError(f"networks: {za} {a} overlaps {zb} {b}; zones must not share addresses")
        return self

    def cidrs_of(self, zone: str) -> list[str]:
        net = self.networks.get(zone)  # type: ignore[call-overload]
        return list(net.cidrs) if net else []

    def group_of(self, d: DepartmentSpec) -> str:
        return d.sso_group or f"/{self.district}/{d.code}"


class DepartmentsInvalid(ValueError):
    """The departments file is not valid; the message names the entry."""


def _describe(exc: ValidationError, raw: dict) -> str:
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc) or "file"
        if len(loc) >= 2 and loc[0] == "departments" and isinstance(loc[1], int):
            entries = raw.get("departments") or []
            entry = entries[loc[1]] if loc[1] < len(entries) else {}
            name = entry.get("code") or entry.get("name") if isinstance(entry, dict) else None
            where = f"departments[{loc[1]}] ({name})" + ("." + ".".join(str(p) for p in loc[2:]) if loc[2:] else "")
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {msg}" if loc else msg)  # a whole-file check names its own place
    return "; ".join(lines)


def parse_cloud(raw: object, source: str = "departments file") -> CloudSpec:
    if not isinstance(raw, dict):
        raise DepartmentsInvalid(f"{source}: expected a mapping with 'district' and 'departments'")
    try:
        return CloudSpec.model_validate(raw)
    except ValidationError as exc:
        raise DepartmentsInvalid(f"{source}: {_describe(exc, raw)}") from None


def load_cloud(path: Path) -> CloudSpec:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError, RecursionError) as exc:  # ValueError: not UTF-8
        raise DepartmentsInvalid(f"{path}: cannot read: {exc}") from None
    return parse_cloud(raw, str(path))


# A department's own workloads: manifests in <workloads dir>/<code>/*.yaml (infra/workloads.py).
KINDS = {
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("v1", "Pod"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "PersistentVolumeClaim"),
}


class WorkloadInvalid(ValueError):
    """A manifest that cannot be a tenant workload; the message names the file."""


def load_workloads(directory: Path | None, code: str) -> list[tuple[str, dict[str, Any]]]:
    """(file name, manifest) of one department's workloads, sorted by file; none if no directory."""
    if directory is None or not (directory / code).is_dir():
        return []
    out = []
    for path in sorted((directory / code).glob("*.yaml")):
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        except (OSError, ValueError, yaml.YAMLError, RecursionError) as exc:  # ValueError: not UTF-8
            raise WorkloadInvalid(f"{path}: cannot read: {exc}") from None
        for doc in docs:
            if not isinstance(doc, dict) or (doc.get("apiVersion"), doc.get("kind")) not in KINDS:
                kind = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
                raise WorkloadInvalid(
                    f"{path}: kind {kind} is not a tenant workload (allowed: {', '.join(sorted(k for _, k in KINDS))})"
                )
            if not (doc.get("metadata") or {}).get("name"):
                raise WorkloadInvalid(f"{path}: a {doc['kind']} without metadata.name")
            out.append((path.name, doc))
    return out
