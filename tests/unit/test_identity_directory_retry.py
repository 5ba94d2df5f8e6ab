"""Directory import when Keycloak loses an answer or stops answering part-way (a loaded server).

The fake below stands in for Keycloak's admin API only to make its answers get lost on cue; the
import against a real Keycloak (2,000 users, twice) is in tests/integration/test_identity_keycloak.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from govops.audit import AuditRecord
from govops.errors import ServiceUnavailable
from govops.org import Department
from identity import directory
from identity.realm import ID_ATTRIBUTE


class FlakyKeycloak:
    """Partial imports: `lose` names the calls whose users are created but whose answer is lost;
    from call number `gone_from` on, Keycloak answers nothing at all."""

    realm = "civil-servants"

    def __init__(self, lose: set[int] = frozenset(), gone_from: int | None = None) -> None:  # type: ignore[assignment]
        self.lose, self.gone_from, self.calls = lose, gone_from, 0
        self.people: dict[str, dict[str, Any]] = {}

    def group_tree(self) -> list[dict[str, Any]]:
        """The district tree the sample district's departments sit in (`/district/department`)."""
        tree: dict[str, dict[str, Any]] = {}
        for u in self.people.values():
            for path in u.get("groups", []):
                top, name = path.strip("/").split("/")[:2]
                root = tree.setdefault(top, {"id": f"g-{top}", "name": top, "subGroups": []})
                if all(g["name"] != name for g in root["subGroups"]):
                    root["subGroups"].append({"id": f"g-{name}", "name": name, "subGroups": []})
        return list(tree.values())

    def create_group(self, rep: dict[str, Any], parent_id: str | None = None) -> str:
        return f"g-{rep['name']}"

    def users(self) -> list[dict[str, Any]]:
        return list(self.people.values())

    def group_members(self, group_id: str) -> list[dict[str, Any]]:
        name = group_id.removeprefix("g-")
        return [u for u in self.people.values() if any(g.rsplit("/", 1)[1] == name for g in u.get("groups", []))]

    def role_members(self, role: str) -> list[dict[str, Any]]:
        return []

    def find_user(self, username: str) -> dict[str, Any] | None:
        return self.people.get(username)

    def partial_import(self, rep: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.gone_from is not None and self.calls >= self.gone_from:
            raise ServiceUnavailable("Keycloak at https://127.0.0.1:1 did not answer")
        results = []
        for u in rep["users"]:
            action = "SKIPPED" if u["username"] in self.people else "ADDED"
            self.people.setdefault(u["username"], {"id": f"u-{u['username']}", **u})
            results.append({"action": action, "resourceType": "USER", "resourceName": u["username"]})
        if self.calls in self.lose:
            raise ServiceUnavailable("Keycloak: partial import failed: read timed out")
        return {"added": sum(r["action"] == "ADDED" for r in results), "results": results}


def people_file(district, n: int) -> directory.DirectoryFile:
    with district.sessions() as s:
        dept = s.scalars(select(Department)).first()
    assert dept is not None
    rows = [
        directory.CivilServantRow(
            line=i + 2,
            id=f"31011619900101{i:04d}",
            name=f"人员{i}",
            department=dept.code,
            section=None,
            email=None,
            roles=None,
            active=True,
        )
        for i in range(n)
    ]
    return directory.DirectoryFile(departments={}, people=rows)


@pytest.fixture
def fast_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(directory, "BATCH", 4)
    monkeypatch.setattr(directory, "RETRY_PAUSES_S", (0.0, 0.0))


def test_a_lost_answer_is_retried_and_its_users_count_as_created(district, fast_batches) -> None:
    file = people_file(district, 10)
    kc = FlakyKeycloak(lose={2})  # the second batch is created, its answer lost, and sent again
    clash = file.people[9].id.lower()
    kc.people[clash] = {"id": "someone-else", "username": clash, "attributes": {}}
    with district.transaction() as s:
        report = directory.import_directory(s, kc, file, actor="t")  # type: ignore[arg-type]
    assert kc.calls == 4, kc.calls  # batches of 4, 4 (twice) and 2
    assert report.stopped is None
    assert report.created == 9, report.as_dict()
    skipped = [i for i in report.items if i.get("action") == "skipped"]
    assert skipped == [
        {
            "action": "skipped",
            "count": 1,
            "usernames": [clash],
            "reason": "username exists without this civil_servant_id",
        }
    ]
    assert [i["id"] for i in report.items if i.get("action") == "not_created"] == [file.people[9].id]
    assert all(kc.people[p.id.lower()]["attributes"][ID_ATTRIBUTE] == [p.id] for p in file.people[:9])


def test_keycloak_gone_part_way_keeps_what_was_created_and_the_next_import_continues(district, fast_batches) -> None:
    file = people_file(district, 10)
    kc = FlakyKeycloak(gone_from=2)
    with district.transaction() as s:
        report = directory.import_directory(s, kc, file, actor="t")  # type: ignore[arg-type]
    assert kc.calls == 1 + len(directory.RETRY_PAUSES_S) + 1  # the first batch, the second tried three times
    assert report.created == 4 and len(kc.people) == 4
    assert report.stopped and "4 of 10 new users were created" in report.stopped
    assert "run the same import again" in report.stopped
    assert len([i for i in report.items if i.get("action") == "not_created"]) == 6
    with district.sessions() as s:
        event = s.scalars(select(AuditRecord).where(AuditRecord.action == "identity.directory_import")).one()
    assert event.detail["created"] == 4 and event.detail["stopped"] == report.stopped

    kc.gone_from = None
    with district.transaction() as s:
        again = directory.import_directory(s, kc, file, actor="t")  # type: ignore[arg-type]
    assert (again.created, again.unchanged, again.stopped) == (6, 4, None), again.as_dict()
    assert len(kc.people) == 10
