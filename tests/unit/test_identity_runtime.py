"""One composition root for identity (issue #11): the runtime builds the CA and the Keycloak admin
adapter once, even when the first requests arrive together, and the adapter connects lazily."""

from __future__ import annotations

import threading

import pytest
from pydantic import SecretStr

from govops.errors import ConfigError
from tools.lab.process import free_port


def _at_once(n, fn):
    barrier, out = threading.Barrier(n), []

    def run():
        barrier.wait()
        out.append(fn())

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == n
    return out


def test_one_ca_and_one_keycloak_adapter_per_runtime(runtime):
    with pytest.raises(ConfigError, match="Keycloak is not configured"):
        runtime.keycloak  # noqa: B018 - the property is the call under test
    assert not runtime.keycloak_admin_configured
    runtime.settings.keycloak_url = f"http://127.0.0.1:{free_port()}"  # nobody there: built, not connected
    runtime.settings.keycloak_admin_user = "admin"
    runtime.settings.keycloak_admin_password = SecretStr("x-secret-1")
    assert runtime.keycloak_admin_configured
    adapters = _at_once(8, lambda: runtime.keycloak)
    assert len({id(a) for a in adapters}) == 1
    cas = _at_once(8, lambda: runtime.ca)
    assert len({id(c) for c in cas}) == 1
