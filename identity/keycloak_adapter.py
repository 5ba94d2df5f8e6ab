"""The one module that talks to Keycloak.

Admin calls go through python-keycloak's connection (it owns the admin token and its refresh);
the OIDC endpoints (JWKS, token) are plain HTTPS calls with httpx. Every failure leaves this
module as a GovopsError with a hint: Keycloak down → ServiceUnavailable, wrong admin
credentials → ConfigError, a TLS refusal → Unauthenticated naming the TLS layer, and so on.
Nothing above this module imports `keycloak` or knows an admin URL.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from keycloak import KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakAuthenticationError, KeycloakConnectionError, KeycloakError

from govops.errors import (
    ConfigError,
    Conflict,
    GovopsError,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from govops.logs import log
from govops.settings import Settings

logger = logging.getLogger("govops.identity.keycloak")
PAGE = 500


@dataclass(frozen=True)
class OidcEndpoints:
    """The realm's OpenID Connect endpoints, derived from its public base URL (no discovery
    round trip: the issuer is fixed by configuration and must match the tokens exactly)."""

    base_url: str
    realm: str

    @property
    def issuer(self) -> str:
        return f"{self.base_url.rstrip('/')}/realms/{self.realm}"

    @property
    def authorize(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/auth"

    @property
    def token(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def jwks(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def logout(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/logout"


def tls_context(ca_file: Path | str | None = None, cert: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    """A client TLS context: verify Keycloak against `ca_file` (or the system store) and, for
    X.509 login, present `cert` = (certificate chain PEM, private key PEM)."""
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert is not None:
        try:
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        except (OSError, ssl.SSLError) as exc:
            raise ValidationFailed(
                f"cannot load the client certificate {cert[0]}: {exc}",
                hint="give a PEM certificate chain and its PEM private key",
            ) from None
    return ctx


def _unreachable(url: str, exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"the identity service (Keycloak) at {url} is not answering "
        f"({exc.__class__.__name__}); 统一身份认证服务暂不可用",
        hint="check that Keycloak is running and GOVOPS_KEYCLOAK_URL is right; try again shortly",
    )


def fetch_jwks(url: str, *, verify: ssl.SSLContext | bool = True, timeout: float = 5.0) -> dict[str, Any]:
    try:
        r = httpx.get(url, verify=verify, timeout=timeout)
    except httpx.HTTPError as exc:
        raise _unreachable(url, exc) from None
    if r.status_code != 200:
        raise ServiceUnavailable(
            f"Keycloak answered {r.status_code} for its signing keys at {url}",
            hint="check GOVOPS_KEYCLOAK_URL and GOVOPS_KEYCLOAK_REALM",
        )
    try:
        body: dict[str, Any] = r.json()
    except ValueError:
        raise ServiceUnavailable(f"Keycloak's signing keys at {url} are not JSON") from None
    return body


def ping(endpoints: OidcEndpoints, *, verify: ssl.SSLContext | bool = True, timeout: float = 3.0) -> None:
    """Raise ServiceUnavailable unless the realm answers (used before sending a browser there)."""
    try:
        r = httpx.get(endpoints.issuer, verify=verify, timeout=timeout)
    except httpx.HTTPError as exc:
        raise _unreachable(endpoints.base_url, exc) from None
    if r.status_code != 200:
        raise ServiceUnavailable(
            f"the identity service has no realm {endpoints.realm!r} (HTTP {r.status_code})",
            hint="apply the realm with `govops identity apply`",
        )


class ClientCertificateRefused(Unauthenticated):
    """The TLS layer refused the client certificate before Keycloak's authenticator saw it."""


def _tls_alert(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError) and "ALERT" in str(seen).upper():
            return True
        text = str(seen).upper()
        if "SSL" in text and "ALERT" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    raw: dict[str, Any]


def token_request(
    endpoints: OidcEndpoints,
    data: dict[str, str],
    *,
    verify: ssl.SSLContext | bool = True,
    timeout: float = 10.0,
    client: httpx.Client | None = None,
) -> TokenResponse:
    """POST to the token endpoint. A refusal is Unauthenticated carrying Keycloak's reason; a TLS
    handshake refusal (the client certificate was not accepted) says so."""
    try:
        if client is not None:
            r = client.post(endpoints.token, data=data, timeout=timeout)
        else:
            r = httpx.post(endpoints.token, data=data, verify=verify, timeout=timeout)
    except httpx.HTTPError as exc:
        if _tls_alert(exc):
            # TLS 1.3: the server checks the client certificate after the handshake and answers
            # with an alert on the first read; Keycloak logs nothing, so we say it here.
            log(logger, "client certificate refused at TLS", logging.WARNING, url=endpoints.token, alert=str(exc)[:120])
            raise ClientCertificateRefused(
                f"Keycloak refused the client certificate during the TLS handshake ({exc})",
                hint="the certificate is expired, not yet valid, from another CA or not for "
                "client authentication; `govops ca check CERT` says which",
            ) from None
        raise _unreachable(endpoints.base_url, exc) from None
    try:
        body = r.json()
    except ValueError:
        body = {"error": f"HTTP {r.status_code}", "error_description": r.text[:200]}
    if r.status_code != 200 or "access_token" not in body:
        reason = body.get("error_description") or body.get("error") or f"HTTP {r.status_code}"
        log(
            logger,
            "token request refused",
            logging.WARNING,
            status=r.status_code,
            error=body.get("error"),
            reason=reason,
            grant=data.get("grant_type"),
        )
        if r.status_code >= 500:
            raise ServiceUnavailable(f"Keycloak failed the token request: {reason}")
        raise Unauthenticated(f"Keycloak refused the login: {reason}", hint="see Keycloak's login events for the user")
    return TokenResponse(body["access_token"], body)


class KeycloakAdapter:
    """Admin operations on one realm, as the master realm's admin (admin-cli, password grant)."""

    def __init__(
        self,
        server_url: str,
        realm: str,
        *,
        admin_user: str,
        admin_password: str,
        verify: str | bool = True,
        timeout: int = 30,
        admin_realm: str = "master",
    ) -> None:
        self.server_url = server_url.rstrip("/") + "/"
        self.realm = realm
        self._admin = (admin_user, admin_password, admin_realm)
        self._verify = verify
        self._timeout = timeout
        self._conn: KeycloakOpenIDConnection | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> KeycloakAdapter:
        url = settings.keycloak_admin_url or settings.keycloak_url
        if not url:
            raise ConfigError(
                "Keycloak is not configured", hint="set GOVOPS_KEYCLOAK_URL (and GOVOPS_KEYCLOAK_ADMIN_USER/PASSWORD)"
            )
        if not settings.keycloak_admin_user or settings.keycloak_admin_password is None:
            raise ConfigError(
                "Keycloak admin credentials are not configured",
                hint="set GOVOPS_KEYCLOAK_ADMIN_USER and GOVOPS_KEYCLOAK_ADMIN_PASSWORD",
            )
        return cls(
            url,
            settings.keycloak_realm,
            admin_user=settings.keycloak_admin_user,
            admin_password=settings.keycloak_admin_password.get_secret_value(),
            verify=str(settings.keycloak_ca_file) if settings.keycloak_ca_file else True,
        )

    # -- plumbing ------------------------------------------------------------------------------

    def _connection(self) -> KeycloakOpenIDConnection:
        if self._conn is None:
            user, password, admin_realm = self._admin
            try:
                conn = KeycloakOpenIDConnection(
                    server_url=self.server_url,
                    username=user,
                    password=password,
                    realm_name=admin_realm,
                    user_realm_name=admin_realm,
                    client_id="admin-cli",
                    verify=self._verify,
                    timeout=self._timeout,
                )
                conn.get_token()
            except KeycloakAuthenticationError:
                raise ConfigError(
                    f"Keycloak at {self.server_url} refused the admin credentials",
                    hint="check GOVOPS_KEYCLOAK_ADMIN_USER/PASSWORD",
                ) from None
            except KeycloakConnectionError as exc:
                raise _unreachable(self.server_url, exc) from None
            except KeycloakError as exc:
                raise ServiceUnavailable(
                    f"cannot sign in to Keycloak's admin API: {exc}", hint="check GOVOPS_KEYCLOAK_ADMIN_URL"
                ) from None
            self._conn = conn
        return self._conn

    def _path(self, path: str) -> str:
        if path.startswith("admin/"):
            return path
        return f"admin/realms/{quote(self.realm)}" + (f"/{path}" if path else "")

    def call(self, method: str, path: str, body: Any = None, *, missing_ok: bool = False, **params: Any) -> Any:
        """One admin REST call. Returns parsed JSON, the new object's id (201), or None."""
        conn = self._connection()
        url = self._path(path)
        try:
            if method == "GET":
                r = conn.raw_get(url, **params)
            elif method == "POST":
                r = conn.raw_post(url, data=json.dumps(body if body is not None else {}), **params)
            elif method == "PUT":
                r = conn.raw_put(url, data=json.dumps(body if body is not None else {}), **params)
            elif method == "DELETE":
                r = conn.raw_delete(url, data=json.dumps(body) if body is not None else None, **params)
            else:
                raise ValueError(method)
        except KeycloakConnectionError as exc:
            raise _unreachable(self.server_url, exc) from None
        if r.status_code == 404 and missing_ok:
            return None
        if r.status_code >= 400:
            try:
                detail = r.json()
                message = detail.get("errorMessage") or detail.get("error_description") or detail.get("error") or r.text
            except ValueError:
                message = r.text[:300]
            what = f"Keycloak {method} {url}"
            if r.status_code == 404:
                raise NotFound(f"{what}: not found ({message})")
            if r.status_code == 409:
                raise Conflict(f"{what}: conflict ({message})")
            if r.status_code in (401, 403):
                raise ConfigError(
                    f"{what}: the admin account may not do this ({message})",
                    hint="give the admin account the realm-admin role",
                )
            if r.status_code >= 500:
                raise ServiceUnavailable(f"{what} failed: {message}")
            raise GovopsError(f"{what} was refused: {message}")
        if r.status_code == 201:
            location = r.headers.get("Location", "")
            return location.rstrip("/").rsplit("/", 1)[-1] if location else None
        if r.status_code == 204 or not r.content:
            return None
        try:
            return r.json()
        except ValueError:
            return r.text

    def _paged(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        first = 0
        while True:
            page = self.call("GET", path, first=first, max=PAGE, **params) or []
            yield from page
            if len(page) < PAGE:
                return
            first += PAGE

    # -- server / realm ------------------------------------------------------------------------

    def server_version(self) -> str:
        info = self.call("GET", "admin/serverinfo") or {}
        return str(info.get("systemInfo", {}).get("version", "unknown"))

    def get_realm(self) -> dict[str, Any] | None:
        return self.call("GET", "", missing_ok=True)

    def create_realm(self, rep: dict[str, Any]) -> None:
        self.call("POST", "admin/realms", {**rep, "realm": self.realm})

    def update_realm(self, rep: dict[str, Any]) -> None:
        self.call("PUT", "", rep)

    def clear_crl_cache(self) -> None:
        self.call("POST", "clear-crl-cache")

    def events(
        self,
        *,
        types: list[str] | None = None,
        client: str | None = None,
        user: str | None = None,
        max_results: int = 100,
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"max": max_results}
        if types:
            params["type"] = types
        if client:
            params["client"] = client
        if user:
            params["user"] = user
        return self.call("GET", "events", **params) or []

    # -- roles ---------------------------------------------------------------------------------

    def realm_roles(self) -> list[dict[str, Any]]:
        return list(self._paged("roles", briefRepresentation="false"))

    def create_realm_role(self, rep: dict[str, Any]) -> None:
        self.call("POST", "roles", rep)

    def update_realm_role(self, name: str, rep: dict[str, Any]) -> None:
        self.call("PUT", f"roles/{quote(name)}", rep)

    def role_members(self, role: str) -> Iterator[dict[str, Any]]:
        return self._paged(f"roles/{quote(role)}/users", briefRepresentation="true")

    # -- groups --------------------------------------------------------------------------------

    def group_tree(self) -> list[dict[str, Any]]:
        """Every group, each with `subGroups` filled in (KC 23+ pages children separately)."""

        def children(group: dict[str, Any]) -> dict[str, Any]:
            if group.get("subGroupCount", 0) or group.get("subGroups"):
                kids = list(self._paged(f"groups/{group['id']}/children", briefRepresentation="false"))
                group["subGroups"] = [children(k) for k in kids]
            else:
                group["subGroups"] = []
            return group

        return [children(g) for g in self._paged("groups", briefRepresentation="false")]

    def create_group(self, rep: dict[str, Any], parent_id: str | None = None) -> str:
        path = f"groups/{parent_id}/children" if parent_id else "groups"
        return str(self.call("POST", path, rep))

    def update_group(self, group_id: str, rep: dict[str, Any]) -> None:
        self.call("PUT", f"groups/{group_id}", rep)

    def group_members(self, group_id: str) -> Iterator[dict[str, Any]]:
        return self._paged(f"groups/{group_id}/members", briefRepresentation="true")

    # -- user profile --------------------------------------------------------------------------

    def user_profile(self) -> dict[str, Any]:
        return self.call("GET", "users/profile") or {}

    def update_user_profile(self, config: dict[str, Any]) -> None:
        self.call("PUT", "users/profile", config)

    # -- client scopes -------------------------------------------------------------------------

    def client_scopes(self) -> list[dict[str, Any]]:
        return self.call("GET", "client-scopes") or []

    def create_client_scope(self, rep: dict[str, Any]) -> str:
        return str(self.call("POST", "client-scopes", rep))

    def update_client_scope(self, scope_id: str, rep: dict[str, Any]) -> None:
        self.call("PUT", f"client-scopes/{scope_id}", rep)

    def add_scope_mapper(self, scope_id: str, mapper: dict[str, Any]) -> None:
        self.call("POST", f"client-scopes/{scope_id}/protocol-mappers/models", mapper)

    def update_scope_mapper(self, scope_id: str, mapper_id: str, mapper: dict[str, Any]) -> None:
        self.call("PUT", f"client-scopes/{scope_id}/protocol-mappers/models/{mapper_id}", {**mapper, "id": mapper_id})

    def default_default_scopes(self) -> list[dict[str, Any]]:
        return self.call("GET", "default-default-client-scopes") or []

    def add_default_default_scope(self, scope_id: str) -> None:
        self.call("PUT", f"default-default-client-scopes/{scope_id}")

    # -- clients -------------------------------------------------------------------------------

    def find_client(self, client_id: str) -> dict[str, Any] | None:
        found = self.call("GET", "clients", clientId=client_id, search="false") or []
        return next((c for c in found if c.get("clientId") == client_id), None)

    def create_client(self, rep: dict[str, Any]) -> str:
        return str(self.call("POST", "clients", rep))

    def update_client(self, uuid: str, rep: dict[str, Any]) -> None:
        self.call("PUT", f"clients/{uuid}", rep)

    def delete_client(self, uuid: str) -> None:
        self.call("DELETE", f"clients/{uuid}")

    def client_default_scopes(self, uuid: str) -> list[dict[str, Any]]:
        return self.call("GET", f"clients/{uuid}/default-client-scopes") or []

    def add_client_default_scope(self, uuid: str, scope_id: str) -> None:
        self.call("PUT", f"clients/{uuid}/default-client-scopes/{scope_id}")

    def client_secret(self, uuid: str) -> str:
        return str((self.call("GET", f"clients/{uuid}/client-secret") or {}).get("value", ""))

    def regenerate_client_secret(self, uuid: str) -> str:
        return str((self.call("POST", f"clients/{uuid}/client-secret") or {}).get("value", ""))

    def client_roles(self, uuid: str) -> list[dict[str, Any]]:
        return self.call("GET", f"clients/{uuid}/roles", briefRepresentation="false") or []

    def create_client_role(self, uuid: str, rep: dict[str, Any]) -> None:
        self.call("POST", f"clients/{uuid}/roles", rep)

    def group_client_roles(self, group_id: str, uuid: str) -> list[dict[str, Any]]:
        return self.call("GET", f"groups/{group_id}/role-mappings/clients/{uuid}") or []

    def assign_group_client_roles(self, group_id: str, uuid: str, roles: list[dict[str, Any]]) -> None:
        self.call("POST", f"groups/{group_id}/role-mappings/clients/{uuid}", roles)

    # -- authentication flows ------------------------------------------------------------------

    def flows(self) -> list[dict[str, Any]]:
        return self.call("GET", "authentication/flows") or []

    def create_flow(self, alias: str, description: str) -> None:
        self.call(
            "POST",
            "authentication/flows",
            {
                "alias": alias,
                "description": description,
                "providerId": "basic-flow",
                "topLevel": True,
                "builtIn": False,
            },
        )

    def delete_flow(self, flow_id: str) -> None:
        self.call("DELETE", f"authentication/flows/{flow_id}")

    def executions(self, alias: str) -> list[dict[str, Any]]:
        return self.call("GET", f"authentication/flows/{quote(alias)}/executions") or []

    def add_execution(self, alias: str, provider: str) -> None:
        self.call("POST", f"authentication/flows/{quote(alias)}/executions/execution", {"provider": provider})

    def add_subflow(self, alias: str, sub_alias: str, description: str) -> None:
        self.call(
            "POST",
            f"authentication/flows/{quote(alias)}/executions/flow",
            {
                "alias": sub_alias,
                "type": "basic-flow",
                "provider": "registration-page-form",
                "description": description,
            },
        )

    def update_execution(self, alias: str, rep: dict[str, Any]) -> None:
        self.call("PUT", f"authentication/flows/{quote(alias)}/executions", rep)

    def create_execution_config(self, execution_id: str, alias: str, config: dict[str, str]) -> None:
        self.call("POST", f"authentication/executions/{execution_id}/config", {"alias": alias, "config": config})

    def authenticator_config(self, config_id: str) -> dict[str, Any]:
        return self.call("GET", f"authentication/config/{config_id}") or {}

    def update_authenticator_config(self, config_id: str, rep: dict[str, Any]) -> None:
        self.call("PUT", f"authentication/config/{config_id}", rep)

    # -- users ---------------------------------------------------------------------------------

    def count_users(self) -> int:
        return int(self.call("GET", "users/count") or 0)

    def users(self) -> Iterator[dict[str, Any]]:
        return self._paged("users", briefRepresentation="false")

    def find_user(self, username: str) -> dict[str, Any] | None:
        found = self.call("GET", "users", username=username, exact="true") or []
        return found[0] if found else None

    def find_users_by_attribute(self, name: str, value: str) -> list[dict[str, Any]]:
        return self.call("GET", "users", q=f"{name}:{value}", briefRepresentation="false") or []

    def create_user(self, rep: dict[str, Any]) -> str:
        return str(self.call("POST", "users", rep))

    def update_user(self, user_id: str, rep: dict[str, Any]) -> None:
        self.call("PUT", f"users/{user_id}", rep)

    def delete_user(self, user_id: str) -> None:
        self.call("DELETE", f"users/{user_id}")

    def set_password(self, user_id: str, password: str, *, temporary: bool) -> None:
        self.call(
            "PUT", f"users/{user_id}/reset-password", {"type": "password", "value": password, "temporary": temporary}
        )

    def user_groups(self, user_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"users/{user_id}/groups", briefRepresentation="true") or []

    def add_user_to_group(self, user_id: str, group_id: str) -> None:
        self.call("PUT", f"users/{user_id}/groups/{group_id}")

    def remove_user_from_group(self, user_id: str, group_id: str) -> None:
        self.call("DELETE", f"users/{user_id}/groups/{group_id}")

    def user_realm_roles(self, user_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"users/{user_id}/role-mappings/realm") or []

    def add_user_realm_roles(self, user_id: str, roles: list[dict[str, Any]]) -> None:
        self.call("POST", f"users/{user_id}/role-mappings/realm", roles)

    def remove_user_realm_roles(self, user_id: str, roles: list[dict[str, Any]]) -> None:
        self.call("DELETE", f"users/{user_id}/role-mappings/realm", roles)

    def partial_import(self, rep: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", "partialImport", rep) or {}
