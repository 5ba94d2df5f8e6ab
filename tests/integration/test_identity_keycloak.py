"""Unified identity against the real Keycloak 26 (one instance for the module).

The lab: our CA (root + issuing) issues Keycloak's HTTPS certificate and the civil servants'
certificates; Keycloak runs with mTLS on its HTTPS port trusting our CA; the gateway runs as a
real HTTP server (Keycloak fetches the CRL from it); the realm comes from `identity apply`, the
people from a directory import.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from gateway.app import create_app
from gateway.runtime import Runtime
from gateway.sample_district import DEPARTMENTS, DISTRICT
from govops.errors import Unauthenticated
from govops.org import Department
from govops.principal import CONTRACTOR, DEPT_ADMIN, OPS_ENGINEER
from govops.settings import Settings, load_settings
from identity import directory, realm
from identity.keycloak_adapter import (
    ClientCertificateRefused,
    KeycloakAdapter,
    OidcEndpoints,
    tls_context,
    token_request,
)
from identity.login import CertificateLoginRefused, certificate_login, pkce_pair
from identity.pki import CertificateAuthority, CivilServant, new_key, policy
from monitoring.workorders import contractors
from monitoring.workorders.models import WorkOrder
from tests.conftest import cli_role_env
from tests.fixtures.platform import need
from tests.support.lossy_proxy import lossy_proxy
from tools.lab.keycloak import KeycloakHandle, KeycloakTLS, start_keycloak
from tools.lab.pki import make_lab_pki
from tools.lab.process import free_port

pytestmark = pytest.mark.integration

PEOPLE = [
    # id, name, department, section, roles
    ("310116199001011234", "王明", "gaj", "zhian", ["dept-admin"]),
    ("310116198502023456", "李娜", "cgj", None, ["dept-admin"]),
    ("31011619800303345X", "张伟", "dsjj", None, ["ops-engineer"]),
    ("J00000004", "赵敏", "gaj", None, []),
]


@dataclass
class Lab:
    root: Path
    settings: Settings
    runtime: Runtime
    ca: CertificateAuthority
    keycloak: KeycloakHandle
    kc: KeycloakAdapter
    endpoints: OidcEndpoints
    gateway: str
    trust: Path
    certs: dict[str, tuple[Path, Path]]
    serials: dict[str, str]

    def login(self, who: str) -> str:
        cert, key = self.certs[who]
        return certificate_login(self.endpoints, cert, key, ca_file=self.trust).access_token

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.gateway, headers=headers, timeout=30)


def _write_pem(d: Path, name: str, chain_pem: bytes, key_pem: bytes) -> tuple[Path, Path]:
    (d / f"{name}.crt").write_bytes(chain_pem)
    (d / f"{name}.key").write_bytes(key_pem)
    (d / f"{name}.key").chmod(0o600)
    return d / f"{name}.crt", d / f"{name}.key"


def _odd_certificate(ca: CertificateAuthority, person: CivilServant, *, eku: bool) -> tuple[bytes, bytes]:
    """Signed by our issuing CA with the right key usage and policy, but no EKU at all."""
    from identity.pki import CIVIL_SERVANT_POLICY

    key = new_key("ecdsa-p256")
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(person.subject())
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(CIVIL_SERVANT_POLICY), None)]),
            critical=False,
        )
    )
    assert not eku
    cert = ca.sign(b)
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca.issuing.public_bytes(serialization.Encoding.PEM)
    return chain, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _weak_certificate(ca: CertificateAuthority, person: CivilServant, d: Path, kind: str) -> tuple[Path, Path]:
    """Signed by our own issuing key, complete in every other way, but against the policy: a
    1024-bit RSA key, or a SHA-1 signature (cryptography no longer signs SHA-1, so that one is
    made the way a mistaken operator would: `openssl x509 -sha1`)."""
    from identity.pki import CIVIL_SERVANT_POLICY

    issuing_key = ca.keys.private_key("issuing")
    key = rsa.generate_private_key(65537, 1024) if kind == "rsa_1024" else new_key("ecdsa-p256")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    if kind == "rsa_1024":
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(person.subject())
            .issuer_name(ca.issuing.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, True, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(
                x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(CIVIL_SERVANT_POLICY), None)]),
                critical=False,
            )
            .sign(issuing_key, hashes.SHA256())
        )
        leaf = cert.public_bytes(serialization.Encoding.PEM)
    else:
        work = d / "sha1"
        work.mkdir(parents=True, exist_ok=True)
        (work / "issuing.key").write_bytes(
            issuing_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        (work / "issuing.pem").write_bytes(ca.issuing.public_bytes(serialization.Encoding.PEM))
        (work / "leaf.key").write_bytes(key_pem)
        (work / "ext.cnf").write_text(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n"
            f"extendedKeyUsage=clientAuth\ncertificatePolicies={CIVIL_SERVANT_POLICY}\n"
        )
        subject = "/C=CN/O=金山公安分局/OU=治安支队/CN=王明/serialNumber=" + person.id

        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=work)

        openssl("req", "-new", "-utf8", "-key", "leaf.key", "-subj", subject, "-out", "leaf.csr")
        openssl(
            "x509", "-req", "-in", "leaf.csr", "-CA", "issuing.pem", "-CAkey", "issuing.key", "-sha1",
            "-days", "30", "-set_serial", str(x509.random_serial_number()), "-extfile", "ext.cnf",
            "-out", "leaf.pem",
        )  # fmt: skip
        leaf = (work / "leaf.pem").read_bytes()
    return _write_pem(d, kind, leaf + ca.issuing.public_bytes(serialization.Encoding.PEM), key_pem)


def _foreign_certificate(d: Path) -> tuple[Path, Path]:
    """Another CA's client certificate with the same SERIALNUMBER as 王明."""
    files = make_lab_pki(d / "foreign")
    ca_key = serialization.load_pem_private_key(files["ca.key"].read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(files["ca.crt"].read_bytes())
    key = new_key("ecdsa-p256")
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "王明"), x509.NameAttribute(NameOID.SERIAL_NUMBER, PEOPLE[0][0])]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=5))
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # type: ignore[arg-type]
    return _write_pem(
        d,
        "foreign",
        cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("identity")
    pki = root / "pki"
    pki.mkdir()
    gw_port = free_port()
    gateway = f"http://127.0.0.1:{gw_port}"
    settings = load_settings(data_dir=root / "data", environment="test", public_url=gateway)
    runtime = Runtime.build(settings)
    runtime.migrate()
    with runtime.transaction() as s:
        for code, name, zone in DEPARTMENTS:
            s.add(Department(code=code, name=name, sso_group=f"/{DISTRICT[0]}/{code}", zone=zone))
    ca = CertificateAuthority.from_settings(settings, runtime.box)
    with runtime.transaction() as s:
        ca.init(s, actor="test")
        server = ca.issue_server(s, ["127.0.0.1", "localhost"], actor="test")
    server_crt, server_key = _write_pem(pki, "keycloak-server", server.chain_pem, server.key_pem)
    trust = pki / "trust.pem"
    trust.write_bytes(ca.chain_pem())

    # The platform's certificate policy reaches Keycloak's TLS layer through the JDK (issue #15).
    java_security = {"jdk.certpath.disabledAlgorithms": policy.jdk_disabled_algorithms()}
    handle = need(
        lambda: start_keycloak(
            root / "keycloak", tls=KeycloakTLS(server_crt, server_key, trust), java_security=java_security
        )
    )
    assert handle.https_url
    settings.keycloak_url = handle.https_url
    settings.keycloak_admin_url = handle.base_url
    settings.keycloak_admin_user = handle.admin_user
    settings.keycloak_admin_password = SecretStr(handle.admin_password)
    settings.keycloak_ca_file = trust

    app = create_app(runtime)
    server_cfg = uvicorn.Config(app, host="127.0.0.1", port=gw_port, log_level="warning")
    web = uvicorn.Server(server_cfg)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not web.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert web.started, "the gateway did not start"

    try:
        kc = KeycloakAdapter.from_settings(settings)
        with runtime.sessions() as s:
            spec = realm.spec_from_settings(
                settings,
                s,
                {
                    "departments": [
                        {"code": "gaj", "name": "金山公安分局", "sections": [{"code": "zhian", "name": "治安支队"}]}
                    ]
                },
            )
        first = realm.apply(kc, spec)
        assert first["changed"] > 10 and not first["remaining"], first
        people = directory.DirectoryFile(
            departments={},
            people=[
                directory.CivilServantRow(
                    line=i,
                    id=pid,
                    name=name,
                    department=dept,
                    section=section,
                    email=f"{pid.lower()}@jinshan.gov.cn",
                    roles=roles,
                    active=True,
                )
                for i, (pid, name, dept, section, roles) in enumerate(PEOPLE, 1)
            ],
        )
        with runtime.transaction() as s:
            report = directory.import_directory(s, kc, people, actor="test")
        assert report.created == len(PEOPLE), report.as_dict()

        certs: dict[str, tuple[Path, Path]] = {}
        serials: dict[str, str] = {}
        names = {"wang": 0, "li": 1, "zhang": 2, "zhao": 3}
        dept_names = dict((c, n) for c, n, _ in DEPARTMENTS)
        now = dt.datetime.now(dt.UTC)
        with runtime.transaction() as s:
            for short, i in names.items():
                pid, name, dept, section, _ = PEOPLE[i]
                b = ca.issue(s, CivilServant(pid, name, dept_names[dept], section), actor="test")
                certs[short] = _write_pem(pki, short, b.chain_pem, b.key_pem)
                serials[short] = b.record.serial
            wang = CivilServant(PEOPLE[0][0], "王明", "金山公安分局", "治安支队")
            b = ca.issue(s, wang, actor="test", not_before=now - dt.timedelta(days=10), days=5)
            certs["expired"] = _write_pem(pki, "expired", b.chain_pem, b.key_pem)
            b = ca.issue(s, wang, actor="test", not_before=now + dt.timedelta(days=3), days=30)
            certs["not_yet_valid"] = _write_pem(pki, "not_yet_valid", b.chain_pem, b.key_pem)
            b = ca.issue(s, CivilServant("J99999999", "无名氏", "金山公安分局"), actor="test")
            certs["unknown_serialnumber"] = _write_pem(pki, "unknown", b.chain_pem, b.key_pem)
            b = ca.issue(s, CivilServant("J00000004", "赵敏", "金山公安分局"), actor="test")
            certs["zhao_second"] = _write_pem(pki, "zhao_second", b.chain_pem, b.key_pem)
            serials["zhao_second"] = b.record.serial
        certs["no_client_auth_eku"] = _write_pem(pki, "noeku", *_odd_certificate(ca, wang, eku=False))
        certs["other_ca"] = _foreign_certificate(pki)
        certs["rsa_1024"] = _weak_certificate(ca, wang, pki, "rsa_1024")
        certs["sha1"] = _weak_certificate(ca, wang, pki, "sha1")
        yield Lab(
            root,
            settings,
            runtime,
            ca,
            handle,
            kc,
            OidcEndpoints(handle.https_url, settings.keycloak_realm),
            gateway,
            trust,
            certs,
            serials,
        )
    finally:
        web.should_exit = True
        thread.join(timeout=15)
        handle.stop()


def _cli(lab: Lab, *args: str) -> tuple[int, str, str]:
    """The real `govops` command (console-script entry) against the lab, in a subprocess."""
    env = {
        **os.environ,
        "GOVOPS_DATA_DIR": str(lab.settings.data_dir),
        "GOVOPS_PUBLIC_URL": lab.gateway,
        "GOVOPS_KEYCLOAK_URL": lab.keycloak.https_url or "",
        "GOVOPS_KEYCLOAK_ADMIN_URL": lab.keycloak.base_url,
        "GOVOPS_KEYCLOAK_ADMIN_USER": lab.keycloak.admin_user,
        "GOVOPS_KEYCLOAK_ADMIN_PASSWORD": lab.keycloak.admin_password,
        "GOVOPS_KEYCLOAK_CA_FILE": str(lab.trust),
        "GOVOPS_ENVIRONMENT": "test",
        **cli_role_env(args),
    }
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, out.stdout, out.stderr


# -- realm as code ---------------------------------------------------------------------------


def test_realm_apply_is_idempotent_and_diffs_drift(lab: Lab) -> None:
    code, out, _ = _cli(lab, "identity", "apply", "--json")
    result = json.loads(out)
    assert code == 0 and result["changed"] == 0 and result["changes"] == []
    assert result["summary"].startswith("no changes")

    lab.kc.update_realm({"failureFactor": 30, "accessTokenLifespan": 3600})  # someone clicked
    code, out, _ = _cli(lab, "identity", "diff", "--json")
    diff = json.loads(out)
    assert (
        code == 0
        and diff["dry_run"]
        and diff["lines"] == ["~ realm civil-servants (failureFactor, accessTokenLifespan)"]
    )
    assert diff["changes"][0]["fields"]["failureFactor"] == {"current": 30, "desired": 5}
    assert (lab.kc.get_realm() or {})["failureFactor"] == 30  # dry run changed nothing
    code, out, _ = _cli(lab, "identity", "apply", "--json")
    assert json.loads(out)["changed"] == 1
    status = json.loads(_cli(lab, "identity", "status", "--json")[1])
    assert status["summary"] == "in sync with its definition" and status["keycloak_version"].startswith("26.")
    assert status["browser_flow"] == "x509-browser" and status["direct_grant_flow"] == "x509-direct-grant"
    # password login exists only for the break-glass account, which must enrol OTP first
    breakglass = lab.kc.find_user("breakglass-ops")
    assert breakglass and "CONFIGURE_TOTP" in breakglass["requiredActions"]
    assert "ops-engineer" in {r["name"] for r in lab.kc.user_realm_roles(breakglass["id"])}


# -- X.509 login -----------------------------------------------------------------------------


def test_x509_direct_grant_carries_roles_and_department(lab: Lab) -> None:
    token = lab.login("wang")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == lab.endpoints.issuer and "govops-gateway" in claims["aud"]
    assert DEPT_ADMIN in claims["realm_access"]["roles"]
    assert claims["groups"] == ["/310116/gaj/zhian"] and claims["civil_servant_id"] == PEOPLE[0][0]
    with lab.api(token) as c:
        me = c.get("/api/v1/whoami").json()
    assert me["department"] == "gaj" and me["roles"] == [DEPT_ADMIN] and me["name"] == "王明"
    ops = jwt.decode(lab.login("zhang"), options={"verify_signature": False})
    assert OPS_ENGINEER in ops["realm_access"]["roles"] and ops["groups"] == ["/310116/dsjj"]
    # and through the CLI
    cert, key = lab.certs["li"]
    code, out, _ = _cli(lab, "identity", "login", "--cert", str(cert), "--key", str(key), "--json")
    assert code == 0 and json.loads(out)["groups"] == ["/310116/cgj"]


def test_a_contractors_real_token_shows_only_its_orders(lab: Lab) -> None:
    """Issue #12: the contractor code (运维单位) comes from the realm (a user attribute only
    admins edit, mapped into the token), and the gateway scopes work orders by it; a contractor
    whose token lacks it sees none (deny, not all)."""
    now = dt.datetime.now(dt.UTC)
    with lab.runtime.transaction() as s:
        for code in ("c1", "c2"):
            contractors.add_contractor(s, code, f"运维单位 {code}", None, actor="test")
        for i in range(6):
            s.add(
                WorkOrder(
                    camera_id=f"3101160000132600{i:04d}",
                    camera_name=f"摄像机 {i}",
                    area_code="310116001",
                    contractor_code="c1" if i % 2 else "c2",
                    state="open",
                    fault="offline",
                    verdict="offline",
                    sla_hours=48,
                    opened_at=now,
                    due_at=now + dt.timedelta(hours=48),
                )
            )
    profile = {a["name"]: a for a in lab.kc.user_profile()["attributes"]}
    assert profile[realm.CONTRACTOR_ATTRIBUTE]["permissions"]["edit"] == ["admin"]
    # the contractor's staff come from the organisation directory, its `contractor` column included
    staff = (("C00000001", "运维甲", "c1"), ("C00000002", "运维乙", None))
    rows = [
        directory.CivilServantRow(
            line=i,
            id=pid,
            name=name,
            department="gaj",
            section=None,
            email=None,
            roles=[CONTRACTOR],
            active=True,
            contractor=code,
        )
        for i, (pid, name, code) in enumerate(staff, 1)
    ]
    with lab.runtime.transaction() as s:
        report = directory.import_directory(s, lab.kc, directory.DirectoryFile({}, rows), actor="test")
    assert report.created == 2, report.as_dict()
    assert [u["username"] for u in lab.kc.find_users_by_attribute(realm.CONTRACTOR_ATTRIBUTE, "c1")] == ["c00000001"]
    tokens = {}
    for pid, name, _code in staff:
        with lab.runtime.transaction() as s:
            b = lab.ca.issue(s, CivilServant(pid, name, "金山公安分局"), actor="test")
        cert, key = _write_pem(lab.root / "pki", pid, b.chain_pem, b.key_pem)
        tokens[pid] = certificate_login(lab.endpoints, cert, key, ca_file=lab.trust).access_token
    claims = jwt.decode(tokens["C00000001"], options={"verify_signature": False})
    assert claims["contractor"] == "c1" and CONTRACTOR in claims["realm_access"]["roles"]
    assert "contractor" not in jwt.decode(tokens["C00000002"], options={"verify_signature": False})
    with lab.api(tokens["C00000001"]) as c:
        assert c.get("/api/v1/whoami").json()["contractor"] == "c1"
        mine = c.get("/api/v1/workorders").json()["items"]
    assert len(mine) == 3 and {o["contractor"] for o in mine} == {"c1"}
    with lab.api(tokens["C00000002"]) as c:
        r = c.get("/api/v1/workorders")
    assert r.status_code == 200 and r.json()["items"] == []


@pytest.mark.parametrize(
    "case, stage, reason",
    [
        ("expired", "tls", "expired"),
        ("not_yet_valid", "tls", "not_yet_valid"),
        ("other_ca", "tls", "unknown_issuer"),
        ("no_client_auth_eku", "keycloak", "Extended key usage extension is expected"),
        ("unknown_serialnumber", "keycloak", "Invalid user credentials"),
    ],
)
def test_bad_certificates_are_refused_with_a_reason(lab: Lab, case: str, stage: str, reason: str) -> None:
    cert, key = lab.certs[case]
    with pytest.raises(CertificateLoginRefused) as refused:
        certificate_login(lab.endpoints, cert, key, ca_file=lab.trust)
    assert refused.value.stage == stage
    assert any(reason in r for r in refused.value.reasons), refused.value.reasons


@pytest.mark.parametrize("case, problem", [("rsa_1024", "weak_key"), ("sha1", "weak_signature")])
def test_weak_certificates_from_our_own_ca_key_get_no_token(lab: Lab, case: str, problem: str) -> None:
    """Issue #15 item 1: Keycloak used to issue a token for these. Our client lowers its own
    OpenSSL security level so that it offers the certificate: Keycloak's JVM must not take it (the
    policy's jdk.certpath.disabledAlgorithms), and `govops ca check` names why."""
    cert, key = lab.certs[case]
    ctx = ssl.create_default_context(cafile=str(lab.trust))
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.load_cert_chain(str(cert), str(key))
    with pytest.raises(Unauthenticated) as refused:
        token_request(
            lab.endpoints, {"grant_type": "password", "client_id": "govops-cli", "scope": "openid"}, verify=ctx
        )
    # 1024-bit: the handshake fails; SHA-1: Keycloak's CertificateRequest no longer offers SHA-1
    # signatures, so the certificate never counts ("X509 client certificate is missing").
    assert isinstance(refused.value, ClientCertificateRefused) or "certificate is missing" in refused.value.message
    code, out, _ = _cli(lab, "ca", "check", str(cert), "--json")
    checked = json.loads(out)
    assert code == 1 and problem in checked["problems"] and "unknown_issuer" not in checked["problems"], checked


def test_unknown_serialnumber_is_in_keycloaks_events(lab: Lab) -> None:
    cert, key = lab.certs["unknown_serialnumber"]
    with pytest.raises(CertificateLoginRefused):
        certificate_login(lab.endpoints, cert, key, ca_file=lab.trust)
    events = lab.kc.events(types=["LOGIN_ERROR"], client="govops-cli")
    mine = [e for e in events if (e.get("details") or {}).get("username") == "J99999999"]
    assert mine and mine[0]["error"] in ("invalid_user_credentials", "user_not_found")
    assert "SERIALNUMBER=J99999999" in mine[0]["details"]["x509_cert_subject_distinguished_name"]


def test_revoked_certificate_is_refused_after_crl_refresh(lab: Lab) -> None:
    cert, key = lab.certs["zhao_second"]
    assert certificate_login(lab.endpoints, cert, key, ca_file=lab.trust)  # valid and not revoked
    code, out, err = _cli(lab, "ca", "revoke", lab.serials["zhao_second"], "--reason", "key_compromise", "--json")
    assert code == 0, err
    assert json.loads(out)["keycloak_crl_cache"] == "cleared"
    crl = x509.load_der_x509_crl(httpx.get(f"{lab.gateway}/pki/issuing.crl").content)
    assert crl.get_revoked_certificate_by_serial_number(int(lab.serials["zhao_second"], 16))
    with pytest.raises(CertificateLoginRefused) as refused:
        certificate_login(lab.endpoints, cert, key, ca_file=lab.trust)
    assert refused.value.stage == "keycloak" and "revoked" in refused.value.reasons[0]
    assert certificate_login(lab.endpoints, *lab.certs["zhao"], ca_file=lab.trust)  # his other one


def test_password_grant_does_not_exist_for_civil_servants(lab: Lab) -> None:
    r = httpx.post(
        lab.endpoints.token,
        verify=tls_context(lab.trust),
        data={
            "grant_type": "password",
            "client_id": "govops-cli",
            "username": "j00000004",
            "password": "whatever-Passw0rd!",
        },
    )
    assert r.status_code in (400, 401) and "certificate" in r.text.lower()


# -- app onboarding + authorization code + PKCE ----------------------------------------------


def _pkce_login(
    lab: Lab, who: str, client_id: str, redirect_uri: str, secret: str, verifier_override: str | None = None
) -> httpx.Response:
    """A real browser-style login: GET the authorize URL on the mTLS port presenting the
    certificate, follow Keycloak's own redirects, take the code, exchange it (PKCE + secret)."""
    verifier, challenge = pkce_pair()
    cert, key = lab.certs[who]
    with httpx.Client(verify=tls_context(lab.trust, (cert, key)), timeout=30) as browser:
        r = browser.get(
            lab.endpoints.authorize,
            params={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid",
                "state": "s-1",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        for _ in range(5):
            location = r.headers.get("location", "")
            if r.status_code not in (302, 303) or location.startswith(redirect_uri):
                break
            r = browser.get(location)
        assert r.status_code in (302, 303), r.text[:500]
        query = parse_qs(urlsplit(r.headers["location"]).query)
        assert query["state"] == ["s-1"]
        code = query["code"][0]
    return httpx.post(
        lab.endpoints.token,
        verify=tls_context(lab.trust),
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": secret,
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier_override or verifier,
        },
    )


def test_app_onboarding_to_pkce_login_scoped_to_the_department(lab: Lab) -> None:
    wang, li, zhang = lab.login("wang"), lab.login("li"), lab.login("zhang")
    redirect = "https://case.gaj.jinshan.gov.cn/oidc/callback"
    with lab.api(wang) as c:
        r = c.post(
            "/api/v1/identity/apps",
            json={
                "name": "案件管理系统",
                "department": "gaj",
                "client_id": "gaj-case-portal",
                "home_url": "https://case.gaj.jinshan.gov.cn/",
                "redirect_uris": [redirect],
                "roles": [{"name": "user", "description": "办案人员"}, {"name": "supervisor"}],
            },
        )
        assert r.status_code == 201, r.text
        gaj_app = r.json()
        assert (
            c.post(
                "/api/v1/identity/apps",
                json={
                    "name": "x",
                    "department": "cgj",
                    "home_url": "https://x.cn/",
                    "redirect_uris": ["https://x.cn/cb"],
                },
            ).status_code
            == 403
        )
    with lab.api(li) as c:
        cgj_app = c.post(
            "/api/v1/identity/apps",
            json={
                "name": "执法记录",
                "department": "cgj",
                "client_id": "cgj-records",
                "home_url": "https://records.cgj.jinshan.gov.cn/",
                "redirect_uris": ["https://records.cgj.jinshan.gov.cn/*"],
                "roles": [{"name": "user"}],
            },
        ).json()
    with lab.api(wang) as c:
        assert c.post(f"/api/v1/identity/apps/{gaj_app['id']}/approve", json={}).status_code == 403
    with lab.api(zhang) as c:
        for app in (gaj_app, cgj_app):
            r = c.post(f"/api/v1/identity/apps/{app['id']}/approve", json={"note": "等保备案齐全"})
            assert r.status_code == 200 and r.json()["secret"] == "awaiting pickup", r.text
        assert c.post(f"/api/v1/identity/apps/{gaj_app['id']}/secret").status_code == 403
    with lab.api(wang) as c:
        secret = c.post(f"/api/v1/identity/apps/{gaj_app['id']}/secret").json()["client_secret"]
        assert c.post(f"/api/v1/identity/apps/{gaj_app['id']}/secret").status_code == 409

    client = lab.kc.find_client("gaj-case-portal")
    assert client and client["attributes"]["pkce.code.challenge.method"] == "S256"
    assert not client["directAccessGrantsEnabled"] and not client["publicClient"]

    r = _pkce_login(lab, "wang", "gaj-case-portal", redirect, secret)
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    # the app's token is for the app: its own audience, never the gateway's (issue #15 item 2)
    assert claims["azp"] == "gaj-case-portal" and "gaj-case-portal" in audiences
    assert "govops-gateway" not in audiences
    assert claims["resource_access"]["gaj-case-portal"]["roles"] == ["user"]  # via the department
    with lab.api(token) as c:
        refused = c.get("/api/v1/whoami")
        # refused at the audience already; the azp allow-list stands behind it (unit-tested)
        assert refused.status_code == 401 and "audience" in refused.json()["message"]

    with lab.api(wang) as c:  # the same person's platform token (CLI client) works
        assert c.get("/api/v1/whoami").json()["department"] == "gaj"
        assert [a["client_id"] for a in c.get("/api/v1/identity/apps").json()["items"]] == ["gaj-case-portal"]
        assert c.get(f"/api/v1/identity/apps/{cgj_app['id']}").status_code == 404
        assert c.get(f"/api/v1/identity/apps/{gaj_app['id']}").json()["status"] == "approved"

    # a wrong PKCE verifier, or a redirect URI the app did not register, gets nothing
    assert _pkce_login(lab, "wang", "gaj-case-portal", redirect, secret, verifier_override="x" * 50).status_code == 400
    with httpx.Client(verify=tls_context(lab.trust, lab.certs["wang"]), timeout=30) as browser:
        evil = browser.get(
            lab.endpoints.authorize,
            params={
                "response_type": "code",
                "client_id": "gaj-case-portal",
                "redirect_uri": "https://evil.example.com/cb",
                "scope": "openid",
                "code_challenge": pkce_pair()[1],
                "code_challenge_method": "S256",
            },
        )
        assert evil.status_code == 400 and "location" not in evil.headers

    # rotation: the old secret stops working, the new one is collected once
    with lab.api(zhang) as c:
        assert c.post(f"/api/v1/identity/apps/{gaj_app['id']}/rotate-secret").json()["secret_version"] == 2
    with lab.api(wang) as c:
        new_secret = c.post(f"/api/v1/identity/apps/{gaj_app['id']}/secret").json()["client_secret"]
    assert new_secret != secret
    assert _pkce_login(lab, "wang", "gaj-case-portal", redirect, secret).status_code == 401
    assert _pkce_login(lab, "wang", "gaj-case-portal", redirect, new_secret).status_code == 200

    with lab.runtime.sessions() as s:
        from govops import audit

        actions = [r.action for r in s.query(audit.AuditRecord).all()]
        assert audit.verify(s).ok
    for action in ("apps.request", "apps.approve", "apps.collect_secret", "apps.rotate_secret"):
        assert action in actions


def test_console_single_sign_on(lab: Lab) -> None:
    cert, key = lab.certs["li"]
    with httpx.Client(verify=tls_context(lab.trust, (cert, key)), timeout=30) as browser:
        r = browser.get(f"{lab.gateway}/login/sso")
        for _ in range(8):
            if r.status_code not in (302, 303):
                break
            r = browser.get(r.url.join(r.headers["location"]))
        assert r.status_code == 200, (r.status_code, r.text[:300])
        assert str(r.url) == f"{lab.gateway}/"  # landed on the console home, signed in
        me = browser.get(f"{lab.gateway}/api/v1/whoami").json()
    assert me["department"] == "cgj" and me["roles"] == [DEPT_ADMIN]


# -- forged tokens against the real realm keys -----------------------------------------------


def _b64(data: dict) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_gateway_refuses_forged_tokens(lab: Lab) -> None:
    import base64
    import hashlib
    import hmac

    good = lab.login("zhao")
    header, payload, sig = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    kid = jwt.get_unverified_header(good)["kid"]
    jwks = httpx.get(lab.endpoints.jwks, verify=tls_context(lab.trust)).json()
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    public_pem = jwt.PyJWK(jwk).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    promoted = {**claims, "realm_access": {"roles": [OPS_ENGINEER]}}
    hs_header = _b64({"alg": "HS256", "typ": "JWT", "kid": kid})
    hs_sig = (
        base64.urlsafe_b64encode(
            hmac.new(public_pem, f"{hs_header}.{_b64(promoted)}".encode(), hashlib.sha256).digest()
        )
        .rstrip(b"=")
        .decode()
    )
    master = httpx.post(
        lab.keycloak.token_url,
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": lab.keycloak.admin_user,
            "password": lab.keycloak.admin_password,
        },
    ).json()["access_token"]
    forged = {
        "alg none": f"{_b64({'alg': 'none', 'kid': kid})}.{_b64(promoted)}.",
        "HS256 with the public key": f"{hs_header}.{_b64(promoted)}.{hs_sig}",
        "tampered payload": f"{header}.{_b64(promoted)}.{sig}",
        "another realm (wrong issuer)": master,
        "truncated signature": f"{header}.{payload}.{sig[:-4]}",
    }
    with lab.api() as c:
        assert c.get("/api/v1/whoami", headers={"authorization": f"Bearer {good}"}).status_code == 200
        for case, token in forged.items():
            r = c.get("/api/v1/identity/apps", headers={"authorization": f"Bearer {token}"})
            assert r.status_code == 401, (case, r.text)


# -- directory import at scale ---------------------------------------------------------------


def test_directory_import_2000_users_twice(lab: Lab) -> None:
    rows = []
    for n in range(2000):
        code = ("gaj", "zzb", "cgj", "xzspj", "dsjj")[n % 5]
        rows.append(
            {
                "id": f"D{n:08d}",
                "name": "张王李赵陈"[n % 5] + "伟芳娜敏静"[n // 5 % 5],
                "department": code,
                "section": f"{code}-k{n % 3 + 1}",
                "section_name": f"第{n % 3 + 1}科",
                "email": f"d{n}@jinshan.gov.cn",
                "roles": "security-staff" if n % 100 == 0 else "",
                "status": "active",
            }
        )
    f = lab.root / "directory.csv"
    directory.write_csv(rows, f)
    code, out, err = _cli(lab, "identity", "import", str(f), "--dry-run", "--json")
    dry = json.loads(out)
    assert code == 0 and dry["created"] == 2000 and dry["dry_run"], err
    code, out, err = _cli(lab, "identity", "import", str(f), "--json")
    first = json.loads(out)
    assert code == 0 and first["created"] == 2000 and first["groups_created"] == 15, err
    code, out, err = _cli(lab, "identity", "import", str(f), "--json")
    second = json.loads(out)
    assert code == 0 and second["changed"] == 0 and second["unchanged"] == 2000, second
    assert second["summary"] == "no changes"
    # one change in the organisation database → exactly one update
    rows[7]["section"], rows[7]["section_name"] = "cgj-k1", "第1科"
    rows[8]["status"] = "inactive"
    directory.write_csv(rows, f)
    third = json.loads(_cli(lab, "identity", "import", str(f), "--json")[1])
    assert (third["updated"], third["disabled"], third["created"]) == (1, 1, 0), third
    assert lab.kc.count_users() >= 2000 + len(PEOPLE)


def _people(prefix: str, n: int) -> list[directory.CivilServantRow]:
    return [
        directory.CivilServantRow(
            line=i,
            id=f"{prefix}{i:08d}",
            name="钱孙"[i % 2] + "强",
            department="dsjj",
            section=None,
            email=None,
            roles=[],
            active=True,
        )
        for i in range(1, n + 1)
    ]


def _admin_address(lab: Lab) -> tuple[str, int]:
    admin = urlsplit(lab.keycloak.base_url)
    return admin.hostname or "127.0.0.1", admin.port or 80


def test_directory_import_counts_users_whose_answer_was_lost(lab: Lab) -> None:
    """Keycloak creates a batch but its answer never arrives, twice: python-keycloak's own
    transport sends the POST again at once, then the import does after a pause. Both repeats
    come back as "skipped" users; they carry these people's IDs, so they are counted as created,
    not reported as username clashes."""
    rows = _people("L", 600)  # two batches
    with lossy_proxy(_admin_address(lab), rb"POST [^ ]*/partialImport ", 2) as proxy:
        settings = lab.settings.model_copy(update={"keycloak_admin_url": proxy.url})
        kc = KeycloakAdapter.from_settings(settings)
        with lab.runtime.transaction() as s:
            report = directory.import_directory(s, kc, directory.DirectoryFile({}, rows), actor="test")
    assert proxy.lost == 2
    summary = report.as_dict()
    assert report.created == 600 and report.stopped is None, summary
    assert not [i for i in report.items if i.get("action") in ("skipped", "not_created")], summary
    assert lab.kc.find_user("l00000600") is not None


def test_directory_import_stopped_by_lost_answers_finishes_when_run_again(lab: Lab) -> None:
    """No answer to any batch comes back: the import stops after its repeats and says so, with
    nobody counted as created; the same import run again (answers arriving) finds the users
    Keycloak did create as its own and completes, with no clash."""
    rows = _people("S", 300)
    with lossy_proxy(_admin_address(lab), rb"POST [^ ]*/partialImport ", 100) as proxy:
        settings = lab.settings.model_copy(update={"keycloak_admin_url": proxy.url})
        kc = KeycloakAdapter.from_settings(settings)
        with lab.runtime.transaction() as s:
            stopped = directory.import_directory(s, kc, directory.DirectoryFile({}, rows), actor="test")
    assert proxy.lost >= 3  # ours and the transport's repeats
    assert stopped.stopped and "run the same import again" in stopped.stopped, stopped.as_dict()
    assert stopped.created == 0
    assert len([i for i in stopped.items if i.get("action") == "not_created"]) == 300
    with lab.runtime.transaction() as s:
        again = directory.import_directory(s, lab.kc, directory.DirectoryFile({}, rows), actor="test")
    summary = again.as_dict()
    assert again.stopped is None and again.created + again.updated + again.unchanged == 300, summary
    assert not [i for i in again.items if i.get("action") in ("skipped", "not_created")], summary
