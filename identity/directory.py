"""Directory import (组织机构与人员库导入): departments and civil servants from CSV or JSON.

The organisation database is the source of truth for the people it lists. An import creates,
updates and disables users and their department/section memberships so that Keycloak matches
the file, and reports what changed; a second import of the same file changes nothing.

The file format and its validation live in identity.directory_file (re-exported here).

Rules:
- a user is keyed by the civil servant ID (attribute `civil_servant_id`; username = ID lower-cased);
- a user sits in exactly one group of the district tree (section if given, else department);
  groups outside the tree (e.g. /platforms/…) are left alone;
- when the file has a `roles` column/key, the platform roles follow it; otherwise roles
  are not touched;
- a `contractor` column/key sets a contractor's staff member's 运维单位 code (the token's
  `contractor` claim, which scopes their work orders); an empty cell leaves it as it is;
- `status: inactive` disables a user; with `prune`, directory users absent from the file are
  disabled too. Nobody is ever deleted (their audit trail and certificates stay meaningful);
- every row is validated before anything is written: a bad file changes nothing (that includes
  a row giving one person two of ops-engineer, sec-admin and auditor: 三员分立).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govops import audit
from govops.errors import ServiceUnavailable, ValidationFailed
from govops.files import write_private
from govops.org import Department
from govops.principal import ROLES
from identity.directory_file import (
    CivilServantRow,
    DepartmentRow,
    DirectoryFile,
    Section,
    parse,
    parse_csv,
    parse_json,
    validate,
    write_csv,
)
from identity.keycloak_adapter import KeycloakAdapter
from identity.pki import CertificateAuthority, CivilServant
from identity.realm import CONTRACTOR_ATTRIBUTE, ID_ATTRIBUTE, SOURCE_ATTRIBUTE

BATCH = 500
# A batch Keycloak did not answer is sent again (its users are keyed by username and the import
# skips existing ones, so a repeat is harmless) after these pauses; then the import stops.
RETRY_PAUSES_S = (2.0, 8.0)
__all__ = [
    "CivilServantRow",
    "DepartmentRow",
    "DirectoryFile",
    "ImportReport",
    "Section",
    "import_directory",
    "parse",
    "parse_csv",
    "parse_json",
    "validate",
    "write_csv",
]


@dataclass
class ImportReport:
    dry_run: bool
    departments_created: int = 0
    departments_updated: int = 0
    groups_created: int = 0
    created: int = 0
    updated: int = 0
    disabled: int = 0
    unchanged: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)
    certificates: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0
    stopped: str | None = None  # why the creation of new users stopped part-way (Keycloak gone)

    @property
    def changed(self) -> int:
        return (
            self.created
            + self.updated
            + self.disabled
            + self.departments_created
            + self.departments_updated
            + self.groups_created
        )

    def as_dict(self, max_items: int = 200) -> dict[str, Any]:
        total = self.created + self.updated + self.disabled + self.unchanged
        return {
            "dry_run": self.dry_run,
            "departments_created": self.departments_created,
            "departments_updated": self.departments_updated,
            "groups_created": self.groups_created,
            "created": self.created,
            "updated": self.updated,
            "disabled": self.disabled,
            "unchanged": self.unchanged,
            "changed": self.changed,
            "summary": "no changes"
            if not self.changed
            else f"{self.created} created, {self.updated} updated, {self.disabled} disabled",
            "stopped": self.stopped,
            "items": self.items[:max_items],
            "items_total": len(self.items),
            "certificates": self.certificates,
            "elapsed_s": round(self.elapsed_s, 3),
            "users_per_second": round(total / self.elapsed_s, 1) if self.elapsed_s else None,
        }


def _group_index(kc: KeycloakAdapter) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}

    def walk(groups: list[dict[str, Any]], prefix: str) -> None:
        for g in groups:
            index[f"{prefix}/{g['name']}"] = g
            walk(g.get("subGroups") or [], f"{prefix}/{g['name']}")

    walk(kc.group_tree(), "")
    return index


def _district_of(known: dict[str, Department], district: str | None) -> str:
    if district:
        return district
    roots = {d.sso_group.strip("/").split("/")[0] for d in known.values() if d.sso_group}
    if len(roots) == 1:
        return roots.pop()
    raise ValidationFailed(
        "cannot tell which district the new departments belong to", hint="pass --district CODE (e.g. 310116)"
    )


def import_directory(
    session: Session,
    kc: KeycloakAdapter,
    file: DirectoryFile,
    *,
    actor: str,
    dry_run: bool = False,
    prune: bool = False,
    district: str | None = None,
    ca: CertificateAuthority | None = None,
    cert_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    started = time.perf_counter()
    report = ImportReport(dry_run=dry_run)
    known = {d.code: d for d in session.scalars(select(Department))}
    errors = validate(file, known)
    if errors:
        raise ValidationFailed(
            f"the directory file has {len(errors)} problem(s); nothing was changed: "
            + "; ".join(errors[:10])
            + (" …" if len(errors) > 10 else ""),
            hint="fix the rows and import again",
        )

    # 1. departments (kernel table) and their groups (district → department → section)
    new_depts = [d for d in file.departments.values() if d.code not in known]
    root = _district_of(known, district) if new_depts else None
    for d in file.departments.values():
        dept_row = known.get(d.code)
        if dept_row is None:
            report.departments_created += 1
            report.items.append({"department": d.code, "action": "created"})
            if not dry_run:
                dept_row = Department(code=d.code, name=d.name, sso_group=f"/{root}/{d.code}")
                session.add(dept_row)
                known[d.code] = dept_row
        elif d.name and dept_row.name != d.name:
            report.departments_updated += 1
            report.items.append({"department": d.code, "action": "updated", "fields": ["name"]})
            if not dry_run:
                dept_row.name = d.name
    session.flush()

    groups = _group_index(kc)
    wanted_groups: list[tuple[str, str, str]] = []  # path, name, kind
    for d in file.departments.values():
        base = known[d.code].sso_group if d.code in known else f"/{root}/{d.code}"
        district_path = "/" + base.strip("/").split("/")[0]
        wanted_groups.append((district_path, district_path.strip("/"), "district"))
        wanted_groups.append((base, d.name or known[d.code].name, "department"))
        for s in d.sections.values():
            wanted_groups.append((f"{base}/{s.code}", s.name, "section"))
    for path, display, kind in wanted_groups:
        if path in groups:
            continue
        report.groups_created += 1
        report.items.append({"group": path, "action": "created"})
        if not dry_run:
            parent_path, name = path.rsplit("/", 1)
            parent_id = groups[parent_path]["id"] if parent_path else None
            gid = kc.create_group(
                {"name": name, "attributes": {"display_name": [display], "govops_kind": [kind]}}, parent_id
            )
            groups[path] = {"id": gid, "name": name, "subGroups": []}
        else:
            groups[path] = {"id": None, "name": path.rsplit("/", 1)[1], "subGroups": []}

    def target_path(p: CivilServantRow) -> str:
        base = known[p.department].sso_group if p.department in known else f"/{root}/{p.department}"
        return f"{base}/{p.section}" if p.section else base

    tree_roots = {"/" + d.sso_group.strip("/").split("/")[0] for d in known.values()}
    if root:
        tree_roots.add(f"/{root}")

    def in_tree(path: str) -> bool:
        return any(path == r or path.startswith(r + "/") for r in tree_roots)

    # 2. what Keycloak has now: users, their district-tree groups, their platform roles
    by_id: dict[str, dict[str, Any]] = {}
    for u in kc.users():
        cid = ((u.get("attributes") or {}).get(ID_ATTRIBUTE) or [None])[0]
        if cid:
            by_id[cid] = u
    member_of: dict[str, set[str]] = {}
    for path, g in groups.items():
        if g.get("id") and in_tree(path) and path.count("/") >= 2:
            for m in kc.group_members(g["id"]):
                member_of.setdefault(m["id"], set()).add(path)
    role_of: dict[str, set[str]] = {}
    for role in ROLES:
        try:
            for m in kc.role_members(role):
                role_of.setdefault(m["id"], set()).add(role)
        except Exception:  # noqa: S112 - a realm without the role yet: nobody holds it
            continue

    # 3. plan and write
    to_create: list[dict[str, Any]] = []
    created_people: list[CivilServantRow] = []
    total = len(file.people)
    for n, p in enumerate(file.people, start=1):
        path = target_path(p)
        have = by_id.get(p.id)
        if have is None:
            if not p.active:
                report.unchanged += 1  # an inactive person we never had: nothing to disable
                continue
            report.created += 1
            report.items.append({"id": p.id, "action": "created"})
            to_create.append(
                {
                    "username": p.id.lower(),
                    "enabled": True,
                    "firstName": p.name,
                    "email": p.email,
                    "emailVerified": bool(p.email),
                    "attributes": {ID_ATTRIBUTE: [p.id], SOURCE_ATTRIBUTE: ["directory"]}
                    | ({CONTRACTOR_ATTRIBUTE: [p.contractor]} if p.contractor else {}),
                    "groups": [path],
                    "realmRoles": list(p.roles or []),
                }
            )
            created_people.append(p)
            continue
        fields: list[str] = []
        rep: dict[str, Any] = {}
        if (have.get("firstName") or "") != p.name:
            fields.append("name")
            rep["firstName"] = p.name
        if (have.get("email") or None) != p.email:
            fields.append("email")
            rep["email"] = p.email or ""
            rep["emailVerified"] = bool(p.email)
        if bool(have.get("enabled")) != p.active:
            fields.append("enabled")
            rep["enabled"] = p.active
        attrs = dict(have.get("attributes") or {})
        if attrs.get(SOURCE_ATTRIBUTE) != ["directory"]:
            fields.append("source")
            attrs[SOURCE_ATTRIBUTE] = ["directory"]
            rep["attributes"] = attrs
        if p.contractor is not None and attrs.get(CONTRACTOR_ATTRIBUTE) != [p.contractor]:
            fields.append("contractor")
            attrs[CONTRACTOR_ATTRIBUTE] = [p.contractor]
            rep["attributes"] = attrs
        current_groups = member_of.get(have["id"], set())
        join = path not in current_groups
        leave = sorted(current_groups - {path})
        if join or leave:
            fields.append("department")
        current_roles = role_of.get(have["id"], set())
        add_roles = sorted(set(p.roles or []) - current_roles) if p.roles is not None else []
        drop_roles = sorted(current_roles - set(p.roles or [])) if p.roles is not None else []
        if add_roles or drop_roles:
            fields.append("roles")
        if not fields:
            report.unchanged += 1
            continue
        if "enabled" in fields and not p.active:
            report.disabled += 1
            action = "disabled"
        else:
            report.updated += 1
            action = "updated"
        report.items.append({"id": p.id, "action": action, "fields": fields})
        if dry_run:
            continue
        if rep:
            kc.update_user(have["id"], {**_writable(have), **rep})
        if join:
            kc.add_user_to_group(have["id"], groups[path]["id"])
        for old in leave:
            kc.remove_user_from_group(have["id"], groups[old]["id"])
        if add_roles:
            kc.add_user_realm_roles(have["id"], [kc.realm_role(r) for r in add_roles])
        if drop_roles:
            kc.remove_user_realm_roles(have["id"], [kc.realm_role(r) for r in drop_roles])
        if progress and n % 50 == 0:
            progress(n, total)

    if prune:
        listed = {p.id for p in file.people}
        for cid, u in by_id.items():
            source = (u.get("attributes") or {}).get(SOURCE_ATTRIBUTE)
            if cid not in listed and source == ["directory"] and u.get("enabled"):
                report.disabled += 1
                report.items.append({"id": cid, "action": "disabled", "fields": ["absent"]})
                if not dry_run:
                    kc.update_user(u["id"], {**_writable(u), "enabled": False})

    if not dry_run:
        created_people = _create_users(kc, to_create, created_people, report, progress, total)
        if ca is not None and cert_dir is not None and created_people:
            cert_dir.mkdir(parents=True, exist_ok=True)
            for p in created_people:
                dept_name = known[p.department].name if p.department in known else p.department
                section = (
                    file.departments[p.department].sections.get(p.section or "")
                    if p.department in file.departments
                    else None
                )
                bundle = ca.issue(
                    session,
                    CivilServant(p.id, p.name, dept_name, section.name if section else None, p.email),
                    actor=actor,
                )
                target = cert_dir / f"{p.id}.p12"
                write_private(target, bundle.pkcs12)
                report.certificates.append(
                    {"id": p.id, "serial": bundle.record.serial, "file": str(target), "password": bundle.password}
                )
        audit.append(
            session,
            actor=actor,
            action="identity.directory_import",
            target=kc.realm,
            detail={
                k: v
                for k, v in report.as_dict().items()
                if k
                in ("created", "updated", "disabled", "unchanged", "departments_created", "groups_created", "stopped")
            },
        )
    report.elapsed_s = time.perf_counter() - started
    return report


def _create_users(
    kc: KeycloakAdapter,
    to_create: list[dict[str, Any]],
    people: list[CivilServantRow],
    report: ImportReport,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> list[CivilServantRow]:
    """Create the new users in batches; the people that now exist as ours.

    A user Keycloak skipped is ours when it carries this person's ID: an earlier attempt of the
    same batch created it and its answer was lost (a timeout under load). Otherwise the username
    belongs to someone else: reported, never guessed at. When Keycloak stops answering, the
    batches not sent are reported (`stopped`) and what was created is kept, certificates and
    audit included: the same import again continues where this one stopped.
    """
    created: set[str] = set()
    for i in range(0, len(to_create), BATCH):
        chunk = to_create[i : i + BATCH]
        try:
            result = _partial_import(kc, chunk)
        except ServiceUnavailable as exc:
            report.stopped = (
                f"{exc.message}; {len(created)} of {len(to_create)} new users were created, "
                "run the same import again to create the rest"
            )
            break
        ours = {u["username"]: u["attributes"][ID_ATTRIBUTE][0] for u in chunk}
        added = {r["resourceName"] for r in result.get("results") or [] if r.get("action") == "ADDED"}
        clashes = []
        for name in sorted(set(ours) - added):
            have = kc.find_user(name) or {}
            if ((have.get("attributes") or {}).get(ID_ATTRIBUTE) or [None])[0] == ours[name]:
                added.add(name)
            else:
                clashes.append(name)
        if clashes:
            report.items.append(
                {
                    "action": "skipped",
                    "count": len(clashes),
                    "usernames": clashes[:20],
                    "reason": "username exists without this civil_servant_id",
                }
            )
        created |= added
        if progress:
            progress(min(total, i + len(chunk)), total)
    missing = {p.id for p in people if p.id.lower() not in created}
    report.created -= len(missing)
    for item in report.items:
        if item.get("action") == "created" and item.get("id") in missing:
            item["action"] = "not_created"
    return [p for p in people if p.id.lower() in created]


def _partial_import(kc: KeycloakAdapter, chunk: list[dict[str, Any]]) -> dict[str, Any]:
    request = {"ifResourceExists": "SKIP", "users": chunk}
    for pause in RETRY_PAUSES_S:
        try:
            return kc.partial_import(request)
        except ServiceUnavailable:
            time.sleep(pause)
    return kc.partial_import(request)


def _writable(user: dict[str, Any]) -> dict[str, Any]:
    """The parts of a user representation a PUT may carry back unchanged."""
    keep = ("username", "enabled", "firstName", "lastName", "email", "emailVerified", "attributes")
    return {k: user[k] for k in keep if k in user}
