"""SSO into the cloud's Kubernetes, the fast layer: the ExecCredential contract, the token cache
(0600, encrypted, tamper-evident), expired and forged tokens, refresh and device flows with the
Keycloak calls stubbed, a Keycloak that does not answer (a real closed port), the kubeconfig and
the apiserver's authentication configuration. The real Keycloak + apiserver run is
tests/integration/test_cloud_sso.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from govops.errors import ConfigError, GovopsError, Unauthenticated, ValidationFailed
from identity import login as login_mod
from identity.keycloak_adapter import DeviceAuthorization, TokenResponse
from identity.kubeauth import (
    EXEC_API_VERSION,
    GROUPS_PREFIX,
    Login,
    TokenCache,
    authentication_config,
    credential_args,
    exec_credential,
    get_credential,
    kubeconfig_document,
    write_kubeconfig,
)
from identity.kubeauth import credential as credential_mod
from infra.tenant import DepartmentTenantArgs
from tools.lab.process import free_port

REPO = Path(__file__).resolve().parents[2]
KC = "https://sso.jinshan.gov.cn"
REALM = "civil-servants"
ISSUER = f"{KC}/realms/{REALM}"
SIGNER = rsa.generate_private_key(65537, 2048)


def _token(*, iss: str = ISSUER, aud: str | list[str] = "kubernetes", azp: str = "kubernetes", exp: float = 300) -> str:
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "azp": azp, "exp": now + int(exp), "iat": now, "sub": "u1", "typ": "Bearer"}
    return jwt.encode(claims, SIGNER, algorithm="RS256", headers={"kid": "k1"})


def _response(access: str | None = None, refresh: str = "refresh-1", refresh_in: int = 1800) -> TokenResponse:
    access = access or _token()
    return TokenResponse(access, {"access_token": access, "refresh_token": refresh, "refresh_expires_in": refresh_in})


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "王明"), x509.NameAttribute(NameOID.SERIAL_NUMBER, "J1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    c, k = tmp_path / "me.pem", tmp_path / "me.key"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    k.chmod(0o600)
    return c, k


class Keycloak:
    """Counts the logins and refreshes the plugin asks for; can refuse a refresh."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.logins = 0
        self.refreshes = 0
        self.refuse_refresh = False
        self.next_access: str | None = None
        monkeypatch.setattr(login_mod, "certificate_login", self._login)
        monkeypatch.setattr(login_mod, "refresh_login", self._refresh)

    def _login(self, endpoints, cert, key, *, ca_file, client_id="kubernetes", scope="openid"):  # type: ignore[no-untyped-def]
        assert endpoints.issuer == ISSUER and client_id == "kubernetes"
        self.logins += 1
        return _response(self.next_access, refresh=f"refresh-{self.logins}")

    def _refresh(self, endpoints, refresh_token, *, client_id, ca_file):  # type: ignore[no-untyped-def]
        self.refreshes += 1
        if self.refuse_refresh:
            raise Unauthenticated("Keycloak refused the login: Session not active")
        return _response(refresh=f"{refresh_token}-r")


@pytest.fixture
def keycloak(monkeypatch: pytest.MonkeyPatch) -> Keycloak:
    return Keycloak(monkeypatch)


@pytest.fixture
def cert_login(certificate: tuple[Path, Path]) -> Login:
    return Login(KC, REALM, "kubernetes", None, *certificate)


# -- the ExecCredential contract --------------------------------------------------------------


def test_exec_credential_shape() -> None:
    exp = time.time() + 300
    doc = exec_credential("abc.def.ghi", exp)
    assert doc["apiVersion"] == EXEC_API_VERSION == "client.authentication.k8s.io/v1"
    assert doc["kind"] == "ExecCredential"
    assert doc["status"]["token"] == "abc.def.ghi"
    stamp = doc["status"]["expirationTimestamp"]
    parsed = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert abs(parsed.timestamp() - exp) < 1
    assert set(doc["status"]) == {"token", "expirationTimestamp"}  # never a refresh token


def test_credential_hands_out_expiry_before_the_token_ends(
    keycloak: Keycloak, cert_login: Login, tmp_path: Path
) -> None:
    got = get_credential(cert_login, TokenCache(tmp_path / "cache", cert_login))
    exp = jwt.decode(got.tokens.access_token, options={"verify_signature": False})["exp"]
    stamp = dt.datetime.strptime(got.exec_credential()["status"]["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    # kubectl asks again MARGIN seconds before the apiserver would refuse the token
    assert stamp.replace(tzinfo=dt.UTC).timestamp() == pytest.approx(exp - credential_mod.MARGIN, abs=1)


# -- the cache ---------------------------------------------------------------------------------


def test_login_then_cache_then_refresh(keycloak: Keycloak, cert_login: Login, tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "cache", cert_login)
    first = get_credential(cert_login, cache)
    assert (first.source, keycloak.logins) == ("login", 1)
    second = get_credential(cert_login, cache)
    assert second.source == "cache" and second.tokens.access_token == first.tokens.access_token
    assert (keycloak.logins, keycloak.refreshes) == (1, 0)  # no round trip at all
    # the access token runs out; the refresh token is still good
    t = cache.load()
    assert t is not None
    t.access_token = _token(exp=10)  # inside MARGIN: as good as expired
    cache.store(t)
    third = get_credential(cert_login, cache)
    assert third.source == "refresh" and (keycloak.logins, keycloak.refreshes) == (1, 1)
    stored = cache.load()
    assert stored is not None and stored.refresh_token == "refresh-1-r"  # Keycloak's rotation kept


def test_refused_refresh_signs_in_again(keycloak: Keycloak, cert_login: Login, tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "cache", cert_login)
    get_credential(cert_login, cache)
    t = cache.load()
    assert t is not None
    t.access_token = _token(exp=-60)
    cache.store(t)
    keycloak.refuse_refresh = True
    got = get_credential(cert_login, cache)
    assert got.source == "login" and (keycloak.logins, keycloak.refreshes) == (2, 1)


def test_cache_file_is_private_and_encrypted(keycloak: Keycloak, cert_login: Login, tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "cache", cert_login)
    got = get_credential(cert_login, cache)
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.directory.stat().st_mode) == 0o700
    blob = cache.path.read_bytes()
    assert got.tokens.access_token.encode() not in blob
    assert b"refresh-1" not in blob and b"refresh_token" not in blob
    assert not list(cache.directory.glob("cache.key"))  # the key is derived from the certificate's key


def test_tampered_cache_is_dropped_not_trusted(keycloak: Keycloak, cert_login: Login, tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "cache", cert_login)
    get_credential(cert_login, cache)
    blob = bytearray(cache.path.read_bytes())
    blob[40] ^= 0x01
    cache.path.write_bytes(bytes(blob))
    got = get_credential(cert_login, cache)
    assert got.source == "login" and keycloak.logins == 2


def test_cache_of_another_key_does_not_open(
    keycloak: Keycloak, cert_login: Login, tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cache = TokenCache(tmp_path / "cache", cert_login)
    get_credential(cert_login, cache)
    other_key = ec.generate_private_key(ec.SECP256R1())
    k2 = tmp_path / "other.key"
    k2.write_bytes(
        other_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    thief = TokenCache(tmp_path / "cache", Login(KC, REALM, "kubernetes", None, certificate[0], k2))
    assert thief.path == cache.path  # same certificate, same file name …
    assert thief.load() is None  # … but without the private key it does not decrypt


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("not-a-jwt", "not a readable JWT"),
        (_token(iss="https://evil.example/realms/civil-servants"), "issued by another issuer"),
        (_token(aud="govops-gateway"), "not meant for kubernetes"),
        (_token(azp="govops-cli"), "issued to 'govops-cli', not kubernetes"),
        (_token(exp=-5), "expired"),
    ],
)
def test_forged_or_foreign_tokens_are_never_handed_out(
    keycloak: Keycloak, cert_login: Login, tmp_path: Path, token: str, why: str
) -> None:
    assert credential_mod.token_problem(token, cert_login, time.time()) == why
    # in the cache: replaced by a fresh login
    cache = TokenCache(tmp_path / "cache", cert_login)
    get_credential(cert_login, cache)
    t = cache.load()
    assert t is not None
    t.access_token, t.refresh_token = token, None
    cache.store(t)
    got = get_credential(cert_login, cache)
    assert got.source == "login" and got.tokens.access_token != token
    # from Keycloak itself: refused with the reason, nothing cached
    keycloak.next_access = token if token != "not-a-jwt" else "x.y.z"
    cache.clear()
    with pytest.raises(GovopsError, match="identity apply"):
        get_credential(cert_login, cache)
    assert not cache.path.exists()


# -- device flow --------------------------------------------------------------------------------


def test_device_flow_prompts_and_polls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    auth = DeviceAuthorization("dev-1", "ABCD-EFGH", f"{ISSUER}/device", f"{ISSUER}/device?user_code=ABCD-EFGH", 600, 5)
    polls = iter(["authorization_pending", "slow_down", "authorization_pending", _response()])
    monkeypatch.setattr(login_mod, "device_authorization", lambda *a, **k: auth)
    monkeypatch.setattr(login_mod, "poll_device_token", lambda *a, **k: next(polls))
    slept: list[float] = []
    shown: list[DeviceAuthorization] = []
    got = login_mod.device_login(
        login_mod.OidcEndpoints(KC, REALM),
        client_id="kubernetes",
        ca_file=None,
        prompt=shown.append,
        sleep=slept.append,
    )
    assert got.access_token and shown == [auth]
    assert slept == [5, 5, 10, 10]  # slow_down adds 5 s (RFC 8628)


def test_device_flow_gives_up_when_not_confirmed(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = DeviceAuthorization("dev-1", "ABCD", f"{ISSUER}/device", None, 10, 5)
    monkeypatch.setattr(login_mod, "device_authorization", lambda *a, **k: auth)
    monkeypatch.setattr(login_mod, "poll_device_token", lambda *a, **k: "authorization_pending")
    clock = iter(range(0, 100, 5))
    with pytest.raises(Unauthenticated, match="not confirmed"):
        login_mod.device_login(
            login_mod.OidcEndpoints(KC, REALM),
            client_id="kubernetes",
            ca_file=None,
            prompt=lambda a: None,
            sleep=lambda s: None,
            clock=lambda: float(next(clock)),
        )


def test_device_prompt_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    credential_mod.show_device_prompt(DeviceAuthorization("d", "WXYZ", f"{ISSUER}/device", None, 600, 5))
    out = capsys.readouterr()
    assert out.out == "" and f"{ISSUER}/device" in out.err and "WXYZ" in out.err


def test_device_cache_uses_a_private_key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(login_mod, "device_login", lambda *a, **k: _response())
    device = Login(KC, REALM)
    cache = TokenCache(tmp_path / "cache", device)
    assert get_credential(device, cache).source == "login"
    assert stat.S_IMODE((tmp_path / "cache" / "cache.key").stat().st_mode) == 0o600
    assert get_credential(device, cache).source == "cache"


def test_login_needs_both_cert_and_key(certificate: tuple[Path, Path]) -> None:
    with pytest.raises(ValidationFailed):
        Login(KC, REALM, "kubernetes", None, certificate[0], None)


# -- the CLI: Keycloak down, stdout contract -----------------------------------------------------


def _govops(*args: str, home: Path, entry: str = "gateway.cli.entry") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVOPS_")}
    env |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GOVOPS_DATA_DIR": str(home / "data")}
    return subprocess.run(
        [sys.executable, "-m", entry, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=60
    )


@pytest.mark.parametrize("entry", ["gateway.cli.entry", "gateway.cli.main"])  # kubectl's fast path, the full CLI
def test_keycloak_unreachable_is_one_line_and_exit_1(
    certificate: tuple[Path, Path], tmp_path: Path, entry: str
) -> None:
    port = free_port()  # nothing listens there
    cert, key = certificate
    out = _govops(
        "cloud", "credential", "--keycloak-url", f"https://127.0.0.1:{port}", "--realm", REALM,
        "--cert", str(cert), "--key", str(key), home=tmp_path, entry=entry,
    )  # fmt: skip
    assert out.returncode == 1
    assert out.stdout == ""  # kubectl reads stdout as the ExecCredential: nothing half-written
    assert "Traceback" not in out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert lines[0].startswith("error: the identity service (Keycloak)") and "is not answering" in lines[0]
    assert "→" in lines[1]  # what to do next
    assert len(lines) == 2


def test_credential_refuses_plain_http_keycloak(certificate: tuple[Path, Path], tmp_path: Path) -> None:
    out = _govops(
        "cloud", "credential", "--keycloak-url", "http://127.0.0.1:1", "--realm", REALM,
        "--cert", str(certificate[0]), "--key", str(certificate[1]), home=tmp_path,
    )  # fmt: skip
    assert out.returncode == 2 and out.stdout == "" and "HTTPS" in out.stderr


# -- kubeconfig ---------------------------------------------------------------------------------


def test_kubeconfig_user_is_the_exec_plugin(cert_login: Login, tmp_path: Path) -> None:
    ca = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    doc = kubeconfig_document(
        server="https://127.0.0.1:6443",
        ca_pem=ca,
        command=["/usr/bin/govops"],
        args=credential_args(cert_login, tmp_path / "cache"),
        namespace="dept-gaj",
    )
    path = write_kubeconfig(tmp_path / "kube" / "config", doc)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = yaml.safe_load(path.read_text())
    user = written["users"][0]["user"]
    assert set(user) == {"exec"}  # no token, no key, no certificate of anyone in the file
    ex = user["exec"]
    assert ex["apiVersion"] == "client.authentication.k8s.io/v1" and ex["command"] == "/usr/bin/govops"
    assert ex["args"][:2] == ["cloud", "credential"] and "--cert" in ex["args"] and "--device" not in ex["args"]
    assert ex["interactiveMode"] == "Never"
    assert written["contexts"][0]["context"]["namespace"] == "dept-gaj"
    # ours: a second write replaces it; a file govops did not write is kept
    write_kubeconfig(path, doc)
    foreign = tmp_path / "foreign"
    foreign.write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(ValidationFailed, match="--force"):
        write_kubeconfig(foreign, doc)
    with pytest.raises(ValidationFailed, match="HTTPS"):
        kubeconfig_document(server="http://x", ca_pem=ca, command=["g"], args=[])


def test_device_kubeconfig_args() -> None:
    args = credential_args(Login(KC, REALM))
    assert "--device" in args and "--cert" not in args


# -- the apiserver's authentication configuration -----------------------------------------------


def test_authentication_config_trusts_the_realm_for_the_tenants_bindings() -> None:
    cfg = authentication_config(
        issuer=ISSUER, ca_pem="-----BEGIN CERTIFICATE-----\n", auditors_group="/310116/auditors"
    )
    assert cfg["apiVersion"] == "apiserver.config.k8s.io/v1" and cfg["kind"] == "AuthenticationConfiguration"
    jwt_cfg = cfg["jwt"][0]
    assert jwt_cfg["issuer"]["url"] == ISSUER and jwt_cfg["issuer"]["audiences"] == ["kubernetes"]
    mappings = jwt_cfg["claimMappings"]
    assert mappings["username"] == {"claim": "preferred_username", "prefix": "oidc:"}
    # the tenants bind `<oidc_groups_prefix><SSO group>`: the same prefix on both sides
    assert DepartmentTenantArgs.__dataclass_fields__["oidc_groups_prefix"].default == GROUPS_PREFIX
    groups = mappings["groups"]["expression"]
    assert "'dept-admin' in claims.realm_access.roles" in groups and "'oidc:' + g" in groups
    assert "'oidc:/310116/auditors'" in groups
    rules = " ".join(r["expression"] for r in jwt_cfg["claimValidationRules"])
    assert "claims.typ == 'Bearer'" in rules and "claims.azp == 'kubernetes'" in rules and "sec-admin" in rules


def test_authentication_config_refuses_http_and_quotes() -> None:
    with pytest.raises(ConfigError, match="HTTPS"):
        authentication_config(issuer="http://kc/realms/x", ca_pem="-----BEGIN CERTIFICATE-----", auditors_group="/a")
    with pytest.raises(ConfigError):
        authentication_config(issuer=ISSUER, ca_pem="-----BEGIN CERTIFICATE-----", auditors_group="/a' || true")


def test_cli_commands_act_for_the_person() -> None:
    from gateway.cli.roles import needed_role

    assert needed_role("cloud credential") is None and needed_role("cloud kubeconfig") is None
    assert needed_role("cloud up") == "ops-engineer"


def test_exec_credential_json_is_what_kubectl_parses() -> None:
    # kubectl decodes stdout strictly as JSON with these keys
    raw = json.dumps(exec_credential("t", time.time() + 60))
    assert json.loads(raw)["status"]["token"] == "t"


def test_client_id_is_the_realms() -> None:
    from identity.realm import KUBERNETES_CLIENT

    assert credential_mod.KUBERNETES_CLIENT == KUBERNETES_CLIENT


def test_plugin_path_loads_no_database_code() -> None:
    # kubectl runs the plugin for every command: a cached token must cost no SQLAlchemy, runtime,
    # HTTP client, Typer or JWT library
    code = (
        "import sys, gateway.cli.credential_plugin, identity.kubeauth.credential; "
        "print(sorted(m for m in ('sqlalchemy', 'gateway.runtime', 'keycloak', 'identity.pki', 'httpx', 'typer', "
        "'jwt', 'rich', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def test_cluster_comes_from_the_admin_kubeconfig_without_its_credentials(tmp_path: Path) -> None:
    import base64

    from identity.kubeauth import cluster_from_kubeconfig

    ca = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    admin = tmp_path / "admin.yaml"
    admin.write_text(
        yaml.safe_dump(
            {
                "current-context": "lab",
                "clusters": [
                    {
                        "name": "lab",
                        "cluster": {
                            "server": "https://127.0.0.1:6443",
                            "certificate-authority-data": base64.b64encode(ca).decode(),
                        },
                    }
                ],
                "users": [{"name": "admin", "user": {"client-key-data": "SECRET"}}],
                "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "admin"}}],
            }
        )
    )
    assert cluster_from_kubeconfig(admin) == ("https://127.0.0.1:6443", ca)
    (tmp_path / "bad.yaml").write_text("current-context: nowhere\n")
    with pytest.raises(ConfigError, match="--server"):
        cluster_from_kubeconfig(tmp_path / "bad.yaml")
