"""Who is acting: a civil servant from a Keycloak token, or the embedded local admin.

Roles follow MLPS 2.0 three-role separation (system admin, security admin, auditor) plus the two
business roles. A dept-admin is scoped to one department; security staff to one share platform.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

OPS_ENGINEER = "ops-engineer"
DEPT_ADMIN = "dept-admin"
SECURITY_STAFF = "security-staff"
AUDITOR = "auditor"
SEC_ADMIN = "sec-admin"
CONTRACTOR = "contractor"  # a maintenance contractor (运维单位): its own work orders only
ROLES = (OPS_ENGINEER, DEPT_ADMIN, SECURITY_STAFF, AUDITOR, SEC_ADMIN, CONTRACTOR)


@dataclass(frozen=True)
class Principal:
    subject: str
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    department: str | None = None  # department code, for dept-admin
    platform: str | None = None  # share platform code, for security-staff
    contractor: str | None = None  # contractor code, for contractor

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def sees_all_cameras(self) -> bool:
        return OPS_ENGINEER in self.roles


# 三员分立: the system administrator, the security administrator and the auditor are different
# people (MLPS 2.0, GB/T 22239-2019). No principal may hold two of these.
SEPARATED_ROLES = (OPS_ENGINEER, SEC_ADMIN, AUDITOR)
SEPARATION_HINT = (
    "give each person at most one of ops-engineer (系统管理员), sec-admin (安全管理员) and auditor (审计管理员)"
)


def separated_roles_held(roles: frozenset[str] | set[str]) -> list[str]:
    """The MLPS-separated roles `roles` holds, when it holds more than one (else empty)."""
    held = [r for r in SEPARATED_ROLES if r in roles]
    return held if len(held) > 1 else []


# The embedded default's three local accounts, one per MLPS administrator. `govops serve` prints
# a one-time login URL for each. The system admin keeps the subject `local-admin` (the name
# earlier audit records use for the embedded administrator).
LOCAL_SYSTEM_ADMIN = Principal(
    subject="local-admin",
    name="本机管理员 · 系统管理员 (local system admin)",
    roles=frozenset({OPS_ENGINEER}),
)
LOCAL_SECURITY_ADMIN = Principal(
    subject="local-secadmin",
    name="本机管理员 · 安全管理员 (local security admin)",
    roles=frozenset({SEC_ADMIN}),
)
LOCAL_AUDITOR = Principal(
    subject="local-auditor",
    name="本机管理员 · 审计管理员 (local auditor)",
    roles=frozenset({AUDITOR}),
)
# account name (as printed by `govops serve`) → principal
LOCAL_ACCOUNTS: dict[str, Principal] = {
    "system-admin": LOCAL_SYSTEM_ADMIN,
    "security-admin": LOCAL_SECURITY_ADMIN,
    "auditor": LOCAL_AUDITOR,
}
SYSTEM = Principal(subject="system", name="govops", roles=frozenset({OPS_ENGINEER}))


def cli_principal(role: str = OPS_ENGINEER) -> Principal:
    """Who a CLI command acts as: `cli:<os user>` (the audit log names the person at the
    terminal) with the one MLPS administrator role that OS user is configured for
    (`GOVOPS_CLI_ROLE`, read by the CLI: gateway/cli/roles.py). Whoever runs the CLI acts as one
    of the three administrators, never as two (三员分立)."""
    if role not in SEPARATED_ROLES:
        raise ValueError(f"the CLI acts as one of {', '.join(SEPARATED_ROLES)}, not {role!r}")
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container running as a bare uid)
        user = "unknown"
    return Principal(subject=f"cli:{user}", name=f"本机运维 (local operator, {role})", roles=frozenset({role}))
