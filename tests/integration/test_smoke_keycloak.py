"""Smoke: the lab Keycloak answers the admin API with the bootstrap admin's token."""

from __future__ import annotations

import secrets

import httpx
import pytest
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakGetError

from tools.lab.keycloak import KeycloakHandle

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
