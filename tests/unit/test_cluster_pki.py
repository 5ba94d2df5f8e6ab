"""The cluster CA module (playbooks/roles/cluster_pki/library/cluster_cert.py) as plain functions:
what it makes, and that it re-issues only when what exists no longer says what is asked."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from cryptography import x509

from infra.cluster import PLAYBOOKS

SPEC = importlib.util.spec_from_file_location(
    "cluster_cert", PLAYBOOKS / "roles" / "cluster_pki" / "library" / "cluster_cert.py"
)
assert SPEC is not None and SPEC.loader is not None
cluster_cert = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(cluster_cert)


def params(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "apiserver",
        "kind": "cert",
        "ca": "ca",
        "common_name": "kube-apiserver",
        "organization": [],
        "dns_names": ["kubernetes", "localhost"],
        "ip_addresses": ["10.213.0.11", "127.0.0.1"],
        "usage": "server",
        "days": 365,
        "renew_before_days": 30,
    }
    return {**base, **kw}


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    assert cluster_cert.ensure_ca(tmp_path, params(name="ca", kind="ca", common_name="lab-ca", days=3650))
    return tmp_path


def test_ca_is_made_once_with_a_private_key(pki: Path) -> None:
    assert (pki / "ca.key").stat().st_mode & 0o777 == 0o600
    ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cluster_cert.ensure_ca(pki, params(name="ca", kind="ca", common_name="lab-ca", days=3650))


def test_a_certificate_is_issued_then_left_alone(pki: Path) -> None:
    assert cluster_cert.ensure_cert(pki, params())
    cert = x509.load_pem_x509_certificate((pki / "apiserver.crt").read_bytes())
    ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"kubernetes", "localhost"}
    assert (pki / "apiserver.key").stat().st_mode & 0o777 == 0o600
    assert not cluster_cert.ensure_cert(pki, params())  # same request: unchanged


def test_changed_names_or_groups_re_issue(pki: Path) -> None:
    cluster_cert.ensure_cert(pki, params())
    assert cluster_cert.ensure_cert(pki, params(ip_addresses=["10.213.0.21", "127.0.0.1"]))
    kubelet = params(name="kubelet-client-tgt2", common_name="system:node:tgt2", usage="client", dns_names=[])
    kubelet["ip_addresses"] = []
    assert cluster_cert.ensure_cert(pki, kubelet)
    assert cluster_cert.ensure_cert(pki, {**kubelet, "organization": ["system:nodes"]})
    cert = x509.load_pem_x509_certificate((pki / "kubelet-client-tgt2.crt").read_bytes())
    assert cert.subject.rfc4514_string() == "CN=system:node:tgt2,O=system:nodes"


def test_a_new_ca_re_issues_what_the_old_one_signed(pki: Path) -> None:
    cluster_cert.ensure_cert(pki, params())
    for name in ("ca.crt", "ca.key"):
        (pki / name).unlink()
    cluster_cert.ensure_ca(pki, params(name="ca", kind="ca", common_name="lab-ca", days=3650))
    assert cluster_cert.ensure_cert(pki, params())


def test_service_account_keypair(pki: Path) -> None:
    assert cluster_cert.ensure_keypair(pki, params(name="sa", kind="keypair"))
    assert (pki / "sa.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert not cluster_cert.ensure_keypair(pki, params(name="sa", kind="keypair"))


def test_check_mode_says_what_would_change_and_writes_nothing(tmp_path: Path) -> None:
    assert cluster_cert.ensure_ca(tmp_path, params(name="ca", kind="ca", common_name="lab-ca"), dry=True)
    assert cluster_cert.ensure_cert(tmp_path, params(), dry=True)
    assert cluster_cert.ensure_keypair(tmp_path, params(name="sa", kind="keypair"), dry=True)
    assert list(tmp_path.iterdir()) == []
    cluster_cert.ensure_ca(tmp_path, params(name="ca", kind="ca", common_name="lab-ca"))
    cluster_cert.ensure_cert(tmp_path, params())
    assert not cluster_cert.ensure_cert(tmp_path, params(), dry=True)
    before = (tmp_path / "apiserver.crt").read_bytes()
    assert cluster_cert.ensure_cert(tmp_path, params(dns_names=["kubernetes"]), dry=True)
    assert (tmp_path / "apiserver.crt").read_bytes() == before
