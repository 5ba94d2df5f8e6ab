"""What a run would change or found changed, resource by resource, read from the engine's step
events (never from its text output): the preview diff an approver reads, and the drift that a
refresh preview finds between the recorded state and the live objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Fields the apiserver and controllers rewrite on their own: a difference there is not drift.
NOISE = (
    "status",
    "metadata.resourceVersion",
    "metadata.managedFields",
    "metadata.generation",
    "metadata.uid",
    "metadata.creationTimestamp",
    'metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]',
    'metadata.annotations["deployment.kubernetes.io/revision"]',
)
SKIP_OPS = {"same", "read", "refresh-same"}
MAX_VALUE = 500  # characters of a value kept in a diff line


@dataclass(frozen=True)
class PropertyChange:
    path: str
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        return "add" if self.old is None else "delete" if self.new is None else "update"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class ResourceChange:
    urn: str
    type: str
    op: str
    properties: tuple[PropertyChange, ...] = ()

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "op": self.op,
            "properties": [p.as_dict() for p in self.properties],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResourceChange:
        return cls(
            d["urn"], d["type"], d["op"], tuple(PropertyChange(p["path"], p["old"], p["new"]) for p in d["properties"])
        )

    def describe(self) -> str:
        lines = [f"{self.op} {self.type.rsplit(':', 1)[-1]} {self.name}"]
        lines += [f"    {p.path}: {_short(p.old)} -> {_short(p.new)}" for p in self.properties]
        return "\n".join(lines)


def _short(value: Any) -> str:
    text = "(none)" if value is None else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _key(path: str, key: str) -> str:
    seg = f'["{key}"]' if not key.isidentifier() else key
    return f"{path}{seg}" if seg.startswith("[") else f"{path}.{seg}" if path else seg


def _noise(path: str) -> bool:
    return any(path == n or path.startswith(n + ".") or path.startswith(n + "[") for n in NOISE)


def _clip(value: Any) -> Any:
    return value if len(repr(value)) <= MAX_VALUE else repr(value)[:MAX_VALUE] + "..."


def property_changes(old: Any, new: Any, path: str = "") -> list[PropertyChange]:
    """Leaf-level differences between two property trees; lists compare as whole values."""
    if _noise(path) or path.startswith("__") or old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[PropertyChange] = []
        for k in sorted(set(old) | set(new), key=str):
            out += property_changes(old.get(k), new.get(k), _key(path, str(k)))
        return out
    return [PropertyChange(path or "(object)", _clip(old), _clip(new))]


def step_change(
    op: str, urn: str, type_: str, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> ResourceChange | None:
    """One step of a preview (old and new inputs) or of a refresh (old and live outputs), or None
    when it changes nothing that matters. Creations and deletions carry no property list."""
    if type_.startswith(("pulumi:", "govops:")) or op in SKIP_OPS:
        return None  # the stack and the components: what they hold is listed under their children
    if op in ("create", "delete", "create-replacement", "delete-replaced", "discard", "import"):
        return ResourceChange(urn, type_, op)
    if op == "refresh" and old is not None and new is None:
        return ResourceChange(urn, type_, "delete")  # gone from the cluster
    if old is None or new is None:
        return None
    props = tuple(property_changes(old, new))
    if not props:
        return None
    return ResourceChange(urn, type_, "update" if op == "refresh" else op, props)
