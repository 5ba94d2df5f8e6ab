"""MLPS three-role separation (等保 2.0 三员分立): the system administrator (ops-engineer), the
security administrator (sec-admin) and the auditor are held by different people. Checked where
roles are assigned (the directory import) and again where a token is accepted."""

from __future__ import annotations

from collections.abc import Iterable

from govops.principal import AUDITOR, OPS_ENGINEER, SEC_ADMIN

SEPARATED_ROLES = (OPS_ENGINEER, SEC_ADMIN, AUDITOR)
HINT = "give each person at most one of ops-engineer (系统管理员), sec-admin (安全管理员) and auditor (审计管理员)"


def conflicting(roles: Iterable[str]) -> list[str]:
    """The separated roles `roles` holds, when it holds more than one (else empty)."""
    have = set(roles)
    held = [r for r in SEPARATED_ROLES if r in have]
    return held if len(held) > 1 else []


def describe(held: list[str]) -> str:
    return f"{' + '.join(held)} together break MLPS three-role separation (三员分立)"
