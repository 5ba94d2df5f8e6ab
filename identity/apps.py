"""Department app onboarding (部门应用接入统一身份认证): request → approve/reject → OIDC client.

- A department admin requests a client for an app of *their own* department: a name, the home
  URL, redirect URIs and the roles the app defines. Redirect URIs must be https (plain http
  only for localhost/loopback), have no fragment, and may end in a `/*` path wildcard only on the
  app's own host (the home URL's host); host wildcards are never allowed.
- An ops engineer approves or rejects (with a note). Approval creates a confidential client
  (code flow, PKCE S256 required, no direct grants, no implicit), its client roles, and maps the
  department's group to the department roles, so that department's people get the app's base
  role. Approval is idempotent: a retry after a half-finished attempt adopts the client.
- The app's access tokens carry its own audience (its client ID), not the gateway's: a token a
  department app's backend holds works at that app and is refused by the platform.
- The client secret is sealed (SecretBox) and waits for the department to collect it, exactly
  once; an ops engineer who approves or rotates never sees it (separation of duties). Only an
  ops engineer rotates (a dept-admin who needs a new secret, e.g. after a leak, asks one: the
  one who holds a secret never also makes the next one). Rotation makes a new secret in Keycloak
  and waits for collection again.
- Every request, decision, rotation and collection is in the audit log.

Visibility: a dept-admin sees and acts on their own department's apps only (another
department's app answers 404, as if it did not exist); ops engineers see all.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from govops.org import Department
from govops.principal import DEPT_ADMIN, OPS_ENGINEER, Principal
from govops.secretbox import SecretBox
from identity.keycloak_adapter import KeycloakAdapter
from identity.models import DepartmentApp

CLIENT_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{2,62}$")
ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,49}$")
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
MAX_REDIRECTS = 10
APP_ATTRIBUTE = "govops.app"  # on the Keycloak client: which request it came from


@dataclass
class AppRequest:
    name: str
    department: str
    home_url: str
    redirect_uris: list[str]
    roles: list[dict[str, str]] = field(default_factory=list)  # [{"name", "description"}]
    department_roles: list[str] | None = None  # default: the first role (the app's base role)
    client_id: str | None = None  # default: <department>-<slug of the name>
    description: str = ""


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_home_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationFailed(f"home URL {url!r} is not an http(s) URL", hint="e.g. https://app.gaj.jinshan.gov.cn/")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValidationFailed(f"home URL {url!r} must use https", hint="plain http is allowed only for localhost")
    if "*" in url:
        raise ValidationFailed("the home URL cannot contain a wildcard")
    return url.strip()


def validate_redirect_uris(uris: list[str], home_url: str) -> list[str]:
    """https only (http for loopback), no fragment, no userinfo, and a wildcard only as a
    trailing `/*` path on the app's own host."""
    if not uris:
        raise ValidationFailed("give at least one redirect URI")
    if len(uris) > MAX_REDIRECTS:
        raise ValidationFailed(f"at most {MAX_REDIRECTS} redirect URIs")
    own_host = _host(home_url)
    out: list[str] = []
    for raw in uris:
        uri = raw.strip()
        if len(uri) > 500 or any(c.isspace() for c in uri):
            raise ValidationFailed(f"redirect URI {raw!r} is too long or contains spaces")
        parts = urlsplit(uri)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http") or not host:
            raise ValidationFailed(
                f"redirect URI {uri!r} must be an https URL", hint="custom schemes and relative URIs are not accepted"
            )
        if parts.scheme == "http" and not _is_loopback(host):
            raise ValidationFailed(
                f"redirect URI {uri!r} must use https", hint="plain http is allowed only for localhost"
            )
        if parts.fragment or "#" in uri:
            raise ValidationFailed(f"redirect URI {uri!r} must not have a fragment")
        if parts.username or parts.password or "@" in parts.netloc:
            raise ValidationFailed(f"redirect URI {uri!r} must not carry credentials")
        if "*" in uri:
            wildcard_ok = (
                uri.endswith("/*")
                and uri.count("*") == 1
                and "*" not in parts.netloc
                and not parts.query
                and host == own_host
            )
            if not wildcard_ok:
                raise ValidationFailed(
                    f"redirect URI {uri!r} uses a wildcard outside the app's own host",
                    hint=f"a wildcard may only end a path on {own_host}, e.g. https://{own_host}/*",
                )
        out.append(uri)
    return sorted(set(out), key=out.index)


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:40]


def _visible(principal: Principal, app: DepartmentApp) -> bool:
    if principal.has(OPS_ENGINEER):
        return True
    return principal.has(DEPT_ADMIN) and principal.department == app.department_code


def get_app(session: Session, principal: Principal, app_id: int) -> DepartmentApp:
    app = session.get(DepartmentApp, app_id)
    if app is None or not _visible(principal, app):
        raise NotFound(f"no app {app_id}", hint="see `govops apps list`")
    return app


def list_apps(
    session: Session, principal: Principal, *, status: str | None = None, department: str | None = None
) -> list[DepartmentApp]:
    stmt = select(DepartmentApp).order_by(DepartmentApp.id)
    if not principal.has(OPS_ENGINEER):
        if not (principal.has(DEPT_ADMIN) and principal.department):
            return []
        stmt = stmt.where(DepartmentApp.department_code == principal.department)
    if department:
        stmt = stmt.where(DepartmentApp.department_code == department)
    if status:
        stmt = stmt.where(DepartmentApp.status == status)
    return list(session.scalars(stmt))


def request_app(session: Session, principal: Principal, req: AppRequest) -> DepartmentApp:
    if not principal.has(OPS_ENGINEER) and not (principal.has(DEPT_ADMIN) and principal.department == req.department):
        raise PermissionDenied(
            "a department admin may request apps for their own department only",
            hint=f"your department is {principal.department or 'not set'}",
        )
    dept = session.get(Department, req.department)
    if dept is None:
        raise ValidationFailed(f"unknown department {req.department!r}")
    name = req.name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed("the app name must be 1-100 characters")
    home = validate_home_url(req.home_url)
    uris = validate_redirect_uris(req.redirect_uris, home)
    roles: list[dict[str, str]] = []
    for r in req.roles:
        rname = str(r.get("name", "")).strip()
        if not ROLE_PATTERN.match(rname):
            raise ValidationFailed(f"role name {rname!r} must be lower-case letters, digits, _ . -")
        if any(x["name"] == rname for x in roles):
            raise ValidationFailed(f"role {rname!r} is listed twice")
        roles.append({"name": rname, "description": str(r.get("description", ""))[:200]})
    names = [r["name"] for r in roles]
    dept_roles = req.department_roles if req.department_roles is not None else names[:1]
    unknown = [r for r in dept_roles if r not in names]
    if unknown:
        raise ValidationFailed(f"department role(s) {', '.join(unknown)} are not among the app's roles")
    client_id = (req.client_id or f"{dept.code}-{_slug(name) or 'app'}").strip().lower()
    if not client_id.startswith(f"{dept.code}-"):
        client_id = f"{dept.code}-{client_id}"
    if not CLIENT_ID_PATTERN.match(client_id):
        raise ValidationFailed(
            f"client ID {client_id!r} must be 3-63 lower-case letters, digits or -",
            hint="pass client_id explicitly, e.g. gaj-case-portal",
        )
    if session.scalar(select(DepartmentApp.id).where(DepartmentApp.client_id == client_id)):
        raise Conflict(f"client ID {client_id} is taken", hint="choose another client_id")
    app = DepartmentApp(
        client_id=client_id,
        name=name,
        department_code=dept.code,
        description=req.description.strip()[:1000],
        home_url=home,
        redirect_uris=uris,
        roles=roles,
        department_roles=list(dept_roles),
        status="requested",
        requested_by=principal.subject,
        requested_at=datetime.now(UTC),
        secret_pending=False,
        secret_version=0,
    )
    session.add(app)
    session.flush()
    audit.append(
        session,
        actor=principal.subject,
        action="apps.request",
        target=client_id,
        detail={"app": app.id, "department": dept.code, "redirect_uris": uris, "roles": names},
    )
    return app


def _pending(app: DepartmentApp) -> None:
    if app.status != "requested":
        raise Conflict(
            f"app {app.id} was already {app.status}", hint="a decision is final; file a new request to change it"
        )


def reject_app(session: Session, principal: Principal, app_id: int, note: str) -> DepartmentApp:
    app = get_app(session, principal, app_id)
    _pending(app)
    note = note.strip()
    if not note:
        raise ValidationFailed("say why the request is rejected", hint="pass a reason")
    app.status, app.decided_by, app.decided_at = "rejected", principal.subject, datetime.now(UTC)
    app.decision_note = note[:1000]
    audit.append(
        session,
        actor=principal.subject,
        action="apps.reject",
        target=app.client_id,
        detail={"app": app.id, "note": app.decision_note},
    )
    return app


def client_representation(app: DepartmentApp) -> dict[str, Any]:
    return {
        "clientId": app.client_id,
        "name": app.name,
        "description": app.description,
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "standardFlowEnabled": True,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": False,
        "frontchannelLogout": True,
        "rootUrl": "",
        "baseUrl": app.home_url,
        "redirectUris": list(app.redirect_uris),
        "webOrigins": ["+"],
        "attributes": {
            "pkce.code.challenge.method": "S256",
            "post.logout.redirect.uris": "+",
            APP_ATTRIBUTE: str(app.id),
            "govops.department": app.department_code,
        },
    }


def approve_app(
    session: Session, principal: Principal, app_id: int, kc: KeycloakAdapter, box: SecretBox, note: str = ""
) -> DepartmentApp:
    app = get_app(session, principal, app_id)
    _pending(app)
    dept = session.get(Department, app.department_code)
    assert dept is not None
    rep = client_representation(app)
    existing = kc.find_client(app.client_id)
    if existing is not None:
        if (existing.get("attributes") or {}).get(APP_ATTRIBUTE) != str(app.id):
            raise Conflict(
                f"Keycloak already has a client {app.client_id} that is not this app",
                hint="reject this request and ask for another client_id",
            )
        uuid = existing["id"]
        kc.update_client(uuid, {**existing, **rep})
    else:
        uuid = kc.create_client(rep)
    # The app's tokens are for the app (aud = its client ID), never for the platform: it does not
    # get the gateway's audience scope, and the gateway refuses any azp but its own clients.
    if not any(m.get("protocolMapper") == "oidc-audience-mapper" for m in kc.client_mappers(uuid)):
        kc.add_audience_mapper(uuid, app.client_id)
    have_roles = {r["name"] for r in kc.client_roles(uuid)}
    for r in app.roles:
        if r["name"] not in have_roles:
            kc.create_client_role(uuid, {"name": r["name"], "description": r["description"]})
    if app.department_roles:
        group = kc.group_by_path(dept.sso_group)
        if group is None:
            raise NotFound(
                f"the department group {dept.sso_group} is not in Keycloak",
                hint="run `govops identity apply` (or a directory import) first",
            )
        mapped = {r["name"] for r in kc.group_client_roles(group["id"], uuid)}
        wanted = [r for r in kc.client_roles(uuid) if r["name"] in app.department_roles and r["name"] not in mapped]
        if wanted:
            kc.assign_group_client_roles(group["id"], uuid, wanted)
    secret = kc.client_secret(uuid)
    app.status, app.decided_by, app.decided_at = "approved", principal.subject, datetime.now(UTC)
    app.decision_note = note.strip()[:1000] or None
    app.keycloak_id = uuid
    _seal(app, box, secret)
    audit.append(
        session,
        actor=principal.subject,
        action="apps.approve",
        target=app.client_id,
        detail={
            "app": app.id,
            "department": app.department_code,
            "department_roles": list(app.department_roles),
            "secret_version": app.secret_version,
        },
    )
    return app


def _seal(app: DepartmentApp, box: SecretBox, secret: str) -> None:
    app.secret_enc = box.encrypt(secret)
    app.secret_pending = True
    app.secret_version += 1
    app.secret_issued_at = datetime.now(UTC)


def _owner(principal: Principal, app: DepartmentApp) -> None:
    if not (principal.has(DEPT_ADMIN) and principal.department == app.department_code):
        raise PermissionDenied(
            "only an admin of the app's department may collect its secret",
            hint="ops engineers approve and rotate, but never see a department's secret",
        )


def collect_secret(
    session: Session, principal: Principal, app_id: int, box: SecretBox, *, local_operator: bool = False
) -> dict[str, Any]:
    """The secret, exactly once per version. `local_operator` is the CLI on the gateway host.

    The pickup is one conditional UPDATE issued before anything is read, so two concurrent
    pickups cannot both win (and SQLite never upgrades a stale read snapshot)."""
    stmt = (
        update(DepartmentApp)
        .where(
            DepartmentApp.id == app_id,
            DepartmentApp.status == "approved",
            DepartmentApp.secret_pending.is_(True),
            DepartmentApp.secret_enc.is_not(None),
        )
        .values(secret_pending=False)
        .returning(DepartmentApp.secret_enc, DepartmentApp.secret_version, DepartmentApp.client_id)
    )
    if not local_operator:
        if not (principal.has(DEPT_ADMIN) and principal.department):
            _owner(principal, get_app(session, principal, app_id))  # 404, else 403
        stmt = stmt.where(DepartmentApp.department_code == principal.department)
    won = session.execute(stmt).first()
    if won is None:
        app = get_app(session, principal, app_id)
        if not local_operator:
            _owner(principal, app)
        if app.status != "approved":
            raise Conflict(f"app {app.id} is {app.status}; there is no secret")
        raise Conflict(
            f"the secret of {app.client_id} was already collected",
            hint="rotate it to get a new one (`govops apps rotate-secret`)",
        )
    secret_enc, version, client_id = won
    audit.append(
        session,
        actor=principal.subject,
        action="apps.collect_secret",
        target=client_id,
        detail={"app": app_id, "secret_version": version},
    )
    return {
        "client_id": client_id,
        "client_secret": box.decrypt(str(secret_enc)),
        "secret_version": version,
        "note": "shown once: store it in the app's secret store now",
    }


def rotate_secret(
    session: Session, principal: Principal, app_id: int, kc: KeycloakAdapter, box: SecretBox
) -> DepartmentApp:
    if not principal.has(OPS_ENGINEER):
        raise PermissionDenied(
            "only an ops engineer rotates an app's secret",
            hint="ask the platform's ops engineers to rotate it; then collect the new secret once",
        )
    app = get_app(session, principal, app_id)
    if app.status != "approved" or not app.keycloak_id:
        raise Conflict(f"app {app.id} is {app.status}; only an approved app has a secret")
    secret = kc.regenerate_client_secret(app.keycloak_id)
    _seal(app, box, secret)
    audit.append(
        session,
        actor=principal.subject,
        action="apps.rotate_secret",
        target=app.client_id,
        detail={"app": app.id, "secret_version": app.secret_version},
    )
    return app
