"""Realm as code (the spec and the diff semantics) and directory file parsing/validation; the
apply against a real Keycloak is in tests/integration/test_identity_keycloak.py."""

from __future__ import annotations

import json

import pytest

from govops.errors import ValidationFailed
from govops.org import Department
from govops.principal import ROLES
from identity import directory
from identity.pki import CIVIL_SERVANT_POLICY
from identity.realm import (
    BROWSER_FLOW,
    DIRECT_GRANT_FLOW,
    apply_and_audit,
    build_spec,
    differences,
    load_overlay,
    spec_from_settings,
    x509_config,
)


def test_spec_from_the_department_table(district, tmp_path):
    district.settings.public_url = "https://govops.jinshan.gov.cn"
    overlay = tmp_path / "realm.yaml"
    overlay.write_text(
        "district: {code: '310116', name: 上海市金山区}\n"
        "departments: [{code: gaj, name: 金山公安分局, sections: [{code: zhian, name: 治安支队}]}]\n",
        encoding="utf-8",
    )
    with district.sessions() as s:
        spec = spec_from_settings(district.settings, s, load_overlay(overlay))
    assert set(spec.roles) == set(ROLES)
    district_group = spec.groups[0]
    assert district_group.name == "310116" and district_group.display_name == "上海市金山区"
    gaj = next(g for g in district_group.children if g.name == "gaj")
    assert [c.name for c in gaj.children] == ["zhian"]
    assert {g.name for g in spec.groups[1].children} == {"zongzhi", "gongan"}
    assert spec.bindings == {"browserFlow": BROWSER_FLOW, "directGrantFlow": DIRECT_GRANT_FLOW}
    cfg = spec.flows[1].steps[0].config
    assert cfg["x509-cert-auth.crl-relative-path"] == "https://govops.jinshan.gov.cn/pki/issuing.crl"
    assert spec.clients[0]["redirectUris"] == ["https://govops.jinshan.gov.cn/login/callback"]
    assert spec.settings["bruteForceProtected"] is True and spec.settings["eventsEnabled"] is True


def test_x509_maps_serialnumber_and_requires_our_policy():
    cfg = x509_config("https://g/pki/issuing.crl")
    assert cfg["x509-cert-auth.regular-expression"] == "SERIALNUMBER=([0-9A-Za-z]+)"
    assert cfg["x509-cert-auth.mapper-selection.user-attribute-name"] == "civil_servant_id"
    assert cfg["x509-cert-auth.extendedkeyusage"] == "1.3.6.1.5.5.7.3.2"
    assert cfg["x509-cert-auth.certificate-policy"] == CIVIL_SERVANT_POLICY
    assert cfg["x509-cert-auth.crl-checking-enabled"] == "true"


def test_differences_compare_declared_fields_only():
    assert differences({"a": 1, "b": True, "c": ["x", "y"]}, {"a": "1", "b": "true", "c": ["y", "x"], "extra": 5}) == {}
    assert differences({"cfg": {"k": "v"}}, {"cfg": {"k": "v", "added": "by keycloak"}}) == {}
    assert differences({"cfg": {"k": "v"}}, {"cfg": {"k": "w"}}) == {"cfg": [{"k": "w"}, {"k": "v"}]}
    assert differences({"required": None}, {"required": {"roles": ["user"]}})


def test_overlay_with_unknown_department_is_refused(district, tmp_path):
    overlay = tmp_path / "realm.yaml"
    overlay.write_text("departments: [{code: ghost, name: 幽灵局}]\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="ghost"), district.sessions() as s:
        spec_from_settings(district.settings, s, load_overlay(overlay))
    overlay.write_text("- not a mapping\n")
    with pytest.raises(ValidationFailed, match="not a mapping"):
        load_overlay(overlay)


# -- directory files -------------------------------------------------------------------------

KNOWN = {"gaj": Department(code="gaj", name="金山公安分局", sso_group="/310116/gaj")}


def test_csv_and_json_parse_alike(tmp_path):
    csv_file = tmp_path / "people.csv"
    csv_file.write_bytes(
        "\ufeffid,name,department,section,section_name,email,roles,status\n"
        "310116199001011234,王明,gaj,zhian,治安支队,W@X.CN,dept-admin;auditor,active\n"
        "J00000002,李娜,gaj,,,,,inactive\n".encode()
    )
    parsed = directory.parse(csv_file)
    json_file = tmp_path / "people.json"
    json_file.write_text(
        json.dumps(
            {
                "departments": [{"code": "gaj", "name": "", "sections": [{"code": "zhian", "name": "治安支队"}]}],
                "civil_servants": [
                    {
                        "id": "310116199001011234",
                        "name": "王明",
                        "department": "gaj",
                        "section": "zhian",
                        "email": "w@x.cn",
                        "roles": ["dept-admin", "auditor"],
                    },
                    {"id": "j00000002", "name": "李娜", "department": "gaj", "roles": [], "status": "inactive"},
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    from_json = directory.parse(json_file)
    for f in (parsed, from_json):
        assert [p.id for p in f.people] == ["310116199001011234", "J00000002"]
        assert f.people[0].roles == ["dept-admin", "auditor"] and f.people[0].email == "w@x.cn"
        assert f.people[0].section == "zhian" and f.people[1].active is False
        assert f.departments["gaj"].sections["zhian"].name == "治安支队"
        assert directory.validate(f, KNOWN) == []


def test_csv_without_roles_column_leaves_roles_alone(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("id,name,department\n310116199001011234,王明,gaj\n", encoding="utf-8")
    assert directory.parse(f).people[0].roles is None


def test_every_bad_row_is_reported(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text(
        "id,name,department,email,roles\n"
        "123,王明,gaj,,\n"
        "310116199001011234,王(明),gaj,,\n"
        "310116199001011234,王明,gaj,,\n"
        "J00000003,李娜,ghost,,\n"
        "J00000004,张伟,gaj,not-mail,\n"
        "J00000005,赵敏,gaj,,root\n",
        encoding="utf-8",
    )
    errors = directory.validate(directory.parse(f), KNOWN)
    text = "\n".join(errors)
    for needle in (
        "row 2: ID '123'",
        "row 3: name",
        "repeats row 3",
        "department 'ghost' is new",
        "e-mail 'not-mail'",
        "unknown role(s) root",
    ):
        assert needle in text, (needle, text)


def test_missing_columns_and_bad_json(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("name,department\n王明,gaj\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="id"):
        directory.parse(f)
    j = tmp_path / "p.json"
    j.write_text("{not json")
    with pytest.raises(ValidationFailed, match="not valid JSON"):
        directory.parse(j)


def test_invalid_file_changes_nothing(district, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("id,name,department\n123,王明,gaj\n", encoding="utf-8")

    class Untouchable:
        realm = "civil-servants"

        def __getattr__(self, name):
            raise AssertionError(f"Keycloak was called ({name}) for an invalid file")

    with pytest.raises(ValidationFailed, match="nothing was changed"), district.transaction() as s:
        directory.import_directory(s, Untouchable(), directory.parse(f), actor="t")  # type: ignore[arg-type]


def test_directory_refuses_a_person_with_two_separated_roles(district, tmp_path):
    """MLPS 三员分立: ops-engineer, sec-admin and auditor are never one person's (issue #15)."""
    f = tmp_path / "all-three.csv"
    f.write_text(
        "id,name,department,roles\n"
        "310116199001011234,王明,gaj,ops-engineer;sec-admin;auditor\n"
        "310116198502023456,李娜,gaj,ops-engineer;dept-admin\n",
        encoding="utf-8",
    )
    known = {"gaj": object()}
    errors = directory.validate(directory.parse(f), known)  # type: ignore[arg-type]
    assert len(errors) == 1 and "row 2" in errors[0] and "三员分立" in errors[0]
    assert "ops-engineer + sec-admin + auditor" in errors[0]


def test_every_real_apply_is_audited_even_without_changes(district, monkeypatch):
    """One rule for the API and the CLI (issue #11): a real apply is always in the audit log,
    with how many changes it made; a dry run is not (it changes nothing)."""
    from govops import audit
    from identity.realm import reconcile

    monkeypatch.setattr(reconcile, "plan", lambda kc, spec: [])
    spec = build_spec(realm="civil-servants", departments=[], crl_url=None, gateway_redirect_uris=[])
    with district.transaction() as s:
        result = apply_and_audit(s, object(), spec, actor="cli:ops")  # type: ignore[arg-type]
        dry = apply_and_audit(s, object(), spec, actor="cli:ops", dry_run=True)  # type: ignore[arg-type]
    assert result.changed == 0 and result.converged and result.summary.startswith("no changes")
    assert dry.dry_run and result.as_dict()["realm"] == "civil-servants"
    with district.sessions() as s:
        records = [r for r in s.query(audit.AuditRecord).all() if r.action == "identity.realm_apply"]
    assert len(records) == 1 and records[0].actor == "cli:ops" and records[0].detail["changed"] == 0


def test_contractor_column_is_parsed_and_checked(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text(
        "id,name,department,roles,contractor\n"
        "J00000011,运维甲,gaj,contractor,c-tech\n"
        "J00000012,王明,gaj,dept-admin,\n"
        "J00000013,李娜,gaj,dept-admin,c-tech\n"
        "J00000014,张伟,gaj,contractor,Bad Code\n",
        encoding="utf-8",
    )
    parsed = directory.parse(f)
    assert [p.contractor for p in parsed.people] == ["c-tech", None, "c-tech", "Bad Code"]
    text = "\n".join(directory.validate(parsed, KNOWN))
    assert "row 4: a contractor code needs the contractor role" in text
    assert "row 5: contractor code 'Bad Code'" in text
    assert "row 2" not in text and "row 3" not in text
    j = tmp_path / "p.json"
    j.write_text(
        '{"civil_servants": [{"id": "J00000011", "name": "运维甲", "department": "gaj", "contractor": "c-tech"}]}'
    )
    assert directory.parse(j).people[0].contractor == "c-tech"


def test_a_realm_created_meanwhile_is_updated_not_an_error():
    """A loaded Keycloak may create the realm and lose the answer: the retried create gets a 409,
    and the apply goes on by setting the realm's settings."""
    from govops.errors import Conflict
    from identity.realm.planner import RealmPlanner

    calls: list[str] = []

    class Keycloak:
        def get_realm(self):
            return None

        def create_realm(self, rep):
            calls.append("create")
            raise Conflict("Keycloak: create realm: conflict (Conflict detected)")

        def update_realm(self, rep):
            calls.append(f"update {rep['displayName']}")

    spec = build_spec(realm="civil-servants", departments=[], crl_url=None, gateway_redirect_uris=[])
    planner = RealmPlanner(Keycloak(), spec)  # type: ignore[arg-type]
    first = planner._realm(None)
    assert [c.action for c in first] == ["create"]
    first[0].op()
    assert calls == ["create", f"update {spec.display_name}"]
