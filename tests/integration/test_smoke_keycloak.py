"""Smoke: the lab Keycloak answers the admin API with the bootstrap admin's token."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import httpx
import pytest
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakGetError

from tests.fixtures.platform import need
from tools.lab import keycloak as lab_keycloak
from tools.lab.keycloak import KeycloakHandle
from tools.lab.process import free_port

pytestmark = pytest.mark.integration


def test_admin_token_with_bootstrap_credentials(keycloak: KeycloakHandle) -> None:
    r = httpx.post(
        keycloak.token_url,
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": keycloak.admin_user,
            "password": keycloak.admin_password,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["token_type"].lower() == "bearer"

    bad = httpx.post(
        keycloak.token_url,
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": keycloak.admin_user,
            "password": "not-the-password",
        },
    )
    assert bad.status_code == 401


def test_realm_create_read_delete(keycloak: KeycloakHandle) -> None:
    admin = KeycloakAdmin(
        connection=KeycloakOpenIDConnection(
            server_url=keycloak.base_url,
            username=keycloak.admin_user,
            password=keycloak.admin_password,
            realm_name="master",
            user_realm_name="master",
            client_id="admin-cli",
            verify=True,
        )
    )
    name = f"smoke-{secrets.token_hex(4)}"
    admin.create_realm({"realm": name, "enabled": True, "displayName": "Smoke 冒烟"})
    try:
        realm = admin.get_realm(name)
        assert realm["realm"] == name
        assert realm["enabled"] is True
        assert realm["displayName"] == "Smoke 冒烟"
        assert name in {r["realm"] for r in admin.get_realms()}
    finally:
        admin.delete_realm(name)

    with pytest.raises(KeycloakGetError) as gone:
        admin.get_realm(name)
    assert gone.value.response_code == 404
    assert httpx.get(f"{keycloak.base_url}/realms/{name}").status_code == 404


def test_free_ports_lie_below_the_range_outgoing_connections_take() -> None:
    floor = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(20)]
    assert all(p < floor for p in ports), (floor, ports)


def test_keycloak_starts_again_on_new_ports_when_one_was_taken_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI once lost a run to this: the management port was taken between being picked and bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        picks = iter([free_port(), taken])  # the first launch's http port, then its management port

        def pick() -> int:
            return next(picks, None) or free_port()

        monkeypatch.setattr(lab_keycloak, "free_port", pick)
        handle = need(lab_keycloak.start_keycloak, tmp_path / "kc")
        try:
            assert handle.management_port != taken
            assert httpx.get(handle.health_url).json()["status"] == "UP"
            log = handle.process.log_path.read_text(errors="replace")
            assert "Address already in use" in log  # the first launch did meet the taken port
        finally:
            handle.stop()
