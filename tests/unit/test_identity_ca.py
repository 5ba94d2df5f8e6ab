"""The civil-servant CA: keys sealed at rest, GM/T 0015-style subjects, PKCS#12, revocation, CRL."""

from __future__ import annotations

import datetime as dt
import stat

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select

from gateway.app import create_app
from govops import audit
from govops.errors import Conflict, GovopsError, NotFound, ValidationFailed
from govops.secretbox import SecretBox
from identity.pki import (
    CIVIL_SERVANT_POLICY,
    CertificateAuthority,
    CivilServant,
    check_certificate,
    diagnose,
    new_key,
)
from tests.conftest import client_as

WANG = CivilServant("310116199001011234", "王明", "金山公安分局", "治安支队", "WangMing@jinshan.gov.cn")


@pytest.fixture
def ca(runtime):
    runtime.settings.public_url = "https://govops.jinshan.gov.cn"
    authority = CertificateAuthority.from_settings(runtime.settings, runtime.box)
    with runtime.transaction() as s:
        authority.init(s, actor="sec")
    return authority


def test_keys_are_sealed_at_rest(ca, runtime):
    for which in ("root", "issuing"):
        key = ca.directory / f"{which}.key.pem"
        assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        sealed = (ca.directory / f"{which}.key.pass").read_text()
        assert (
            sealed.startswith("fernet:") and stat.S_IMODE((ca.directory / f"{which}.key.pass").stat().st_mode) == 0o600
        )
    assert stat.S_IMODE(ca.directory.stat().st_mode) == 0o700
    # A copy of the directory without the secret key is useless.
    stranger = CertificateAuthority(ca.directory, SecretBox([Fernet.generate_key()]))
    with pytest.raises(GovopsError, match="cannot be decrypted"), runtime.transaction() as s:
        stranger.issue(s, WANG, actor="x")


def test_init_refuses_to_overwrite(ca, runtime):
    with pytest.raises(Conflict, match="already exists"), runtime.transaction() as s:
        ca.init(s, actor="sec")


def test_two_level_hierarchy(ca):
    assert ca.issuing.issuer == ca.root.subject
    ca.issuing.verify_directly_issued_by(ca.root)
    bc = ca.issuing.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca and bc.path_length == 0


def test_civil_servant_certificate(ca, runtime):
    with runtime.transaction() as s:
        bundle = ca.issue(s, WANG, actor="sec")
    cert = bundle.certificate
    subject = {a.oid: a.value for a in cert.subject}
    assert subject[NameOID.COUNTRY_NAME] == "CN"
    assert subject[NameOID.ORGANIZATION_NAME] == "金山公安分局"
    assert subject[NameOID.ORGANIZATIONAL_UNIT_NAME] == "治安支队"
    assert subject[NameOID.COMMON_NAME] == "王明"
    assert subject[NameOID.SERIAL_NUMBER] == "310116199001011234"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["wangming@jinshan.gov.cn"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert policies[0].policy_identifier.dotted_string == CIVIL_SERVANT_POLICY
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name[0].value == "https://govops.jinshan.gov.cn/pki/issuing.crl"
    days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
    assert days == 730  # two years by default
    cert.verify_directly_issued_by(ca.issuing)
    assert diagnose(cert, [ca.issuing]) == []


def test_pkcs12_needs_its_one_time_password(ca, runtime):
    with runtime.transaction() as s:
        bundle = ca.issue(s, WANG, actor="sec", days=30)
    assert len(bundle.password) == 23 and bundle.password.count("-") == 3
    key, cert, extra = pkcs12.load_key_and_certificates(bundle.pkcs12, bundle.password.encode())
    assert key is not None
    assert cert == bundle.certificate and [c.subject for c in extra] == [ca.issuing.subject, ca.root.subject]
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(bundle.pkcs12, b"wrong")
    # The password is shown once and never stored anywhere.
    with runtime.sessions() as s:
        assert bundle.password not in str([r.as_dict() for r in s.scalars(select(audit.AuditRecord))])
    assert not any(bundle.password.encode() in p.read_bytes() for p in ca.directory.iterdir())


@pytest.mark.parametrize(
    "person, needle",
    [
        (CivilServant("12345", "王明", "公安"), "6-32"),
        (CivilServant("310116199001011234", "", "公安"), "name"),
        (CivilServant("310116199001011234", "王明", "公安", email="not-an-email"), "e-mail"),
        (CivilServant("31011619900101123*", "王明", "公安"), "letters or digits"),
    ],
)
def test_bad_subjects_are_refused(ca, runtime, person, needle):
    with pytest.raises(ValidationFailed, match=needle), runtime.transaction() as s:
        ca.issue(s, person, actor="sec")


def test_revoke_publishes_a_crl(ca, runtime):
    with runtime.transaction() as s:
        keep = ca.issue(s, WANG, actor="sec")
        gone = ca.issue(s, WANG, actor="sec")
        first = ca.current_crl(s)
        assert ca.current_crl(s).number == first.number  # fresh: not re-signed per request
        ca.revoke(s, gone.record.serial, actor="sec", reason="keyCompromise")
        crl_row = ca.current_crl(s)
    assert crl_row.number == first.number + 1 and crl_row.revoked_count == 1
    crl = x509.load_der_x509_crl(crl_row.der)
    assert crl.is_signature_valid(ca.issuing.public_key())
    entry = crl.get_revoked_certificate_by_serial_number(gone.certificate.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    assert crl.get_revoked_certificate_by_serial_number(keep.certificate.serial_number) is None
    assert crl.next_update_utc - crl.last_update_utc >= dt.timedelta(hours=24)
    with runtime.sessions() as s:
        record = check_certificate(ca, s, gone.cert_pem)
        assert record["problems"] == ["revoked"] and not record["acceptable"]
        assert [r.action for r in s.scalars(select(audit.AuditRecord))].count("ca.revoke") == 1


def test_revoke_errors(ca, runtime):
    with runtime.transaction() as s:
        serial = ca.issue(s, WANG, actor="sec").record.serial
        ca.revoke(s, serial, actor="sec", reason="affiliation-changed")
    with pytest.raises(Conflict, match="already revoked"), runtime.transaction() as s:
        ca.revoke(s, serial, actor="sec")
    with pytest.raises(NotFound), runtime.transaction() as s:
        ca.revoke(s, "ABCDEF", actor="sec")
    with runtime.transaction() as s:
        other = ca.issue(s, WANG, actor="sec").record.serial
    with pytest.raises(ValidationFailed, match="reason"), runtime.transaction() as s:
        ca.revoke(s, other, actor="sec", reason="because")
    with runtime.sessions() as s:
        assert {c.status for c in ca.list(s)} == {"revoked", "valid"}


def test_stale_crl_is_re_signed(ca, runtime):
    with runtime.transaction() as s:
        first = ca.current_crl(s)
        first.this_update = first.this_update - dt.timedelta(hours=20)
        first.next_update = first.next_update - dt.timedelta(hours=20)
    with runtime.transaction() as s:
        assert ca.current_crl(s).number == first.number + 1


def _foreign_cert(**kw):
    key = new_key("ecdsa-p256")
    now = dt.datetime.now(dt.UTC)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "other CA"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "310116199001011234"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def test_diagnose_names_every_reason(ca, runtime):
    now = dt.datetime.now(dt.UTC)
    with runtime.transaction() as s:
        expired = ca.issue(s, WANG, actor="sec", not_before=now - dt.timedelta(days=10), days=5)
        future = ca.issue(s, WANG, actor="sec", not_before=now + dt.timedelta(days=10), days=5)
    assert diagnose(expired.certificate, [ca.issuing]) == ["expired"]
    assert diagnose(future.certificate, [ca.issuing]) == ["not_yet_valid"]
    foreign = diagnose(_foreign_cert(), [ca.issuing])
    assert "unknown_issuer" in foreign and "missing_client_auth" in foreign
    with runtime.sessions() as s:
        statuses = {c.serial: c.status for c in ca.list(s)}
    assert statuses[expired.record.serial] == "expired"
    assert statuses[future.record.serial] == "not_yet_valid"


def test_gateway_serves_crl_and_ca_certificates(ca, runtime):
    app = create_app(runtime)
    anonymous = client_as(app, None)
    r = anonymous.get("/pki/issuing.crl")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(r.content)
    assert crl.issuer == ca.issuing.subject and crl.is_signature_valid(ca.issuing.public_key())
    root = anonymous.get("/pki/root.crt")
    assert x509.load_der_x509_certificate(root.content) == ca.root
    assert anonymous.get("/pki/nothing.crt").status_code == 404
    assert b"BEGIN CERTIFICATE" in anonymous.get("/pki/chain.pem").content
