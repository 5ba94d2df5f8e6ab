"""The console's cloud view against a real kube-apiserver (+ controller-manager, whose quota
controller fills ResourceQuota status): quota used against quota, and the status board's
Kubernetes check (API up, nodes, tenants in sync)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from govops.principal import OPS_ENGINEER, Principal
from tests.conftest import client_as
from tests.fixtures.platform import need

pytestmark = pytest.mark.integration
OPS = Principal("u-ops", "运维工程师", frozenset({OPS_ENGINEER}))


@pytest.fixture(scope="module")
def kube_quota(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tools.lab.kube import start_kube

    handle = need(start_kube, tmp_path_factory.mktemp("kube-console"), controllers=True, kwok_nodes=0)
    with handle.client() as c:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dept-gaj"}}
        assert c.post("/api/v1/namespaces", json=ns).status_code == 201
        quota = {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "tenant-quota", "namespace": "dept-gaj"},
            "spec": {"hard": {"requests.cpu": "16", "requests.memory": "32Gi", "pods": "200"}},
        }
        assert c.post("/api/v1/namespaces/dept-gaj/resourcequotas", json=quota).status_code == 201
        deadline = time.monotonic() + 60  # the quota controller computes `used` on its own
        while time.monotonic() < deadline:
            got = c.get("/api/v1/namespaces/dept-gaj/resourcequotas/tenant-quota").json()
            if (got.get("status") or {}).get("used"):
                break
            time.sleep(0.5)
        assert (got.get("status") or {}).get("used"), got
    yield handle
    handle.stop()


def test_tenants_page_and_status_read_the_cluster(district, kube_quota):
    from gateway.app import create_app
    from monitoring.status.quota_use import tenant_use

    district.settings.kubeconfig = kube_quota.kubeconfig  # type: ignore[attr-defined]
    use = tenant_use(district.settings, ["dept-gaj", "dept-cgj"])
    assert use is not None and use["dept-gaj"]["cpu"]["hard"] == "16" and use["dept-gaj"]["pods"]["ratio"] == 0
    assert use["dept-cgj"] == {}
    app = create_app(district)
    c = client_as(app, OPS)
    page = c.get("/cloud/tenants", headers={"accept": "text/html"}).text
    assert 'data-tenant="gaj"' in page and "0 / 16" in page and "no-cluster" not in page
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        kube = next(s for s in c.get("/api/v1/status").json()["subsystems"] if s["subsystem"] == "kubernetes")
        if kube["state"] != "unknown":
            break
        time.sleep(0.3)
    assert kube["state"] == "warning", kube  # API up, but no node and four tenants not provisioned
    assert kube["facts"]["nodes"] == 0 and "dept-cgj" in kube["facts"]["tenants_missing"]
    assert "dept-gaj" not in kube["facts"]["tenants_missing"]
