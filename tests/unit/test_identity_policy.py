"""The certificate policy (issue #15 item 1): RSA ≥ 2048 / EC ≥ P-256, SHA-256 or better, enforced
at issuance and by `ca check` — a SHA-1 certificate our own issuing key signed is `weak_signature`,
not `unknown_issuer` — and the same rules handed to Keycloak's JVM."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from govops.errors import ValidationFailed
from identity.pki import CIVIL_SERVANT_POLICY, CertificateAuthority, check_certificate, diagnose, policy

EXT = (
    "basicConstraints=critical,CA:FALSE\n"
    "keyUsage=critical,digitalSignature\n"
    "extendedKeyUsage=clientAuth\n"
    f"certificatePolicies={CIVIL_SERVANT_POLICY}\n"
)


@pytest.fixture
def ca(runtime):
    authority = CertificateAuthority.from_settings(runtime.settings, runtime.box)
    with runtime.transaction() as s:
        authority.init(s, actor="sec")
    return authority


def _builder(public_key) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "王明"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "310116199001011234"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(CIVIL_SERVANT_POLICY), None)]),
            critical=False,
        )
    )


def test_a_1024_bit_key_is_refused_at_issuance_and_by_check(ca, runtime):
    weak = rsa.generate_private_key(65537, 1024)
    with pytest.raises(ValidationFailed, match="certificate policy"):
        ca.sign(_builder(weak.public_key()))
    # made anyway with the issuing key (a mistaken run of some other tool)
    cert = (
        _builder(weak.public_key())
        .issuer_name(ca.issuing.subject)
        .sign(ca.keys.private_key("issuing"), hashes.SHA256())
    )
    problems = diagnose(cert, [ca.issuing])
    assert "weak_key" in problems and "unknown_issuer" not in problems
    with runtime.sessions() as s:
        result = check_certificate(ca, s, cert.public_bytes(serialization.Encoding.PEM))
    assert not result["acceptable"] and "weak_key" in result["problems"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_sha1_certificate_from_our_issuing_key_is_weak_signature(ca, runtime, tmp_path):
    """cryptography cannot sign with SHA-1 any more; `openssl x509 -sha1` still can, which is
    exactly the mistaken run the policy must catch."""
    key = tmp_path / "issuing.key"
    key.write_bytes(
        ca.keys.private_key("issuing").private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (tmp_path / "issuing.pem").write_bytes(ca.issuing.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ext.cnf").write_text(EXT)
    leaf = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "leaf.key").write_bytes(
        leaf.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True, cwd=tmp_path)  # noqa: E731
    run("req", "-new", "-key", "leaf.key", "-subj", "/CN=wang/serialNumber=310116199001011234", "-out", "leaf.csr")
    run(
        "x509", "-req", "-in", "leaf.csr", "-CA", "issuing.pem", "-CAkey", "issuing.key", "-sha1",
        "-days", "30", "-set_serial", "4242", "-extfile", "ext.cnf", "-out", "leaf.pem",
    )  # fmt: skip
    pem = (tmp_path / "leaf.pem").read_bytes()
    assert x509.load_pem_x509_certificate(pem).signature_hash_algorithm.name == "sha1"
    with runtime.sessions() as s:
        result = check_certificate(ca, s, pem)
    assert result["problems"] == ["weak_signature"], result
    assert "SHA-256" in result["reasons"][0]


def test_the_policy_table():
    assert policy.key_acceptable(rsa.generate_private_key(65537, 2048).public_key())
    assert not policy.key_acceptable(rsa.generate_private_key(65537, 1024).public_key())
    assert policy.key_acceptable(ec.generate_private_key(ec.SECP256R1()).public_key())
    assert not policy.key_acceptable(ec.generate_private_key(ec.SECP224R1()).public_key())
    jdk = policy.jdk_disabled_algorithms()
    for rule in ("SHA1", "MD5", "RSA keySize < 2048", "EC keySize < 256"):
        assert rule in jdk
    assert not policy.SM_ACCEPTED  # GM/T 0015 (SM2 with SM3): named, not yet accepted
