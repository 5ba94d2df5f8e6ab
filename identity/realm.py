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
  tokens, and the gateway's own clients (console: code + PKCE; CLI: X.509 direct grant).

`plan()` reads the realm and lists what differs; `apply()` runs the plan, then plans again and
reports what (if anything) still differs. Nothing is ever deleted except a flow that has to be
rebuilt; groups and users the directory import created are left alone.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from govops.errors import ValidationFailed
from govops.principal import AUDITOR, CONTRACTOR, DEPT_ADMIN, OPS_ENGINEER, SEC_ADMIN, SECURITY_STAFF
from identity.ca import CIVIL_SERVANT_POLICY
from identity.keycloak_adapter import KeycloakAdapter

ID_ATTRIBUTE = "civil_servant_id"
SOURCE_ATTRIBUTE = "govops_source"  # "directory" on users the directory import manages
GATEWAY_CLIENT = "govops-gateway"
CLI_CLIENT = "govops-cli"
PLATFORM_ROOT = "platforms"
BROWSER_FLOW = "x509-browser"
DIRECT_GRANT_FLOW = "x509-direct-grant"

ROLE_DESCRIPTIONS = {
    OPS_ENGINEER: "运维工程师 — system administrator (MLPS 系统管理员): cloud, cluster, cameras",
    DEPT_ADMIN: "部门管理员 — department administrator: apps and quota of their own department",
    SECURITY_STAFF: "视频值守人员 — security staff: cameras shared to their platform, alerts",
    AUDITOR: "审计管理员 — auditor (MLPS 审计管理员): the audit log only",
    SEC_ADMIN: "安全管理员 — security administrator (MLPS 安全管理员): CA and realm security",
    CONTRACTOR: "运维单位 — maintenance contractor: its own fault work orders",
}

REALM_SETTINGS: dict[str, Any] = {
    "enabled": True,
    "sslRequired": "all",
    "registrationAllowed": False,
    "resetPasswordAllowed": False,
    "rememberMe": False,
    "loginWithEmailAllowed": False,
    "duplicateEmailsAllowed": False,
    "editUsernameAllowed": False,
    # 等保 2.0: lock out repeated failures, log every login and admin action (≥ 180 days).
    "bruteForceProtected": True,
    "permanentLockout": False,
    "failureFactor": 5,
    "waitIncrementSeconds": 60,
    "maxFailureWaitSeconds": 900,
    "maxDeltaTimeSeconds": 43200,
    "minimumQuickLoginWaitSeconds": 60,
    "quickLoginCheckMilliSeconds": 1000,
    "passwordPolicy": "length(12) and upperCase(1) and lowerCase(1) and digits(1) and "
    "specialChars(1) and notUsername(undefined) and passwordHistory(5) and "
    "forceExpiredPasswordChange(90)",
    "otpPolicyType": "totp",
    "otpPolicyAlgorithm": "HmacSHA1",
    "otpPolicyLookAheadWindow": 1,
    "otpPolicyDigits": 6,
    "otpPolicyPeriod": 30,
    "accessTokenLifespan": 300,
    "accessCodeLifespan": 60,
    "ssoSessionIdleTimeout": 1800,
    "ssoSessionMaxLifespan": 36000,
    "revokeRefreshToken": True,
    "refreshTokenMaxReuse": 0,
    "eventsEnabled": True,
    "eventsExpiration": 15552000,
    "eventsListeners": ["jboss-logging"],
    "adminEventsEnabled": True,
    "adminEventsDetailsEnabled": False,
    "internationalizationEnabled": True,
    "supportedLocales": ["zh-CN", "en"],
    "defaultLocale": "zh-CN",
}

_VIEW_ALL = {"view": ["admin", "user"], "edit": ["admin"]}
USER_PROFILE_ATTRIBUTES: list[dict[str, Any]] = [
    # Chinese names are written whole (姓名) in firstName; lastName is optional, so an X.509 user
    # is never stopped by a "complete your profile" page the directory cannot fill in.
    {
        "name": "firstName",
        "displayName": "姓名 (full name)",
        "validations": {"length": {"max": 64}, "person-name-prohibited-characters": {}},
        "permissions": _VIEW_ALL,
        "required": {"roles": ["admin", "user"]},
        "multivalued": False,
    },
    {
        "name": "lastName",
        "displayName": "${lastName}",
        "validations": {"length": {"max": 64}, "person-name-prohibited-characters": {}},
        "permissions": _VIEW_ALL,
        "multivalued": False,
    },
    {
        "name": "email",
        "displayName": "${email}",
        "validations": {"email": {}, "length": {"max": 255}},
        "permissions": _VIEW_ALL,
        "multivalued": False,
    },
    {
        "name": ID_ATTRIBUTE,
        "displayName": "公务人员身份号 (civil servant ID)",
        "validations": {
            "pattern": {"pattern": "^[0-9A-Z]{6,32}$", "error-message": "6-32 upper-case letters or digits"}
        },
        "permissions": _VIEW_ALL,
        "multivalued": False,
    },
    {
        "name": SOURCE_ATTRIBUTE,
        "displayName": "managed by",
        "validations": {"length": {"max": 32}},
        "permissions": {"view": ["admin"], "edit": ["admin"]},
        "multivalued": False,
    },
]
PROFILE_KEYS = ("displayName", "validations", "permissions", "required", "multivalued")

_CLAIM_EVERYWHERE = {
    "access.token.claim": "true",
    "id.token.claim": "true",
    "userinfo.token.claim": "true",
    "introspection.token.claim": "true",
}
CLIENT_SCOPES: list[dict[str, Any]] = [
    {
        "name": "govops-groups",
        "description": "部门 (department) groups as full paths",
        "protocol": "openid-connect",
        "attributes": {"include.in.token.scope": "false", "display.on.consent.screen": "false"},
        "protocolMappers": [
            {
                "name": "groups",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-group-membership-mapper",
                "config": {"full.path": "true", "claim.name": "groups", **_CLAIM_EVERYWHERE},
            }
        ],
    },
    {
        "name": "govops-civil-servant",
        "description": "the civil servant ID (公务人员身份号)",
        "protocol": "openid-connect",
        "attributes": {"include.in.token.scope": "false", "display.on.consent.screen": "false"},
        "protocolMappers": [
            {
                "name": ID_ATTRIBUTE,
                "protocol": "openid-connect",
                "protocolMapper": "oidc-usermodel-attribute-mapper",
                "config": {
                    "user.attribute": ID_ATTRIBUTE,
                    "claim.name": ID_ATTRIBUTE,
                    "jsonType.label": "String",
                    "multivalued": "false",
                    **_CLAIM_EVERYWHERE,
                },
            }
        ],
    },
    {
        "name": "govops-api",
        "description": "lets the token call the govops gateway API",
        "protocol": "openid-connect",
        "attributes": {"include.in.token.scope": "false", "display.on.consent.screen": "false"},
        "protocolMappers": [
            {
                "name": "govops-gateway audience",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-audience-mapper",
                "config": {
                    "included.custom.audience": GATEWAY_CLIENT,
                    "access.token.claim": "true",
                    "id.token.claim": "false",
                    "introspection.token.claim": "true",
                },
            }
        ],
    },
]
DEFAULT_DEFAULT_SCOPES = ["govops-groups", "govops-civil-servant"]


def x509_config(crl_url: str | None) -> dict[str, str]:
    """X.509 authenticator settings: SERIALNUMBER → civil_servant_id, our policy, clientAuth,
    dates, and revocation through the gateway's CRL (Keycloak refuses if it is out of date)."""
    return {
        "x509-cert-auth.mapping-source-selection": "Match SubjectDN using regular expression",
        "x509-cert-auth.regular-expression": "SERIALNUMBER=([0-9A-Za-z]+)",
        "x509-cert-auth.canonical-dn-enabled": "false",
        "x509-cert-auth.serialnumber-hex-enabled": "false",
        "x509-cert-auth.mapper-selection": "Custom Attribute Mapper",
        "x509-cert-auth.mapper-selection.user-attribute-name": ID_ATTRIBUTE,
        "x509-cert-auth.crl-checking-enabled": "true" if crl_url else "false",
        "x509-cert-auth.crldp-checking-enabled": "false",
        "x509-cert-auth.crl-relative-path": crl_url or "",
        "x509-cert-auth-crl-abort-if-non-updated": "true",
        "x509-cert-auth.ocsp-checking-enabled": "false",
        "x509-cert-auth.ocsp-fail-open": "false",
        "x509-cert-auth.keyusage": "digitalSignature",
        "x509-cert-auth.extendedkeyusage": "1.3.6.1.5.5.7.3.2",
        "x509-cert-auth.certificate-policy": CIVIL_SERVANT_POLICY,
        "x509-cert-auth.certificate-policy-mode": "All",
        "x509-cert-auth.timestamp-validation-enabled": "true",
        "x509-cert-auth.revalidate-certificate-enabled": "false",
        "x509-cert-auth.confirmation-page-disallowed": "true",
    }


# -- the model -------------------------------------------------------------------------------


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
    api_scopes = ["govops-api"]
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


def load_overlay(path: Path) -> dict[str, Any]:
    """A YAML file naming the district, sections, platforms and break-glass accounts:

    district: {code: "310116", name: 上海市金山区}
    departments: [{code: gaj, name: 金山公安分局, sections: [{code: zhian, name: 治安支队}]}]
    platforms: {zongzhi: 综治视联网平台, gongan: 公安视频图像信息平台}
    break_glass: [{username: breakglass-ops, name: 应急运维账号, roles: [ops-engineer]}]
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationFailed(
            f"cannot read realm file {path}: {exc}", hint="give a YAML file (see `govops identity diff --help`)"
        ) from None
    if not isinstance(data, dict):
        raise ValidationFailed(f"realm file {path} is not a mapping")
    return data


# -- comparing -------------------------------------------------------------------------------


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


# -- planning --------------------------------------------------------------------------------


class RealmPlanner:
    def __init__(self, kc: KeycloakAdapter, spec: RealmSpec) -> None:
        self.kc = kc
        self.spec = spec

    def plan(self) -> list[Change]:
        realm = self.kc.get_realm()
        changes: list[Change] = []
        changes += self._realm(realm)
        exists = realm is not None
        changes += self._roles(exists)
        changes += self._groups(exists)
        changes += self._profile(exists)
        changes += self._scopes(exists)
        changes += self._clients(exists)
        changes += self._flows(exists)
        changes += self._bindings(realm)
        changes += self._break_glass(exists)
        return changes

    # realm settings
    def _realm(self, realm: dict[str, Any] | None) -> list[Change]:
        desired = {**self.spec.settings, "displayName": self.spec.display_name}
        if realm is None:
            return [Change("create", "realm", self.spec.realm, op=lambda: self.kc.create_realm(desired))]
        diff = differences(desired, realm)
        if not diff:
            return []
        return [Change("update", "realm", self.spec.realm, diff, op=lambda: self.kc.update_realm(desired))]

    def _roles(self, exists: bool) -> list[Change]:
        actual = {r["name"]: r for r in self.kc.realm_roles()} if exists else {}
        out = []
        for name, description in self.spec.roles.items():
            rep = {"name": name, "description": description}
            if name not in actual:
                out.append(Change("create", "role", name, op=partial(self.kc.create_realm_role, rep)))
            elif diff := differences(rep, actual[name], ["description"]):
                out.append(Change("update", "role", name, diff, op=partial(self.kc.update_realm_role, name, rep)))
        return out

    def _groups(self, exists: bool) -> list[Change]:
        index: dict[str, dict[str, Any]] = {}

        def walk(groups: list[dict[str, Any]], prefix: str) -> None:
            for g in groups:
                index[f"{prefix}/{g['name']}"] = g
                walk(g.get("subGroups") or [], f"{prefix}/{g['name']}")

        if exists:
            walk(self.kc.group_tree(), "")
        out: list[Change] = []

        def visit(spec: GroupSpec, parent_path: str) -> None:
            path = f"{parent_path}/{spec.name}"
            rep = {"name": spec.name, "attributes": spec.attributes}
            have = index.get(path)
            if have is None:
                out.append(Change("create", "group", path, op=partial(self._create_group, rep, parent_path)))
            elif diff := differences({"attributes": spec.attributes}, {"attributes": have.get("attributes") or {}}):
                merged = {**(have.get("attributes") or {}), **spec.attributes}
                out.append(
                    Change(
                        "update",
                        "group",
                        path,
                        diff,
                        op=partial(self.kc.update_group, have["id"], {"name": spec.name, "attributes": merged}),
                    )
                )
            for child in spec.children:
                visit(child, path)

        for g in self.spec.groups:
            visit(g, "")
        return out

    def _create_group(self, rep: dict[str, Any], parent_path: str) -> None:
        parent_id = self.group_id(parent_path) if parent_path else None
        self.kc.create_group(rep, parent_id)

    def group_id(self, path: str) -> str:
        found = self.kc.call("GET", f"group-by-path/{path.lstrip('/')}")
        return str(found["id"])

    def _profile(self, exists: bool) -> list[Change]:
        actual = self.kc.user_profile() if exists else {"attributes": []}
        by_name = {a["name"]: a for a in actual.get("attributes", [])}
        diff: dict[str, list[Any]] = {}
        for want in self.spec.profile_attributes:
            have = by_name.get(want["name"])
            if have is None or differences(want, have, PROFILE_KEYS):
                diff[want["name"]] = [have, want]
        if not diff:
            return []

        def op() -> None:
            current = self.kc.user_profile()
            attrs = list(current.get("attributes", []))
            for want in self.spec.profile_attributes:
                replaced = {k: v for k, v in want.items()}
                for i, a in enumerate(attrs):
                    if a["name"] == want["name"]:
                        keep = {k: v for k, v in a.items() if k not in PROFILE_KEYS}
                        attrs[i] = {**keep, **replaced}
                        break
                else:
                    attrs.append(replaced)
            self.kc.update_user_profile({**current, "attributes": attrs, "unmanagedAttributePolicy": "ADMIN_EDIT"})

        return [Change("create" if not exists else "update", "user-profile", ",".join(diff), diff, op=op)]

    def scope_ids(self) -> dict[str, str]:
        return {s["name"]: s["id"] for s in self.kc.client_scopes()}

    def _scopes(self, exists: bool) -> list[Change]:
        actual = {s["name"]: s for s in self.kc.client_scopes()} if exists else {}
        out: list[Change] = []
        for want in self.spec.client_scopes:
            have = actual.get(want["name"])
            if have is None:
                out.append(
                    Change("create", "client-scope", want["name"], op=partial(self.kc.create_client_scope, want))
                )
                continue
            bare = {k: v for k, v in want.items() if k != "protocolMappers"}
            if diff := differences(bare, have, ["description", "protocol", "attributes"]):
                out.append(
                    Change(
                        "update",
                        "client-scope",
                        want["name"],
                        diff,
                        op=partial(self.kc.update_client_scope, have["id"], {**have, **bare}),
                    )
                )
            mappers = {m["name"]: m for m in have.get("protocolMappers") or []}
            for m in want["protocolMappers"]:
                hm = mappers.get(m["name"])
                if hm is None:
                    out.append(
                        Change(
                            "create",
                            "mapper",
                            f"{want['name']}/{m['name']}",
                            op=partial(self.kc.add_scope_mapper, have["id"], m),
                        )
                    )
                elif diff := differences(m, hm, ["protocolMapper", "config"]):
                    out.append(
                        Change(
                            "update",
                            "mapper",
                            f"{want['name']}/{m['name']}",
                            diff,
                            op=partial(self.kc.update_scope_mapper, have["id"], hm["id"], m),
                        )
                    )
        defaults = {s["name"] for s in self.kc.default_default_scopes()} if exists else set()
        for name in self.spec.default_default_scopes:
            if name not in defaults:
                out.append(Change("create", "default-scope", name, op=partial(self._add_default_scope, name)))
        return out

    def _clients(self, exists: bool) -> list[Change]:
        out: list[Change] = []
        for want in self.spec.clients:
            have = self.kc.find_client(want["clientId"]) if exists else None
            bare = {k: v for k, v in want.items() if k != "defaultClientScopes"}
            if have is None:
                out.append(Change("create", "client", want["clientId"], op=partial(self._create_client, want)))
                continue
            keys = [k for k in bare if k not in ("clientId", "attributes")]
            diff = differences(bare, have, keys)
            attr_diff = differences(bare.get("attributes", {}), have.get("attributes") or {})
            if attr_diff:
                diff["attributes"] = [{k: v[0] for k, v in attr_diff.items()}, {k: v[1] for k, v in attr_diff.items()}]
            if diff:
                rep = {**have, **bare, "attributes": {**(have.get("attributes") or {}), **bare.get("attributes", {})}}
                out.append(
                    Change(
                        "update", "client", want["clientId"], diff, op=partial(self.kc.update_client, have["id"], rep)
                    )
                )
            scopes = {s["name"] for s in self.kc.client_default_scopes(have["id"])}
            for name in want.get("defaultClientScopes", []):
                if name not in scopes:
                    out.append(
                        Change(
                            "create",
                            "client-scope-link",
                            f"{want['clientId']}/{name}",
                            op=partial(self._link_scope, have["id"], name),
                        )
                    )
        return out

    def _add_default_scope(self, name: str) -> None:
        self.kc.add_default_default_scope(self.scope_ids()[name])

    def _link_scope(self, client_uuid: str, name: str) -> None:
        self.kc.add_client_default_scope(client_uuid, self.scope_ids()[name])

    def _grant_roles(self, user_id: str, roles: list[str]) -> None:
        self.kc.add_user_realm_roles(user_id, [self.kc.call("GET", f"roles/{r}") for r in roles])

    def _create_client(self, want: dict[str, Any]) -> None:
        uuid = self.kc.create_client({k: v for k, v in want.items() if k != "defaultClientScopes"})
        ids = self.scope_ids()
        for name in want.get("defaultClientScopes", []):
            self.kc.add_client_default_scope(uuid, ids[name])

    # flows
    @staticmethod
    def _flatten(steps: list[Step], level: int = 0) -> list[tuple[int, str, str, str]]:
        out: list[tuple[int, str, str, str]] = []
        for s in steps:
            kind = "flow" if s.steps is not None else "exec"
            out.append((level, kind, s.provider, s.requirement))
            if s.steps is not None:
                out += RealmPlanner._flatten(s.steps, level + 1)
        return out

    @staticmethod
    def _configs(steps: list[Step]) -> list[dict[str, str] | None]:
        out: list[dict[str, str] | None] = []
        for s in steps:
            out.append(s.config)
            if s.steps is not None:
                out += RealmPlanner._configs(s.steps)
        return out

    def _flows(self, exists: bool) -> list[Change]:
        actual = {f["alias"]: f for f in self.kc.flows()} if exists else {}
        out: list[Change] = []
        for flow in self.spec.flows:
            if flow.alias not in actual:
                out.append(Change("create", "flow", flow.alias, op=partial(self._build_flow, flow)))
                continue
            execs = self.kc.executions(flow.alias)
            have = [
                (
                    int(e.get("level", 0)),
                    "flow" if e.get("authenticationFlow") else "exec",
                    e.get("displayName") if e.get("authenticationFlow") else e.get("providerId"),
                    e.get("requirement"),
                )
                for e in execs
            ]
            want = self._flatten(flow.steps)
            if have != want:
                out.append(
                    Change(
                        "rebuild",
                        "flow",
                        flow.alias,
                        {"executions": [have, want]},
                        op=partial(self._rebuild_flow, flow, actual[flow.alias]["id"]),
                    )
                )
                continue
            for e, cfg in zip(execs, self._configs(flow.steps), strict=True):
                if cfg is None:
                    continue
                cid = e.get("authenticationConfig")
                current = self.kc.authenticator_config(cid)["config"] if cid else {}
                if diff := differences(cfg, current):
                    name = f"{flow.alias}/{e.get('providerId')}"
                    alias = f"{flow.alias}-config"
                    op: Callable[[], None] = (
                        partial(self.kc.update_authenticator_config, cid, {"id": cid, "alias": alias, "config": cfg})
                        if cid
                        else partial(self.kc.create_execution_config, e["id"], alias, cfg)
                    )
                    out.append(Change("update", "flow-config", name, diff, op=op))
        return out

    def _build_flow(self, flow: FlowSpec) -> None:
        self.kc.create_flow(flow.alias, flow.description)
        self._add_steps(flow.alias, flow.alias, flow.steps)

    def _add_steps(self, top: str, alias: str, steps: list[Step]) -> None:
        for s in steps:
            if s.steps is not None:
                self.kc.add_subflow(alias, s.provider, s.description)
            else:
                self.kc.add_execution(alias, s.provider)
            created = self.kc.executions(alias)
            mine = [e for e in created if int(e.get("level", 0)) == 0][-1]
            self.kc.update_execution(alias, {**mine, "requirement": s.requirement})
            if s.config is not None:
                self.kc.create_execution_config(mine["id"], f"{top}-config", s.config)
            if s.steps is not None:
                self._add_steps(top, s.provider, s.steps)

    def _rebuild_flow(self, flow: FlowSpec, flow_id: str) -> None:
        # A bound flow cannot be deleted: park the binding on the built-in, rebuild, restore.
        realm = self.kc.get_realm() or {}
        parked = {k: v for k, v in realm.items() if k in ("browserFlow", "directGrantFlow") and v == flow.alias}
        builtin = {"browserFlow": "browser", "directGrantFlow": "direct grant"}
        if parked:
            self.kc.update_realm({k: builtin[k] for k in parked})
        self.kc.delete_flow(flow_id)
        self._build_flow(flow)
        if parked:
            self.kc.update_realm(parked)

    def _bindings(self, realm: dict[str, Any] | None) -> list[Change]:
        diff = differences(self.spec.bindings, realm or {})
        if not diff:
            return []
        return [
            Change(
                "update",
                "flow-binding",
                ",".join(diff),
                diff,
                op=lambda: self.kc.update_realm(dict(self.spec.bindings)),
            )
        ]

    def _break_glass(self, exists: bool) -> list[Change]:
        out: list[Change] = []
        for acct in self.spec.break_glass:
            have = self.kc.find_user(acct.username) if exists else None
            if have is None:
                out.append(
                    Change("create", "break-glass-account", acct.username, op=partial(self._create_break_glass, acct))
                )
                continue
            roles = {r["name"] for r in self.kc.user_realm_roles(have["id"])}
            missing = sorted(set(acct.roles) - roles)
            if missing:
                out.append(
                    Change(
                        "update",
                        "break-glass-account",
                        acct.username,
                        {"roles": [sorted(roles), acct.roles]},
                        op=partial(self._grant_roles, have["id"], missing),
                    )
                )
        return out

    def _create_break_glass(self, acct: BreakGlassAccount) -> str:
        uid = self.kc.create_user(
            {
                "username": acct.username,
                "enabled": True,
                "firstName": acct.name,
                "requiredActions": ["CONFIGURE_TOTP"],
                "attributes": {SOURCE_ATTRIBUTE: ["break-glass"]},
            }
        )
        password = _temporary_password()
        self.kc.set_password(uid, password, temporary=True)
        if acct.roles:
            self.kc.add_user_realm_roles(uid, [self.kc.call("GET", f"roles/{r}") for r in acct.roles])
        return (
            f"break-glass account {acct.username}: temporary password {password} "
            "(shown once; change it and enrol OTP at first login, then seal it away)"
        )


def _temporary_password() -> str:
    # Meets the realm's password policy: upper, lower, digit, special, length ≥ 12.
    core = secrets.token_urlsafe(15)
    return f"Bg{core}7#"


def plan(kc: KeycloakAdapter, spec: RealmSpec) -> list[Change]:
    return RealmPlanner(kc, spec).plan()


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


# -- where the spec comes from ---------------------------------------------------------------

SHARE_PLATFORMS = {"zongzhi": "综治视联网平台", "gongan": "公安视频图像信息平台"}  # the "2" of 1+2+X


def spec_from_settings(settings: Any, session: Any, overlay: Mapping[str, Any] | None = None) -> RealmSpec:
    """The realm the platform needs: departments from the kernel's department table, sections,
    platforms and break-glass accounts from an optional YAML overlay (see `load_overlay`)."""
    from sqlalchemy import select

    from govops.org import Department

    overlay = overlay or {}
    sections: dict[str, tuple[tuple[str, str], ...]] = {}
    extra: dict[str, str] = {}
    for d in overlay.get("departments") or []:
        sections[str(d["code"])] = tuple(
            (str(s["code"]), str(s.get("name", s["code"]))) for s in d.get("sections") or []
        )
        extra[str(d["code"])] = str(d.get("name", d["code"]))
    departments = [
        DepartmentSource(d.code, d.name, d.sso_group, sections.get(d.code, ()))
        for d in session.scalars(select(Department).order_by(Department.code))
    ]
    missing = sorted(set(extra) - {d.code for d in departments})
    if missing:
        raise ValidationFailed(
            f"the realm file names unknown department(s): {', '.join(missing)}",
            hint="add them with a directory import first",
        )
    district = overlay.get("district") or {}
    public = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    from identity.ca import CRL_PATH

    break_glass = None
    if "break_glass" in overlay:
        break_glass = [
            BreakGlassAccount(
                str(b["username"]), str(b.get("name", b["username"])), [str(r) for r in b.get("roles", [])]
            )
            for b in overlay.get("break_glass") or []
        ]
    return build_spec(
        realm=settings.keycloak_realm,
        departments=departments,
        # Keycloak fetches the CRL from the gateway: revocation is always checked.
        crl_url=f"{public}{CRL_PATH}",
        gateway_redirect_uris=[f"{public}/login/callback"],
        district_name=district.get("name"),
        platforms=overlay.get("platforms", SHARE_PLATFORMS),
        break_glass=break_glass,
    )
