"""Plan, apply and status: the realm use cases the API and the CLI share."""

from __future__ import annotations

from typing import Any

from identity.keycloak_adapter import KeycloakAdapter
from identity.realm.planner import plan
from identity.realm.spec import RealmSpec


def apply(kc: KeycloakAdapter, spec: RealmSpec, *, dry_run: bool = False) -> dict[str, Any]:
    """Bring the realm to the spec. The second run finds nothing to do and says so."""
    changes = plan(kc, spec)
    result: dict[str, Any] = {
        "realm": spec.realm,
        "dry_run": dry_run,
        "changes": [c.as_dict() for c in changes],
        "lines": [c.line() for c in changes],
        "notes": [],
    }
    if dry_run or not changes:
        result["summary"] = (
            "no changes: the realm already matches its definition"
            if not changes
            else f"{len(changes)} change(s) would be made"
        )
        result["changed"] = 0
        return result
    for c in changes:
        assert c.op is not None
        note = c.op()
        if isinstance(note, str) and note:
            result["notes"].append(note)
    remaining = plan(kc, spec)
    result["changed"] = len(changes)
    result["remaining"] = [c.line() for c in remaining]
    result["summary"] = f"applied {len(changes)} change(s)" + (f"; {len(remaining)} still differ" if remaining else "")
    return result


def status(kc: KeycloakAdapter, spec: RealmSpec) -> dict[str, Any]:
    realm = kc.get_realm()
    out: dict[str, Any] = {"realm": spec.realm, "exists": realm is not None, "keycloak_version": kc.server_version()}
    if realm is None:
        out["summary"] = "the realm does not exist; run `govops identity apply`"
        return out
    drift = plan(kc, spec)
    out.update(
        {
            "users": kc.count_users(),
            "browser_flow": realm.get("browserFlow"),
            "direct_grant_flow": realm.get("directGrantFlow"),
            "brute_force_protected": realm.get("bruteForceProtected"),
            "events_enabled": realm.get("eventsEnabled"),
            "drift": [c.line() for c in drift],
            "summary": "in sync with its definition" if not drift else f"{len(drift)} difference(s)",
        }
    )
    return out
