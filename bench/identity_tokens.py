"""Gateway token validation throughput: Keycloak-shaped RS256 access tokens (RSA 2048, the realm
default) through identity.tokens.JwksTokenVerifier on one core, JWKS cached (the steady state).

    .venv/bin/python bench/identity_tokens.py [--tokens 200] [--seconds 5] [--gateway]

Prints one JSON object. Goal: ≥ 10,000 tokens per second per core. `--gateway` also measures a
whole request (bearer → Principal → /api/whoami) through the ASGI app in-process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.tokens import JwksTokenVerifier

ISSUER = "https://sso.jinshan.gov.cn/realms/civil-servants"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=200, help="distinct tokens in rotation")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--gateway", action="store_true")
    args = ap.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, honestly

    key = rsa.generate_private_key(65537, 2048)
    jwk = {
        **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())),
        "kid": "k1",
        "alg": "RS256",
        "use": "sig",
    }

    def make(cache_size: int) -> JwksTokenVerifier:
        return JwksTokenVerifier(
            issuer=ISSUER,
            audience="govops-gateway",
            fetch_keys=lambda: {"keys": [jwk]},
            cache_size=cache_size,
            departments=lambda: {"/310116/gaj": "gaj", "/310116/cgj": "cgj"},
        )

    now = int(time.time())
    tokens = [
        jwt.encode(
            {
                "iss": ISSUER,
                "aud": ["govops-gateway", "account"],
                "sub": f"user-{i}",
                "typ": "Bearer",
                "iat": now,
                "exp": now + 3600,
                "azp": "govops-cli",
                "preferred_username": f"j{i:08d}",
                "realm_access": {"roles": ["dept-admin", "offline_access", "default-roles-civil-servants"]},
                "groups": ["/310116/gaj/zhian"],
                "civil_servant_id": f"J{i:08d}",
                "scope": "openid profile email",
                "sid": "x" * 36,
                "jti": f"jti-{i}",
            },
            key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )
        for i in range(args.tokens)
    ]
    full = _rate(make(0), tokens, args.seconds)  # every token verified in full
    cached = _rate(make(10_000), tokens, args.seconds)  # the same tokens presented again
    result = {
        "benchmark": "identity_tokens",
        "algorithm": "RS256",
        "key_bits": 2048,
        "tokens_per_second_per_core": full["per_second"],
        "tokens_per_second_wall": full["wall_per_second"],
        "microseconds_per_token": full["us"],
        "repeat_tokens_per_second_per_core": cached["per_second"],
        "repeat_microseconds_per_token": cached["us"],
        "repeat_tokens_per_second_wall": cached["wall_per_second"],
        "goal_tokens_per_second": 10000,
        "meets_goal": full["per_second"] >= 10000,
        "distinct_tokens": len(tokens),
        "cpu": platform.processor() or platform.machine(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }
    verifier = make(10_000)
    if args.gateway:
        result.update(_through_gateway(verifier, tokens, args.seconds))
    print(json.dumps(result))


def _rate(verifier: JwksTokenVerifier, tokens: list[str], seconds: float) -> dict[str, float]:
    for t in tokens[:10]:
        verifier.verify(t)  # warm: the JWKS is fetched once
    n = 0
    started, cpu0 = time.perf_counter(), time.process_time()
    while time.perf_counter() < started + seconds:
        for t in tokens:
            verifier.verify(t)
        n += len(tokens)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    # Per core = per CPU-second this process got: on a shared machine wall time also counts
    # the time other processes held the core.
    return {"per_second": round(n / cpu), "us": round(cpu / n * 1e6, 1), "wall_per_second": round(n / elapsed)}


def _through_gateway(verifier: JwksTokenVerifier, tokens: list[str], seconds: float) -> dict[str, float]:
    import tempfile

    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.runtime import Runtime
    from govops.settings import load_settings

    with tempfile.TemporaryDirectory() as d:
        rt = Runtime.build(load_settings(data_dir=Path(d), environment="test"))
        rt.migrate()
        app = create_app(rt)
        app.state.token_verifier = verifier
        client = TestClient(app)
        n = 0
        started = time.perf_counter()
        while time.perf_counter() < started + seconds:
            for t in tokens[:50]:
                r = client.get("/api/v1/whoami", headers={"authorization": f"Bearer {t}"})
                assert r.status_code == 200
            n += 50
        elapsed = time.perf_counter() - started
    return {"gateway_requests_per_second": round(n / elapsed), "gateway_ms_per_request": round(elapsed / n * 1000, 3)}


if __name__ == "__main__":
    main()
