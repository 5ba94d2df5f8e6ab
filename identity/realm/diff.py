"""Comparing declared state with what Keycloak hands back, and the Change a plan is made of."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


def _norm(value: Any) -> Any:
    """Keycloak hands configs back as strings and lists in its own order."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_norm(v) for v in value]
        return sorted(items, key=lambda v: repr(v))
    return value


def _same(want: Any, have: Any) -> bool:
    """Declared-subset equality: a dict matches when every declared key matches (Keycloak adds
    keys of its own); lists compare as multisets; scalars as Keycloak's strings."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return not want and have is None
        return all(_same(v, have.get(k)) for k, v in want.items())
    return bool(_norm(want) == _norm(have))


def differences(
    desired: Mapping[str, Any], actual: Mapping[str, Any] | None, keys: Iterable[str] | None = None
) -> dict[str, list[Any]]:
    """{field: [actual, desired]} for every declared field whose value differs."""
    actual = actual or {}
    out: dict[str, list[Any]] = {}
    for k in keys if keys is not None else desired.keys():
        want, have = desired.get(k), actual.get(k)
        if not _same(want, have):
            if isinstance(want, dict) and isinstance(have, dict):
                have = {kk: have.get(kk) for kk in want}
            out[k] = [have, want]
    return out


@dataclass
class Change:
    action: str  # create | update | rebuild
    kind: str
    name: str
    fields: dict[str, list[Any]] = field(default_factory=dict)
    op: Callable[[], object] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "name": self.name,
            "fields": {k: {"current": v[0], "desired": v[1]} for k, v in self.fields.items()},
        }

    def line(self) -> str:
        sign = {"create": "+", "update": "~", "rebuild": "!"}.get(self.action, "?")
        detail = f" ({', '.join(self.fields)})" if self.fields and self.action != "create" else ""
        return f"{sign} {self.kind} {self.name}{detail}"
