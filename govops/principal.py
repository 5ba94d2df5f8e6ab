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


LOCAL_ADMIN = Principal(
    subject="local-admin",
    name="本机管理员 (local admin)",
    roles=frozenset({OPS_ENGINEER, SEC_ADMIN, AUDITOR}),
)
SYSTEM = Principal(subject="system", name="govops", roles=frozenset({OPS_ENGINEER}))


def cli_principal() -> Principal:
    """Who a CLI command acts as: `cli:<os user>`, everywhere (the audit log names the person at
    the terminal). Whoever can run the CLI on the gateway host holds the database and the key
    file, so the command gets every role; MLPS separation is enforced on the API and SSO side."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container running as a bare uid)
        user = "unknown"
    return Principal(subject=f"cli:{user}", name="本机运维 (local operator)", roles=frozenset(ROLES))
