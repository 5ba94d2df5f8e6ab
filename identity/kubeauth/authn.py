"""What the e-government cloud's apiserver must trust: the platform's Keycloak, as a structured
authentication configuration (`--authentication-config`, apiserver.config.k8s.io/v1, GA in 1.34).

- issuer: the civil-servants realm over HTTPS (the apiserver refuses plain HTTP), verified with
  the platform's CA, which issued Keycloak's server certificate;
- audience: the realm's `kubernetes` client, whose tokens alone carry it (its own client scope);
- username: `oidc:<preferred_username>` (the civil servant ID, lower-cased), uid: `sub`;
- groups: `oidc:<department group>` for a dept-admin, `oidc:<auditors group>` for an auditor,
  which is what the tenants' RoleBindings name (infra/tenant.py: `department-admins` → admin,
  `auditors` → view). Groups follow the realm role, not bare membership: every civil servant
  of a department is in its group, but only its administrators may run its namespace, and an
  auditor reads without ever writing (MLPS: the auditor is no administrator). Anyone else is
  authenticated and holds no binding, so the apiserver itself answers 403;
- claim rules: an access token (`typ` Bearer, so an ID token is not replayed), issued to the
  kubernetes client (`azp`), holding at most one of the MLPS-separated roles (三员分立, as the
  gateway's verifier checks too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from govops.errors import ConfigError
from govops.files import write_private
from govops.principal import AUDITOR, DEPT_ADMIN, SEPARATED_ROLES
from identity.keycloak_adapter import OidcEndpoints
from identity.kubeauth.credential import KUBERNETES_CLIENT

API_VERSION = "apiserver.config.k8s.io/v1"
# The tenants bind `<prefix><SSO group>` (infra/tenant.py DepartmentTenantArgs.oidc_groups_prefix).
GROUPS_PREFIX = "oidc:"
USERNAME_PREFIX = "oidc:"
CIVIL_SERVANT_EXTRA = "govops.cn/civil-servant-id"


def _cel_string(value: str) -> str:
    if "'" in value or "\\" in value:
        raise ConfigError(f"{value!r} cannot be used in the apiserver's rules", hint="use a plain group path")
    return f"'{value}'"


def _holds(role: str) -> str:
    return (
        "has(claims.realm_access) && has(claims.realm_access.roles) && "
        f"{_cel_string(role)} in claims.realm_access.roles"
    )


def groups_expression(auditors_group: str, *, prefix: str = GROUPS_PREFIX) -> str:
    """CEL: the department groups of a dept-admin and the auditors group of an auditor, prefixed."""
    p = _cel_string(prefix)
    return (
        f"({_holds(DEPT_ADMIN)} && has(claims.groups) ? dyn(claims.groups).map(g, {p} + g) : [])"
        f" + ({_holds(AUDITOR)} ? [{_cel_string(prefix + auditors_group)}] : [])"
    )


def authentication_config(
    *,
    issuer: str,
    ca_pem: str,
    auditors_group: str,
    audience: str = KUBERNETES_CLIENT,
) -> dict[str, Any]:
    if not issuer.startswith("https://"):
        raise ConfigError(
            f"the apiserver only trusts an HTTPS issuer, not {issuer}",
            hint="point GOVOPS_KEYCLOAK_URL at Keycloak's HTTPS port",
        )
    if "BEGIN CERTIFICATE" not in ca_pem:
        raise ConfigError("the CA for Keycloak's certificate is not PEM", hint="give GOVOPS_KEYCLOAK_CA_FILE")
    separated = ", ".join(_cel_string(r) for r in SEPARATED_ROLES)
    return {
        "apiVersion": API_VERSION,
        "kind": "AuthenticationConfiguration",
        "jwt": [
            {
                "issuer": {"url": issuer, "certificateAuthority": ca_pem, "audiences": [audience]},
                "claimValidationRules": [
                    {
                        "expression": "has(claims.typ) && claims.typ == 'Bearer'",
                        "message": "only access tokens are accepted (not ID tokens)",
                    },
                    {
                        "expression": f"has(claims.azp) && claims.azp == {_cel_string(audience)}",
                        "message": f"the token was not issued to the {audience} client",
                    },
                    {
                        "expression": "!has(claims.realm_access) || !has(claims.realm_access.roles) || "
                        f"dyn(claims.realm_access.roles).filter(r, r in [{separated}]).size() <= 1",
                        "message": "the token holds two of the separated MLPS roles (三员分立)",
                    },
                ],
                "claimMappings": {
                    "username": {"claim": "preferred_username", "prefix": USERNAME_PREFIX},
                    "groups": {"expression": groups_expression(auditors_group)},
                    "uid": {"claim": "sub"},
                    "extra": [
                        {
                            "key": CIVIL_SERVANT_EXTRA,
                            "valueExpression": "has(claims.civil_servant_id) ? claims.civil_servant_id : ''",
                        }
                    ],
                },
                "userValidationRules": [
                    {
                        "expression": "!user.username.startsWith('system:')",
                        "message": "an SSO user cannot pose as a system user",
                    },
                    {
                        "expression": "user.groups.all(g, !g.startsWith('system:'))",
                        "message": "an SSO user cannot join a system group",
                    },
                ],
            }
        ],
    }


def authentication_config_for(
    *, keycloak_url: str | None, realm: str, ca_file: Path | None, auditors_group: str
) -> dict[str, Any]:
    """The configuration for the platform's settings (GOVOPS_KEYCLOAK_URL, _REALM, _CA_FILE)."""
    if not keycloak_url:
        raise ConfigError("Keycloak is not configured", hint="set GOVOPS_KEYCLOAK_URL (its HTTPS URL)")
    if ca_file is None:
        raise ConfigError("the apiserver needs the CA of Keycloak's certificate", hint="set GOVOPS_KEYCLOAK_CA_FILE")
    try:
        ca_pem = Path(ca_file).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {ca_file}: {exc}", hint="set GOVOPS_KEYCLOAK_CA_FILE to a PEM file") from None
    return authentication_config(
        issuer=OidcEndpoints(keycloak_url, realm).issuer, ca_pem=ca_pem, auditors_group=auditors_group
    )


def write_authentication_config(path: Path, config: dict[str, Any]) -> Path:
    """The file for `kube-apiserver --authentication-config` (0600: it names the platform's trust)."""
    return write_private(path, yaml.safe_dump(config, sort_keys=False, allow_unicode=True).encode())
