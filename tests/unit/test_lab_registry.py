"""The lab's component model: dependencies first, steps passed by the caller, failures recorded."""

from __future__ import annotations

from pathlib import Path

from tools.lab import registry


def test_dependencies_come_first_in_start_order() -> None:
    assert registry.with_dependencies(["cameras"]) == [
        "postgres", "pki", "keycloak", "realm", "gateway", "rtsp", "onvif", "cameras",
    ]  # fmt: skip
    assert registry.with_dependencies(["prometheus"])[-3:] == ["gateway", "alertmanager", "prometheus"]
    assert registry.with_dependencies(list(registry.NAMES)) == list(registry.NAMES)
    for name, needs in registry.DEPENDS.items():
        assert all(registry.NAMES.index(n) < registry.NAMES.index(name) for n in needs)


def test_a_step_records_done_or_its_one_line_error(tmp_path: Path) -> None:
    calls = []

    def ok(lab: registry.Lab) -> dict[str, object]:
        calls.append(lab.details("postgres"))
        return {"x": 1}

    lab = registry.Lab(tmp_path, steps={"pki": ok})
    lab._save({"postgres": {"state": "done", "details": {"database": "here"}}})
    rows = {r["component"]: r for r in lab.up(["pki"])}
    assert rows["pki"]["state"] == "done" and rows["pki"]["details"] == {"x": 1} and calls == [{"database": "here"}]

    def boom(lab: registry.Lab) -> dict[str, object]:
        raise RuntimeError("no realm\nsecond line")

    lab = registry.Lab(tmp_path, steps={"realm": boom})
    state = lab._load()
    state["keycloak"] = {"state": "done"}
    lab._save(state)
    row = next(r for r in lab.up(["realm"]) if r["component"] == "realm")
    assert row == {"component": "realm", "state": "failed", "health": "-", "error": "RuntimeError: no realm"}


def test_a_component_whose_dependency_failed_says_so(tmp_path: Path) -> None:
    lab = registry.Lab(tmp_path)  # no steps passed: pki fails, the rest names what it needs
    lab._save({"postgres": {"state": "done"}})
    rows = {r["component"]: r for r in lab.up(["keycloak"])}
    assert "the caller must pass" in rows["pki"]["error"]
    assert rows["keycloak"]["error"] == "needs pki, which did not start"
    assert not registry.all_healthy(list(rows.values()))
    assert lab.pids() == []


def test_down_forgets_the_reserved_ports(tmp_path: Path) -> None:
    lab = registry.Lab(tmp_path)
    assert lab.address("prometheus") is None  # nothing reserved: the gateway is not told of one
    ports = {name: lab.reserve(name) for name in registry.RESERVED}
    assert lab.gateway == ports["gateway"] and len(set(ports.values())) == len(ports)
    lab2 = registry.Lab(tmp_path)
    assert {name: lab2.reserve(name) for name in registry.RESERVED} == ports  # the same until down
    assert lab2.address("alertmanager") == ports["alertmanager"]
    lab2.down()
    assert not list(tmp_path.glob("*.port")) and lab2.address("prometheus") is None
