"""The planner: reads the realm through the Keycloak adapter and lists every Change that brings
it to the spec, each with the operation that makes it. Nothing is deleted except a flow that has
to be rebuilt."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import partial
from typing import Any

from govops.errors import Conflict, NotFound
from identity.keycloak_adapter import KeycloakAdapter
from identity.realm.diff import Change, differences
from identity.realm.document import PROFILE_KEYS, SOURCE_ATTRIBUTE
from identity.realm.spec import BreakGlassAccount, FlowSpec, GroupSpec, RealmSpec, Step


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
            return [Change("create", "realm", self.spec.realm, op=partial(self._create_realm, desired))]
        diff = differences(desired, realm)
        if not diff:
            return []
        return [Change("update", "realm", self.spec.realm, diff, op=lambda: self.kc.update_realm(desired))]

    def _create_realm(self, desired: dict[str, Any]) -> None:
        try:
            self.kc.create_realm(desired)
        except Conflict:
            # Created meanwhile: an earlier attempt whose answer was lost (a timeout on a loaded
            # Keycloak) or another apply. The realm is empty but for its settings: set them.
            self.kc.update_realm(desired)

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
        found = self.kc.group_by_path(path)
        if found is None:
            raise NotFound(f"group {path} is not in Keycloak", hint="run `govops identity apply` again")
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
        self.kc.add_user_realm_roles(user_id, [self.kc.realm_role(r) for r in roles])

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
            self.kc.add_user_realm_roles(uid, [self.kc.realm_role(r) for r in acct.roles])
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
