"""Quota use: quantities, ratios, and a clear error when the apiserver cannot be read (the real
apiserver's answer is in tests/integration/test_cloud_pulumi.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from govops.errors import ServiceUnavailable
from infra.provisioning.apiserver import Apiserver, ResourceUse, TenantUsage, quantity
from tools.lab.process import free_port


@pytest.mark.parametrize(
    ("text", "value"),
    [("2", Decimal(2)), ("500m", Decimal("0.5")), ("8Gi", Decimal(8 * 2**30)), ("1.5k", Decimal(1500)), ("0", 0)],
)
def test_quantities(text, value):
    assert quantity(text) == value


def test_bad_quantity_is_a_clear_error():
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        quantity("lots")


def test_near_limit_is_the_highest_ratio():
    use = TenantUsage(
        "dept-gaj",
        (
            ResourceUse("requests.cpu", "4", "3500m"),
            ResourceUse("requests.memory", "8Gi", "1Gi"),
            ResourceUse("services.loadbalancers", "0", "0"),
        ),
    )
    d = use.as_dict()
    assert d["highest_ratio"] == 0.875 and d["near_limit"]
    assert [r["ratio"] for r in d["resources"]] == [0.875, 0.125, None]
    assert not TenantUsage("dept-x", (ResourceUse("pods", "50", "10"),)).as_dict()["near_limit"]


def test_unreachable_apiserver_is_503_with_a_hint(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "current-context": "lab",
                "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "u"}}],
                "clusters": [{"name": "lab", "cluster": {"server": f"https://127.0.0.1:{free_port()}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
            }
        )
    )
    with pytest.raises(ServiceUnavailable, match="did not answer") as exc:
        Apiserver(kubeconfig, timeout=5).quota_usage()
    assert "lab status" in (exc.value.hint or "")
    kubeconfig.write_text("current-context: nowhere\n")
    with pytest.raises(ServiceUnavailable, match="not usable"):
        Apiserver(kubeconfig).quota_usage()
