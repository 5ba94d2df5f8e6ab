"""Plan, apply and status: the realm use cases the API and the CLI share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from govops import audit
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


@dataclass(frozen=True)
class RealmApplyResult:
    """What `apply_and_audit` did: the plan, how many changes were made, what still differs."""

    realm: str
    dry_run: bool
    changed: int
    lines: list[str]
    remaining: list[str]
    summary: str
    detail: dict[str, Any]  # the full report, as `apply` returns it

    @property
    def converged(self) -> bool:
        return not self.remaining

    def as_dict(self) -> dict[str, Any]:
        return dict(self.detail)


def apply_and_audit(
    session: Session, kc: KeycloakAdapter, spec: RealmSpec, *, actor: str, dry_run: bool = False
) -> RealmApplyResult:
    """`govops identity apply` and `POST /api/identity/realm/apply`: bring the realm to its
    definition and record every real apply in the audit log — also one that changed nothing,
    with `changed: 0`, so the log shows that the realm was checked and by whom. A dry run is
    not audited (it changes nothing and is a read)."""
    detail = apply(kc, spec, dry_run=dry_run)
    result = RealmApplyResult(
        realm=spec.realm,
        dry_run=dry_run,
        changed=int(detail.get("changed", 0)),
        lines=list(detail["lines"]),
        remaining=list(detail.get("remaining", [])),
        summary=str(detail["summary"]),
        detail=detail,
    )
    if not dry_run:
        audit.append(
            session,
            actor=actor,
            action="identity.realm_apply",
            target=spec.realm,
            detail={"changed": result.changed, "lines": result.lines[:50], "remaining": len(result.remaining)},
        )
    return result
