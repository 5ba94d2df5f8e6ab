"""The realm as a typed model (RealmSpec and its parts) and `build_spec`, which assembles the
declared document for a district's departments and share platforms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from govops.errors import ValidationFailed
from govops.principal import OPS_ENGINEER
from identity.realm.document import (
    BROWSER_FLOW,
    CLI_CLIENT,
    CLIENT_SCOPES,
    DEFAULT_DEFAULT_SCOPES,
    DIRECT_GRANT_FLOW,
    GATEWAY_CLIENT,
    KUBERNETES_AUDIENCE_SCOPE,
    KUBERNETES_CLIENT,
    PLATFORM_ROOT,
    REALM_SETTINGS,
    ROLE_DESCRIPTIONS,
    USER_PROFILE_ATTRIBUTES,
    x509_config,
)


@dataclass
class GroupSpec:
    name: str  # the path segment: a code, so token paths stay ASCII and stable
    display_name: str
    kind: str  # district | department | section | platform-root | platform
    children: list[GroupSpec] = field(default_factory=list)

    @property
    def attributes(self) -> dict[str, list[str]]:
        return {"display_name": [self.display_name], "govops_kind": [self.kind]}


@dataclass
class Step:
    """An execution (provider) or, with `steps`, a sub-flow (provider is then its alias)."""

    provider: str
    requirement: str
    config: dict[str, str] | None = None
    steps: list[Step] | None = None
    description: str = ""


@dataclass
class FlowSpec:
    alias: str
    description: str
    steps: list[Step]


@dataclass
class BreakGlassAccount:
    username: str
    name: str
    roles: list[str]


@dataclass
class RealmSpec:
    realm: str
    display_name: str
    settings: dict[str, Any]
    roles: dict[str, str]
    groups: list[GroupSpec]
    profile_attributes: list[dict[str, Any]]
    client_scopes: list[dict[str, Any]]
    default_default_scopes: list[str]
    clients: list[dict[str, Any]]
    flows: list[FlowSpec]
    bindings: dict[str, str]
    break_glass: list[BreakGlassAccount]


@dataclass(frozen=True)
class DepartmentSource:
    code: str
    name: str
    sso_group: str  # e.g. /310116/gaj
    sections: tuple[tuple[str, str], ...] = ()


def build_spec(
    *,
    realm: str,
    departments: Iterable[DepartmentSource],
    crl_url: str | None,
    gateway_redirect_uris: list[str],
    district_name: str | None = None,
    platforms: Mapping[str, str] | None = None,
    break_glass: list[BreakGlassAccount] | None = None,
    display_name: str = "政务公务人员统一身份认证",
) -> RealmSpec:
    roots: dict[str, GroupSpec] = {}
    for d in departments:
        parts = [p for p in d.sso_group.split("/") if p]
        if len(parts) != 2:
            raise ValidationFailed(
                f"department {d.code}: SSO group {d.sso_group!r} is not /<district>/<department>",
                hint="fix the department's sso_group",
            )
        root = roots.setdefault(parts[0], GroupSpec(parts[0], district_name or parts[0], "district"))
        dept = GroupSpec(
            parts[1], d.name, "department", [GroupSpec(code, name, "section") for code, name in d.sections]
        )
        root.children.append(dept)
    groups = list(roots.values())
    if platforms:
        groups.append(
            GroupSpec(
                PLATFORM_ROOT,
                "视频共享平台 (share platforms)",
                "platform-root",
                [GroupSpec(c, n, "platform") for c, n in platforms.items()],
            )
        )
    api_scopes = ["govops-api", "govops-contractor"]  # the platform's own clients only
    clients = [
        {
            "clientId": GATEWAY_CLIENT,
            "name": "govops 运维平台 (console)",
            "enabled": True,
            "protocol": "openid-connect",
            "publicClient": True,
            "standardFlowEnabled": True,
            "implicitFlowEnabled": False,
            "directAccessGrantsEnabled": False,
            "serviceAccountsEnabled": False,
            "frontchannelLogout": True,
            "redirectUris": gateway_redirect_uris,
            "webOrigins": ["+"],
            "attributes": {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "+"},
            "defaultClientScopes": api_scopes,
        },
        {
            "clientId": CLI_CLIENT,
            "name": "govops CLI (X.509 direct grant)",
            "enabled": True,
            "protocol": "openid-connect",
            "publicClient": True,
            "standardFlowEnabled": False,
            "implicitFlowEnabled": False,
            "directAccessGrantsEnabled": True,
            "serviceAccountsEnabled": False,
            "redirectUris": [],
            "webOrigins": [],
            "attributes": {},
            "defaultClientScopes": api_scopes,
        },
        {
            # kubectl's exec credential plugin (`govops cloud credential`): the certificate on
            # the direct grant (the realm's X.509-only flow) or the device flow, whose browser
            # step is the same X.509 browser login. Public: a workstation keeps no secret.
            "clientId": KUBERNETES_CLIENT,
            "name": "政务云 Kubernetes (kubectl)",
            "enabled": True,
            "protocol": "openid-connect",
            "publicClient": True,
            "standardFlowEnabled": False,
            "implicitFlowEnabled": False,
            "directAccessGrantsEnabled": True,
            "serviceAccountsEnabled": False,
            "redirectUris": [],
            "webOrigins": [],
            "attributes": {"oauth2.device.authorization.grant.enabled": "true"},
            "defaultClientScopes": [KUBERNETES_AUDIENCE_SCOPE],
        },
    ]
    cfg = x509_config(crl_url)
    flows = [
        FlowSpec(
            BROWSER_FLOW,
            "X.509 civil-servant certificate; password + OTP only for accounts that hold a password (break-glass)",
            [
                Step("auth-cookie", "ALTERNATIVE"),
                Step("auth-x509-client-username-form", "ALTERNATIVE", config=cfg),
                Step(
                    f"{BROWSER_FLOW}-break-glass",
                    "ALTERNATIVE",
                    description="break-glass: password and OTP, both required",
                    steps=[Step("auth-username-password-form", "REQUIRED"), Step("auth-otp-form", "REQUIRED")],
                ),
            ],
        ),
        FlowSpec(
            DIRECT_GRANT_FLOW,
            "X.509 civil-servant certificate only (no password grant)",
            [Step("direct-grant-auth-x509-username", "REQUIRED", config=cfg)],
        ),
    ]
    if break_glass is None:
        break_glass = [BreakGlassAccount("breakglass-ops", "应急运维账号", [OPS_ENGINEER])]
    return RealmSpec(
        realm=realm,
        display_name=display_name,
        settings=dict(REALM_SETTINGS),
        roles=dict(ROLE_DESCRIPTIONS),
        groups=groups,
        profile_attributes=[dict(a) for a in USER_PROFILE_ATTRIBUTES],
        client_scopes=[dict(s) for s in CLIENT_SCOPES],
        default_default_scopes=list(DEFAULT_DEFAULT_SCOPES),
        clients=clients,
        flows=flows,
        bindings={"browserFlow": BROWSER_FLOW, "directGrantFlow": DIRECT_GRANT_FLOW},
        break_glass=break_glass,
    )
