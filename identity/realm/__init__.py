"""The civil-servants realm as code (desired state → plan → apply), in the spirit of
keycloak-config-cli but in Python and with a diff you can read first.

What the realm declares:
- the departments as a group tree (district → bureau → section) plus the share platforms
  (/platforms/<code>), which the gateway turns into a Principal's department or platform;
- the realm roles of the design (ops-engineer, dept-admin, security-staff, auditor, sec-admin);
- a user profile with the civil servant's ID (`civil_servant_id`), which X.509 login maps the
  certificate's SERIALNUMBER to;
- brute-force detection, password policy, token and session lifetimes, login and admin events;
- the X.509 flows: browser (X509/Validate Username Form, then a break-glass password + OTP branch
  that only accounts holding a password can pass) and direct grant (X509/Validate Username only);
- client scopes that put department groups, the civil servant ID and the gateway's audience in
  tokens, and the gateway's own clients (console: code + PKCE; CLI: X.509 direct grant);
- the `kubernetes` client, whose tokens (and only whose) carry the cloud apiserver's audience.

`plan()` reads the realm and lists what differs; `apply()` runs the plan, then plans again and
reports what (if anything) still differs. Nothing is ever deleted except a flow that has to be
rebuilt; groups and users the directory import created are left alone.
"""

from identity.realm.diff import Change, differences
from identity.realm.document import (
    BROWSER_FLOW,
    CLI_CLIENT,
    CLIENT_SCOPES,
    CONTRACTOR_ATTRIBUTE,
    CONTRACTOR_CODE_PATTERN,
    DIRECT_GRANT_FLOW,
    GATEWAY_CLIENT,
    ID_ATTRIBUTE,
    KUBERNETES_AUDIENCE_SCOPE,
    KUBERNETES_CLIENT,
    PLATFORM_ROOT,
    REALM_SETTINGS,
    ROLE_DESCRIPTIONS,
    SOURCE_ATTRIBUTE,
    x509_config,
)
from identity.realm.planner import RealmPlanner, plan
from identity.realm.reconcile import RealmApplyResult, apply, apply_and_audit, status
from identity.realm.source import SHARE_PLATFORMS, load_overlay, spec_from_settings
from identity.realm.spec import (
    BreakGlassAccount,
    DepartmentSource,
    FlowSpec,
    GroupSpec,
    RealmSpec,
    Step,
    build_spec,
)

__all__ = [
    "BROWSER_FLOW",
    "CLIENT_SCOPES",
    "CLI_CLIENT",
    "CONTRACTOR_ATTRIBUTE",
    "CONTRACTOR_CODE_PATTERN",
    "DIRECT_GRANT_FLOW",
    "GATEWAY_CLIENT",
    "ID_ATTRIBUTE",
    "KUBERNETES_AUDIENCE_SCOPE",
    "KUBERNETES_CLIENT",
    "PLATFORM_ROOT",
    "REALM_SETTINGS",
    "ROLE_DESCRIPTIONS",
    "SHARE_PLATFORMS",
    "SOURCE_ATTRIBUTE",
    "BreakGlassAccount",
    "Change",
    "DepartmentSource",
    "FlowSpec",
    "GroupSpec",
    "RealmApplyResult",
    "RealmPlanner",
    "RealmSpec",
    "Step",
    "apply",
    "apply_and_audit",
    "build_spec",
    "differences",
    "load_overlay",
    "plan",
    "spec_from_settings",
    "status",
    "x509_config",
]
