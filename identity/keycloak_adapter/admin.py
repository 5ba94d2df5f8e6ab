"""Admin operations on one realm, through python-keycloak's `KeycloakAdmin`.

The adapter is built once per runtime: its `KeycloakOpenIDConnection` holds the admin token
(admin-cli, password grant on the master realm) and refreshes it before it expires, so a request
never pays a new grant. The methods name what the platform does with the realm; each is one
KeycloakAdmin call, and every failure leaves as a GovopsError with a hint: Keycloak down →
ServiceUnavailable, wrong admin credentials or missing rights → ConfigError, 404 → NotFound,
409 → Conflict. Nothing above this package imports `keycloak` or knows an admin URL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from govops.errors import ConfigError, Conflict, GovopsError, NotFound, ServiceUnavailable
from govops.settings import Settings
from identity.keycloak_adapter.oidc import unreachable

if TYPE_CHECKING:
    from keycloak import KeycloakAdmin

T = TypeVar("T")
BRIEF = {"briefRepresentation": "true"}
FULL = {"briefRepresentation": "false"}


def _message(exc: Any) -> str:
    body = getattr(exc, "response_body", None) or b""
    try:
        detail = json.loads(body)
        if isinstance(detail, dict):
            return str(
                detail.get("errorMessage")
                or detail.get("error_description")
                or detail.get("error")
                or detail.get("message")
                or detail
            )
    except ValueError:
        pass
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return text[:300] or str(getattr(exc, "error_message", "")) or exc.__class__.__name__


class KeycloakAdapter:
    """One realm's admin API, as the master realm's admin."""

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
        self._credentials = (admin_user, admin_password, admin_realm)
        self._verify = verify
        self._timeout = timeout
        self._admin: KeycloakAdmin | None = None
        self._lock = threading.RLock()  # one token refresh at a time; requests share the adapter

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

    def _api(self) -> KeycloakAdmin:
        if self._admin is None:
            from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
            from keycloak.exceptions import KeycloakAuthenticationError, KeycloakConnectionError, KeycloakError

            user, password, admin_realm = self._credentials
            try:
                conn = KeycloakOpenIDConnection(
                    server_url=self.server_url,
                    username=user,
                    password=password,
                    realm_name=self.realm,  # the realm the admin URLs name
                    user_realm_name=admin_realm,  # the realm the admin signs in to
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
                raise unreachable(self.server_url, exc) from None
            except KeycloakError as exc:
                raise ServiceUnavailable(
                    f"cannot sign in to Keycloak's admin API: {_message(exc)}", hint="check GOVOPS_KEYCLOAK_ADMIN_URL"
                ) from None
            self._admin = KeycloakAdmin(connection=conn)
        return self._admin

    def _do(self, what: str, fn: Callable[[KeycloakAdmin], T]) -> T:
        from keycloak.exceptions import KeycloakConnectionError, KeycloakError

        with self._lock:
            api = self._api()
            try:
                return fn(api)
            except KeycloakConnectionError as exc:
                raise unreachable(self.server_url, exc) from None
            except KeycloakError as exc:
                code, message = exc.response_code or 0, _message(exc)
        where = f"Keycloak: {what}"
        if code == 404:
            raise NotFound(f"{where}: not found ({message})")
        if code == 409:
            raise Conflict(f"{where}: conflict ({message})")
        if code in (401, 403):
            raise ConfigError(
                f"{where}: the admin account may not do this ({message})",
                hint="give the admin account the realm-admin role",
            )
        if code >= 500 or code == 0:
            raise ServiceUnavailable(f"{where} failed: {message}")
        raise GovopsError(f"{where} was refused: {message}")

    def _maybe(self, what: str, fn: Callable[[KeycloakAdmin], T]) -> T | None:
        try:
            return self._do(what, fn)
        except NotFound:
            return None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """A raw admin call, for the few endpoints KeycloakAdmin does not wrap."""

        def raw(api: KeycloakAdmin) -> Any:
            from keycloak.exceptions import KeycloakPostError, raise_error_from_response

            url = f"admin/realms/{quote(self.realm)}/{path}"
            data = json.dumps(body if body is not None else {})
            send = {"GET": api.connection.raw_get, "POST": api.connection.raw_post, "PUT": api.connection.raw_put}
            response = send[method](url) if method == "GET" else send[method](url, data=data)
            return raise_error_from_response(response, KeycloakPostError)

        return self._do(f"{method} {path}", raw)

    # -- server / realm ------------------------------------------------------------------------

    def server_version(self) -> str:
        info = self._do("server info", lambda a: a.get_server_info()) or {}
        return str(info.get("systemInfo", {}).get("version", "unknown"))

    def get_realm(self) -> dict[str, Any] | None:
        return self._maybe("get realm", lambda a: a.get_realm(self.realm))

    def create_realm(self, rep: dict[str, Any]) -> None:
        self._do("create realm", lambda a: a.create_realm({**rep, "realm": self.realm}))

    def update_realm(self, rep: dict[str, Any]) -> None:
        self._do("update realm", lambda a: a.update_realm(self.realm, rep))

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
        query: dict[str, Any] = {"max": max_results}
        if types:
            query["type"] = types
        if client:
            query["client"] = client
        if user:
            query["user"] = user
        return list(self._do("events", lambda a: a.get_events(query)) or [])

    # -- roles ---------------------------------------------------------------------------------

    def realm_roles(self) -> list[dict[str, Any]]:
        return list(self._do("realm roles", lambda a: a.get_realm_roles(brief_representation=False)))

    def realm_role(self, name: str) -> dict[str, Any]:
        return dict(self._do(f"realm role {name}", lambda a: a.get_realm_role(name)))

    def create_realm_role(self, rep: dict[str, Any]) -> None:
        self._do("create realm role", lambda a: a.create_realm_role(rep))

    def update_realm_role(self, name: str, rep: dict[str, Any]) -> None:
        self._do(f"update realm role {name}", lambda a: a.update_realm_role(name, rep))

    def role_members(self, role: str) -> Iterator[dict[str, Any]]:
        return iter(self._do(f"members of {role}", lambda a: a.get_realm_role_members(role, dict(BRIEF))))

    # -- groups --------------------------------------------------------------------------------

    def group_tree(self) -> list[dict[str, Any]]:
        """Every group, each with `subGroups` filled in (KC 23+ pages children separately)."""

        def children(api: KeycloakAdmin, group: dict[str, Any]) -> dict[str, Any]:
            if group.get("subGroupCount", 0) or group.get("subGroups"):
                kids = api.get_group_children(group["id"], dict(FULL))
                group["subGroups"] = [children(api, k) for k in kids]
            else:
                group["subGroups"] = []
            return group

        return self._do("groups", lambda a: [children(a, g) for g in a.get_groups(dict(FULL))])

    def group_by_path(self, path: str) -> dict[str, Any] | None:
        return self._maybe(f"group {path}", lambda a: a.get_group_by_path(path.lstrip("/")))

    def create_group(self, rep: dict[str, Any], parent_id: str | None = None) -> str:
        return str(self._do(f"create group {rep.get('name')}", lambda a: a.create_group(rep, parent=parent_id)))

    def update_group(self, group_id: str, rep: dict[str, Any]) -> None:
        self._do("update group", lambda a: a.update_group(group_id, rep))

    def group_members(self, group_id: str) -> Iterator[dict[str, Any]]:
        return iter(self._do("group members", lambda a: a.get_group_members(group_id, dict(BRIEF))))

    # -- user profile --------------------------------------------------------------------------

    def user_profile(self) -> dict[str, Any]:
        return dict(self._do("user profile", lambda a: a.get_realm_users_profile()) or {})

    def update_user_profile(self, config: dict[str, Any]) -> None:
        self._do("update user profile", lambda a: a.update_realm_users_profile(config))

    # -- client scopes -------------------------------------------------------------------------

    def client_scopes(self) -> list[dict[str, Any]]:
        return list(self._do("client scopes", lambda a: a.get_client_scopes()) or [])

    def create_client_scope(self, rep: dict[str, Any]) -> str:
        return str(self._do(f"create client scope {rep.get('name')}", lambda a: a.create_client_scope(rep)))

    def update_client_scope(self, scope_id: str, rep: dict[str, Any]) -> None:
        self._do("update client scope", lambda a: a.update_client_scope(scope_id, rep))

    def add_scope_mapper(self, scope_id: str, mapper: dict[str, Any]) -> None:
        self._do("add scope mapper", lambda a: a.add_mapper_to_client_scope(scope_id, mapper))

    def update_scope_mapper(self, scope_id: str, mapper_id: str, mapper: dict[str, Any]) -> None:
        self._do(
            "update scope mapper",
            lambda a: a.update_mapper_in_client_scope(scope_id, mapper_id, {**mapper, "id": mapper_id}),
        )

    def default_default_scopes(self) -> list[dict[str, Any]]:
        return list(self._do("default client scopes", lambda a: a.get_default_default_client_scopes()) or [])

    def add_default_default_scope(self, scope_id: str) -> None:
        self._do("add default client scope", lambda a: a.add_default_default_client_scope(scope_id))

    # -- clients -------------------------------------------------------------------------------

    def find_client(self, client_id: str) -> dict[str, Any] | None:
        found = self._do(f"client {client_id}", lambda a: a.get_clients())
        return next((c for c in found or [] if c.get("clientId") == client_id), None)

    def create_client(self, rep: dict[str, Any]) -> str:
        return str(self._do(f"create client {rep.get('clientId')}", lambda a: a.create_client(rep)))

    def update_client(self, uuid: str, rep: dict[str, Any]) -> None:
        self._do("update client", lambda a: a.update_client(uuid, rep))

    def delete_client(self, uuid: str) -> None:
        self._do("delete client", lambda a: a.delete_client(uuid))

    def client_default_scopes(self, uuid: str) -> list[dict[str, Any]]:
        return list(self._do("client default scopes", lambda a: a.get_client_default_client_scopes(uuid)) or [])

    def add_client_default_scope(self, uuid: str, scope_id: str) -> None:
        self._do(
            "link client scope",
            lambda a: a.add_client_default_client_scope(
                uuid, scope_id, {"realm": self.realm, "client": uuid, "clientScopeId": scope_id}
            ),
        )

    def client_secret(self, uuid: str) -> str:
        return str((self._do("client secret", lambda a: a.get_client_secrets(uuid)) or {}).get("value", ""))

    def regenerate_client_secret(self, uuid: str) -> str:
        return str((self._do("new client secret", lambda a: a.generate_client_secrets(uuid)) or {}).get("value", ""))

    def client_roles(self, uuid: str) -> list[dict[str, Any]]:
        return list(self._do("client roles", lambda a: a.get_client_roles(uuid, brief_representation=False)) or [])

    def create_client_role(self, uuid: str, rep: dict[str, Any]) -> None:
        self._do(f"create client role {rep.get('name')}", lambda a: a.create_client_role(uuid, rep))

    def add_audience_mapper(self, uuid: str, audience: str) -> None:
        """Tokens of this client carry `audience` (its own client ID for a department app)."""
        mapper = {
            "name": f"{audience} audience",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {
                "included.client.audience": audience,
                "access.token.claim": "true",
                "id.token.claim": "false",
                "introspection.token.claim": "true",
            },
        }
        self._do("add audience mapper", lambda a: a.add_mapper_to_client(uuid, mapper))

    def client_mappers(self, uuid: str) -> list[dict[str, Any]]:
        return list(self._do("client mappers", lambda a: a.get_mappers_from_client(uuid)) or [])

    def group_client_roles(self, group_id: str, uuid: str) -> list[dict[str, Any]]:
        return list(self._do("group client roles", lambda a: a.get_group_client_roles(group_id, uuid)) or [])

    def assign_group_client_roles(self, group_id: str, uuid: str, roles: list[dict[str, Any]]) -> None:
        self._do("assign group client roles", lambda a: a.assign_group_client_roles(group_id, uuid, roles))

    # -- authentication flows ------------------------------------------------------------------

    def flows(self) -> list[dict[str, Any]]:
        return list(self._do("flows", lambda a: a.get_authentication_flows()) or [])

    def create_flow(self, alias: str, description: str) -> None:
        rep = {"alias": alias, "description": description, "providerId": "basic-flow", "topLevel": True}
        self._do(f"create flow {alias}", lambda a: a.create_authentication_flow({**rep, "builtIn": False}))

    def delete_flow(self, flow_id: str) -> None:
        self._do("delete flow", lambda a: a.delete_authentication_flow(flow_id))

    def executions(self, alias: str) -> list[dict[str, Any]]:
        return list(self._do(f"executions of {alias}", lambda a: a.get_authentication_flow_executions(alias)) or [])

    def add_execution(self, alias: str, provider: str) -> None:
        self._do(
            f"add {provider} to {alias}",
            lambda a: a.create_authentication_flow_execution({"provider": provider}, alias),
        )

    def add_subflow(self, alias: str, sub_alias: str, description: str) -> None:
        rep = {
            "alias": sub_alias,
            "type": "basic-flow",
            "provider": "registration-page-form",
            "description": description,
        }
        self._do(f"add sub-flow {sub_alias}", lambda a: a.create_authentication_flow_subflow(rep, alias))

    def update_execution(self, alias: str, rep: dict[str, Any]) -> None:
        self._do(f"update execution in {alias}", lambda a: a.update_authentication_flow_executions(rep, alias))

    def create_execution_config(self, execution_id: str, alias: str, config: dict[str, str]) -> None:
        rep = {"alias": alias, "config": config}
        self._do(f"configure {alias}", lambda a: a.create_execution_config(execution_id, rep))

    def authenticator_config(self, config_id: str) -> dict[str, Any]:
        return dict(self._do("authenticator config", lambda a: a.get_authenticator_config(config_id)) or {})

    def update_authenticator_config(self, config_id: str, rep: dict[str, Any]) -> None:
        self._do("update authenticator config", lambda a: a.update_authenticator_config(rep, config_id))

    # -- users ---------------------------------------------------------------------------------

    def count_users(self) -> int:
        return int(self._do("count users", lambda a: a.users_count()) or 0)

    def users(self) -> Iterator[dict[str, Any]]:
        return iter(self._do("users", lambda a: a.get_users(dict(FULL))))

    def find_user(self, username: str) -> dict[str, Any] | None:
        found = self._do(f"user {username}", lambda a: a.get_users({"username": username, "exact": "true"}))
        return found[0] if found else None

    def find_users_by_attribute(self, name: str, value: str) -> list[dict[str, Any]]:
        return list(self._do(f"users with {name}", lambda a: a.get_users({"q": f"{name}:{value}", **FULL})) or [])

    def create_user(self, rep: dict[str, Any]) -> str:
        return str(self._do(f"create user {rep.get('username')}", lambda a: a.create_user(rep)))

    def update_user(self, user_id: str, rep: dict[str, Any]) -> None:
        self._do("update user", lambda a: a.update_user(user_id, rep))

    def delete_user(self, user_id: str) -> None:
        self._do("delete user", lambda a: a.delete_user(user_id))

    def set_password(self, user_id: str, password: str, *, temporary: bool) -> None:
        self._do("set password", lambda a: a.set_user_password(user_id, password, temporary=temporary))

    def user_groups(self, user_id: str) -> list[dict[str, Any]]:
        return list(self._do("user groups", lambda a: a.get_user_groups(user_id)) or [])

    def add_user_to_group(self, user_id: str, group_id: str) -> None:
        self._do("add user to group", lambda a: a.group_user_add(user_id, group_id))

    def remove_user_from_group(self, user_id: str, group_id: str) -> None:
        self._do("remove user from group", lambda a: a.group_user_remove(user_id, group_id))

    def user_realm_roles(self, user_id: str) -> list[dict[str, Any]]:
        return list(self._do("user roles", lambda a: a.get_realm_roles_of_user(user_id)) or [])

    def add_user_realm_roles(self, user_id: str, roles: list[dict[str, Any]]) -> None:
        self._do("grant roles", lambda a: a.assign_realm_roles(user_id, roles))

    def remove_user_realm_roles(self, user_id: str, roles: list[dict[str, Any]]) -> None:
        self._do("withdraw roles", lambda a: a.delete_realm_roles_of_user(user_id, roles))

    def partial_import(self, rep: dict[str, Any]) -> dict[str, Any]:
        return dict(self._do("partial import", lambda a: a.partial_import_realm(self.realm, rep)) or {})
