"""The gateway's token verifier against forged, expired and foreign tokens (local keys; the real
Keycloak tokens are in tests/integration/test_identity_keycloak.py), and a dead Keycloak → 503."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.app import create_app
from govops.errors import ServiceUnavailable, Unauthenticated
from govops.principal import AUDITOR, DEPT_ADMIN, OPS_ENGINEER, SEC_ADMIN
from identity.tokens import JwksTokenVerifier
from tests.conftest import client_as
from tools.lab.process import free_port

ISSUER = "https://sso.jinshan.gov.cn/realms/civil-servants"
AUDIENCE = "govops-gateway"


class Realm:
    """A stand-in for Keycloak's signing keys: rotate, count JWKS fetches, go down."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {"k1": rsa.generate_private_key(65537, 2048)}
        self.fetches = 0
        self.down = False

    def jwks(self) -> dict:
        self.fetches += 1
        if self.down:
            raise ServiceUnavailable("the identity service (Keycloak) is not answering")
        out = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            out.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        # an encryption key must never be used to verify signatures
        out.append({**out[0], "kid": "enc1", "use": "enc", "alg": "RSA-OAEP"})
        return {"keys": out}

    def token(self, kid: str = "k1", **overrides) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": [AUDIENCE, "account"],
            "sub": "u-1",
            "typ": "Bearer",
            "iat": now,
            "exp": now + 300,
            "azp": "govops-gateway",  # the console: a platform client
            "preferred_username": "310116199001011234",
            "name": "王明",
            "realm_access": {"roles": [DEPT_ADMIN, "offline_access"]},
            "groups": ["/310116/gaj/zhian", "/platforms/gongan"],
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def realm() -> Realm:
    return Realm()


@pytest.fixture
def verifier(realm: Realm) -> JwksTokenVerifier:
    return JwksTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        fetch_keys=realm.jwks,
        departments=lambda: {"/310116/gaj": "gaj", "/310116/cgj": "cgj"},
        min_refetch_interval=0.0,
    )


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_valid_token_maps_roles_department_platform(verifier, realm):
    p = verifier.verify(realm.token())
    assert p.subject == "u-1" and p.name == "王明"
    assert p.roles == frozenset({DEPT_ADMIN})  # offline_access is not a platform role
    assert p.department == "gaj" and p.platform == "gongan"


def _forged(realm: Realm) -> dict[str, str]:
    good = realm.token()
    header, payload, sig = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    public_pem = (
        realm.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    attacker = rsa.generate_private_key(65537, 2048)
    now = int(time.time())
    import hashlib
    import hmac as _hmac

    hs_header = _b64({"alg": "HS256", "typ": "JWT", "kid": "k1"})
    hs_payload = _b64({**claims, "realm_access": {"roles": [OPS_ENGINEER]}})
    hs_sig = (
        base64.urlsafe_b64encode(_hmac.new(public_pem, f"{hs_header}.{hs_payload}".encode(), hashlib.sha256).digest())
        .rstrip(b"=")
        .decode()
    )
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{payload}.",
        "HS256 with the public key": f"{hs_header}.{hs_payload}.{hs_sig}",
        "tampered payload": f"{header}.{_b64({**claims, 'realm_access': {'roles': [OPS_ENGINEER]}})}.{sig}",
        "wrong issuer": realm.token(iss="https://evil.example/realms/civil-servants"),
        "wrong audience": realm.token(aud="some-other-app"),
        "expired": realm.token(iat=now - 4000, exp=now - 3600),
        "not yet valid": realm.token(iat=now + 3600, nbf=now + 3600, exp=now + 7200),
        "attacker key, known kid": jwt.encode({**claims}, attacker, algorithm="RS256", headers={"kid": "k1"}),
        "ID token": realm.token(typ="ID"),
        "no subject": realm.token(sub=None),
        "garbage": "not.a.token",
        "empty": "",
        "ES256 header on an RSA key": jwt.encode(
            claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "k1"}
        ),
        "encryption key id": jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": "enc1"}),
    }


@pytest.mark.parametrize(
    "case",
    [
        "alg none",
        "HS256 with the public key",
        "tampered payload",
        "wrong issuer",
        "wrong audience",
        "expired",
        "not yet valid",
        "attacker key, known kid",
        "ID token",
        "no subject",
        "garbage",
        "empty",
        "ES256 header on an RSA key",
        "encryption key id",
    ],
)
def test_forged_tokens_are_refused(verifier, realm, case):
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(_forged(realm)[case])
    assert refused.value.hint


def test_symmetric_algorithms_cannot_be_allowed(realm):
    with pytest.raises(ValueError, match="symmetric"):
        JwksTokenVerifier(
            issuer=ISSUER, audience=AUDIENCE, fetch_keys=realm.jwks, algorithms=frozenset({"RS256", "HS256"})
        )


def test_jwks_is_cached_and_refreshed_on_an_unknown_kid(verifier, realm):
    for _ in range(50):
        verifier.verify(realm.token())
    assert realm.fetches == 1  # cached
    realm.keys["k2"] = rsa.generate_private_key(65537, 2048)  # Keycloak rotates its key
    assert verifier.verify(realm.token(kid="k2")).department == "gaj"
    assert realm.fetches == 2
    with pytest.raises(Unauthenticated, match="unknown key"):
        verifier.verify(
            jwt.encode(
                jwt.decode(realm.token(), options={"verify_signature": False}),
                realm.keys["k2"],
                algorithm="RS256",
                headers={"kid": "k9"},
            )
        )
    assert realm.fetches == 3  # one refetch for the unknown kid, then refused


def test_unknown_kids_cannot_hammer_keycloak(realm):
    v = JwksTokenVerifier(issuer=ISSUER, audience=AUDIENCE, fetch_keys=realm.jwks, min_refetch_interval=60.0)
    v.verify(realm.token())
    stranger = rsa.generate_private_key(65537, 2048)
    for _ in range(20):
        forged = jwt.encode({"sub": "x"}, stranger, algorithm="RS256", headers={"kid": "nope"})
        with pytest.raises(Unauthenticated):
            v.verify(forged)
    assert realm.fetches == 1


def test_keycloak_down_keeps_known_keys_but_cold_start_is_503(verifier, realm):
    verifier.verify(realm.token())
    realm.down = True
    verifier._fetched_at -= 10_000  # keys are old: a refresh is due and fails
    assert verifier.verify(realm.token()).department == "gaj"
    cold = JwksTokenVerifier(issuer=ISSUER, audience=AUDIENCE, fetch_keys=realm.jwks)
    with pytest.raises(ServiceUnavailable):
        cold.verify(realm.token())


# -- through the gateway --------------------------------------------------------------------


@pytest.fixture
def sso_app(district, verifier):
    app = create_app(district)
    app.state.token_verifier = verifier
    return app


def test_gateway_accepts_bearer_tokens(sso_app, realm):
    c = client_as(sso_app, None)
    r = c.get("/api/whoami", headers={"authorization": f"Bearer {realm.token()}"})
    assert r.status_code == 200, r.text
    assert r.json()["department"] == "gaj" and r.json()["roles"] == [DEPT_ADMIN]
    cams = c.get("/api/cameras", headers={"authorization": f"Bearer {realm.token()}"}).json()
    assert cams["items"] and {x["department"] for x in cams["items"]} == {"gaj"}


def test_gateway_refuses_forged_bearer_tokens(sso_app, realm):
    c = client_as(sso_app, None)
    for case, token in _forged(realm).items():
        r = c.get("/api/whoami", headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 401, (case, r.text)
        assert r.json()["error"] == "unauthenticated" and "Traceback" not in r.text


def test_dead_keycloak(runtime, district):
    """Keycloak configured but not answering: bearer tokens and SSO login get a clean 503;
    the local admin login keeps working."""
    dead = f"https://127.0.0.1:{free_port()}"
    district.settings.keycloak_url = dead
    app = create_app(district)
    c = client_as(app, None)
    token = Realm().token()
    r = c.get("/api/whoami", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 503 and "Keycloak" in r.json()["message"] and r.json()["hint"]
    r = c.get("/login/sso", follow_redirects=False)
    assert r.status_code == 503 and "not answering" in r.json()["message"]
    assert "href=/login/sso" in c.get("/signin").text
    html = c.get("/login/sso", headers={"accept": "text/html"}, follow_redirects=False)
    assert html.status_code == 503 and "统一身份认证服务暂不可用" in html.text
    login = c.get(f"/login?token={app.state.local_login.token}", follow_redirects=False)
    assert login.status_code == 303
    assert c.get("/api/whoami").json()["subject"] == "local-admin"


def test_embedded_default_has_no_sso(app):
    c = client_as(app, None)
    r = c.get("/login/sso", follow_redirects=False)
    assert r.status_code == 404 and "/login/sso" not in c.get("/signin").text
    assert "not configured" in r.json()["message"]
    r = c.get("/api/whoami", headers={"authorization": "Bearer x.y.z"})
    assert r.status_code == 401 and "no identity provider" in r.json()["message"]


# -- issue #15: audiences, withdrawn keys, three-role separation ----------------------------


def test_a_department_apps_token_is_not_a_platform_token(verifier, realm, sso_app):
    """azp = a department app: that app's backend holds the token; the gateway refuses it."""
    app_token = realm.token(azp="gaj-case-portal")
    with pytest.raises(Unauthenticated, match="gaj-case-portal") as refused:
        verifier.verify(app_token)
    assert "platform" in refused.value.message and refused.value.hint
    with pytest.raises(Unauthenticated):
        verifier.verify(realm.token(azp=None))
    assert verifier.verify(realm.token(azp="govops-cli")).department == "gaj"
    r = client_as(sso_app, None).get("/api/whoami", headers={"authorization": f"Bearer {app_token}"})
    assert r.status_code == 401 and "not for the govops platform" in r.json()["message"]


def test_a_withdrawn_signing_key_is_dropped_within_60_seconds(verifier, realm, monkeypatch):
    token = realm.token()
    assert verifier.verify(token).subject == "u-1"
    fetches = realm.fetches
    realm.keys = {"k2": rsa.generate_private_key(65537, 2048)}  # the realm withdraws k1
    base, wall = time.monotonic(), time.time()
    monkeypatch.setattr(time, "monotonic", lambda: base + 61.0)  # a minute later
    monkeypatch.setattr(time, "time", lambda: wall + 61.0)
    with pytest.raises(Unauthenticated, match="unknown key"):
        verifier.verify(token)  # the same token, cached a minute ago: checked again, refused
    assert realm.fetches > fetches
    assert verifier.verify(realm.token(kid="k2")).subject == "u-1"


def test_a_token_holding_two_separated_roles_is_refused(verifier, realm):
    with pytest.raises(Unauthenticated, match="malformed"):
        verifier.verify(realm.token(realm_access={"roles": [{"not": "a role"}]}))
    for roles in ([OPS_ENGINEER, AUDITOR], [SEC_ADMIN, AUDITOR], [OPS_ENGINEER, SEC_ADMIN, AUDITOR]):
        with pytest.raises(Unauthenticated, match="三员分立") as refused:
            verifier.verify(realm.token(realm_access={"roles": roles}))
        assert "sec-admin" in refused.value.hint
    assert verifier.verify(realm.token(realm_access={"roles": [OPS_ENGINEER, DEPT_ADMIN]})).roles == frozenset(
        {OPS_ENGINEER, DEPT_ADMIN}
    )
