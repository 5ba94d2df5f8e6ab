"""What the civil-servants realm declares: the names the gateway relies on (attributes, client
IDs, flows), the realm settings of 等保 2.0, the user profile, the client scopes and the X.509
authenticator's settings. Pure data; `spec.build_spec` assembles it into a RealmSpec."""

from __future__ import annotations

from typing import Any

from govops.principal import AUDITOR, CONTRACTOR, DEPT_ADMIN, OPS_ENGINEER, SEC_ADMIN, SECURITY_STAFF
from identity.pki import CIVIL_SERVANT_POLICY

ID_ATTRIBUTE = "civil_servant_id"
SOURCE_ATTRIBUTE = "govops_source"  # "directory" on users the directory import manages
GATEWAY_CLIENT = "govops-gateway"
CLI_CLIENT = "govops-cli"
# The e-government cloud's apiserver trusts tokens issued to this client (its audience); kubectl
# gets them through `govops cloud credential` (X.509 direct grant or the device flow).
KUBERNETES_CLIENT = "kubernetes"
KUBERNETES_AUDIENCE_SCOPE = "kubernetes-audience"
PLATFORM_ROOT = "platforms"
# A maintenance contractor's (运维单位) code, e.g. "c1": a user attribute only realm admins may
# set, carried into platform tokens as the `contractor` claim (scope govops-contractor). The
# gateway takes it only from a verified token of a user holding the contractor role; without it
# a contractor sees no work orders.
CONTRACTOR_ATTRIBUTE = "contractor"
CONTRACTOR_CODE_PATTERN = "^[a-z0-9][a-z0-9_-]{1,49}$"  # monitoring.workorders.contractors.CODE
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
        "name": CONTRACTOR_ATTRIBUTE,
        "displayName": "运维单位代码 (maintenance contractor code)",
        "validations": {
            "pattern": {
                "pattern": CONTRACTOR_CODE_PATTERN,
                "error-message": "lower-case letters, digits, - and _ (the contractor's code in govops)",
            }
        },
        # the user may see it, never change it: it decides which work orders they see
        "permissions": {"view": ["admin", "user"], "edit": ["admin"]},
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
        "name": "govops-contractor",
        "description": "the maintenance contractor's code (运维单位), for the contractor role",
        "protocol": "openid-connect",
        "attributes": {"include.in.token.scope": "false", "display.on.consent.screen": "false"},
        "protocolMappers": [
            {
                "name": CONTRACTOR_ATTRIBUTE,
                "protocol": "openid-connect",
                "protocolMapper": "oidc-usermodel-attribute-mapper",
                "config": {
                    "user.attribute": CONTRACTOR_ATTRIBUTE,
                    "claim.name": CONTRACTOR_ATTRIBUTE,
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
    {
        # Only the kubernetes client links this scope, so only its tokens name the apiserver as
        # their audience: a console or CLI token is refused by the cluster, and the other way round.
        "name": KUBERNETES_AUDIENCE_SCOPE,
        "description": "lets the token call the e-government cloud's Kubernetes apiserver",
        "protocol": "openid-connect",
        "attributes": {"include.in.token.scope": "false", "display.on.consent.screen": "false"},
        "protocolMappers": [
            {
                "name": "kubernetes audience",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-audience-mapper",
                "config": {
                    "included.custom.audience": KUBERNETES_CLIENT,
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
    dates, and revocation through the gateway's CRL (Keycloak refuses if it is out of date).

    Key sizes and signature hashes cannot be said here: Keycloak's JVM enforces them in the TLS
    handshake, from identity.pki.policy.jdk_disabled_algorithms() given as
    `jdk.certpath.disabledAlgorithms` in a `-Djava.security.properties=` file."""
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
