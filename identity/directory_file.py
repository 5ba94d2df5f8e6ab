"""The directory file (组织机构与人员库): departments and civil servants from CSV or JSON, parsed
and validated before anything is written (see identity.directory for the import).

CSV (UTF-8, Excel's BOM welcome), one civil servant per row:
    id,name,department,department_name,section,section_name,email,roles,status
    310116199001011234,王明,gaj,金山公安分局,zhian,治安支队,wangming@jinshan.gov.cn,dept-admin,active
JSON: {"departments": [{"code", "name", "sections": [{"code", "name"}]}],
       "civil_servants": [{"id", "name", "department", "section", "email", "roles", "status"}]}
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govops.errors import ValidationFailed
from govops.inputs import load_json, read_text
from govops.org import Department
from govops.principal import CONTRACTOR, ROLES
from identity import separation
from identity.pki import EMAIL_PATTERN, ID_PATTERN
from identity.realm import CONTRACTOR_CODE_PATTERN

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_CONTRACTOR_CODE = re.compile(CONTRACTOR_CODE_PATTERN)
PROHIBITED_NAME_CHARS = set('<>&"$%!#?§;*~/\\|^=[]{}()')


@dataclass
class Section:
    code: str
    name: str


@dataclass
class DepartmentRow:
    code: str
    name: str
    sections: dict[str, Section] = field(default_factory=dict)


@dataclass
class CivilServantRow:
    line: int
    id: str
    name: str
    department: str
    section: str | None
    email: str | None
    roles: list[str] | None  # None: the file says nothing about roles
    active: bool
    contractor: str | None = None  # 运维单位 code of a contractor's staff; None: the file says nothing


@dataclass
class DirectoryFile:
    departments: dict[str, DepartmentRow]
    people: list[CivilServantRow]


def _split_roles(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [r for r in re.split(r"[;,|\s]+", str(value).strip()) if r]


def parse(path: Path) -> DirectoryFile:
    text = read_text(path, "a directory file")
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        return parse_json(text)
    return parse_csv(text)


def parse_json(text: str) -> DirectoryFile:
    data = load_json(text, "directory file")
    if not isinstance(data, dict):
        raise ValidationFailed("the directory JSON must be an object with civil_servants")
    departments: dict[str, DepartmentRow] = {}
    for d in data.get("departments") or []:
        dept = DepartmentRow(str(d.get("code", "")).strip(), str(d.get("name", "")).strip())
        for s in d.get("sections") or []:
            sec = Section(str(s.get("code", "")).strip(), str(s.get("name", "")).strip())
            dept.sections[sec.code] = sec
        departments[dept.code] = dept
    people = []
    for i, p in enumerate(data.get("civil_servants") or [], start=1):
        people.append(
            CivilServantRow(
                line=i,
                id=str(p.get("id", "")).strip().upper(),
                name=str(p.get("name", "")).strip(),
                department=str(p.get("department", "")).strip(),
                section=(str(p["section"]).strip() or None) if p.get("section") else None,
                email=(str(p["email"]).strip().lower() or None) if p.get("email") else None,
                roles=_split_roles(p["roles"]) if "roles" in p else None,
                active=str(p.get("status", "active")).strip().lower() != "inactive",
                contractor=(str(p["contractor"]).strip() or None) if p.get("contractor") else None,
            )
        )
    return DirectoryFile(departments, people)


def parse_csv(text: str) -> DirectoryFile:
    try:
        return _parse_csv(text)
    except csv.Error as exc:  # a field past the csv module's limit, a NUL byte
        raise ValidationFailed(
            f"the directory CSV cannot be read: {exc}", hint="one person per line, each field under 128 KiB"
        ) from None


def _parse_csv(text: str) -> DirectoryFile:
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    missing = {"id", "name", "department"} - columns
    if missing:
        raise ValidationFailed(
            f"the CSV lacks the column(s): {', '.join(sorted(missing))}",
            hint="header: id,name,department[,department_name,section,section_name,email,roles,status,contractor]",
        )
    has_roles = "roles" in columns
    departments: dict[str, DepartmentRow] = {}
    people = []
    for i, raw_row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw_row.items()}
        code = row.get("department", "")
        dept = departments.setdefault(code, DepartmentRow(code, row.get("department_name", "")))
        if row.get("department_name") and not dept.name:
            dept.name = row["department_name"]
        section = row.get("section") or None
        if section and section not in dept.sections:
            dept.sections[section] = Section(section, row.get("section_name") or section)
        people.append(
            CivilServantRow(
                line=i,
                id=row.get("id", "").upper(),
                name=row.get("name", ""),
                department=code,
                section=section,
                email=row.get("email", "").lower() or None,
                roles=_split_roles(row.get("roles", "")) if has_roles else None,
                active=row.get("status", "active").lower() != "inactive",
                contractor=row.get("contractor") or None,
            )
        )
    return DirectoryFile(departments, people)


def validate(file: DirectoryFile, known: dict[str, Department]) -> list[str]:
    errors: list[str] = []
    for d in file.departments.values():
        if not CODE_PATTERN.match(d.code):
            errors.append(f"department code {d.code!r} must be lower-case letters, digits, - or _")
        for s in d.sections.values():
            if not CODE_PATTERN.match(s.code):
                errors.append(f"section code {s.code!r} in {d.code} must be lower-case letters, digits, - or _")
        if d.code not in known and not d.name:
            errors.append(f"department {d.code!r} is new: give its name (department_name)")
    seen: dict[str, int] = {}
    for p in file.people:
        where = f"row {p.line}"
        if not ID_PATTERN.match(p.id):
            errors.append(f"{where}: ID {p.id!r} is not 6-32 letters or digits")
        elif p.id in seen:
            errors.append(f"{where}: ID {p.id} repeats row {seen[p.id]}")
        seen.setdefault(p.id, p.line)
        if not p.name or len(p.name) > 64 or PROHIBITED_NAME_CHARS & set(p.name):
            errors.append(f"{where}: name {p.name!r} is empty, too long or has characters like ( ) < >")
        if p.department not in file.departments and p.department not in known:
            errors.append(f"{where}: unknown department {p.department!r}")
        if p.email and not EMAIL_PATTERN.match(p.email):
            errors.append(f"{where}: e-mail {p.email!r} is not valid")
        bad = [r for r in p.roles or [] if r not in ROLES]
        if bad:
            errors.append(f"{where}: unknown role(s) {', '.join(bad)} (use {', '.join(ROLES)})")
        if p.contractor is not None and not _CONTRACTOR_CODE.match(p.contractor):
            errors.append(f"{where}: contractor code {p.contractor!r} must be lower-case letters, digits, - or _")
        elif p.contractor is not None and p.roles is not None and CONTRACTOR not in p.roles:
            errors.append(f"{where}: a contractor code needs the {CONTRACTOR} role in the roles column")
        if held := separation.conflicting(p.roles or []):
            errors.append(f"{where}: {p.id} would hold {separation.describe(held)}; {separation.HINT}")
    return errors


def write_csv(rows: Iterable[dict[str, str]], path: Path) -> None:
    """Write a directory CSV (used by the tests and the import benchmark)."""
    cols = [
        "id",
        "name",
        "department",
        "department_name",
        "section",
        "section_name",
        "email",
        "roles",
        "status",
        "contractor",
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in cols})
