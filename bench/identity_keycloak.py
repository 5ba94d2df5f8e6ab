"""X.509 logins and directory import against the real Keycloak (one throw-away instance).

    .venv/bin/python bench/identity_keycloak.py [--logins 200] [--users 2000] [--only login|directory]

Lab as in tests/integration/test_identity_keycloak.py: our CA issues Keycloak's HTTPS certificate
and the users' certificates, Keycloak runs mTLS on its HTTPS port, the gateway serves the CRL the
X.509 authenticator checks, the realm comes from `identity apply`.

Prints one JSON object:
- X.509 direct-grant logins: p50/p95 with a new TLS connection per login (a CLI or script) and
  over one kept-alive mTLS connection, and the ratio to a password grant on the same Keycloak
  and realm (a bench client bound to the built-in password direct-grant flow). Goal p95 ≤ 150 ms.
- Directory import: users per second creating N users, and re-importing the same file (no-op).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvicorn
from pydantic import SecretStr

from gateway.app import create_app
from gateway.runtime import Runtime
from gateway.sample_district import DEPARTMENTS, DISTRICT
from govops.org import Department
from govops.settings import load_settings
from identity import directory, realm
from identity.keycloak_adapter import KeycloakAdapter, OidcEndpoints, tls_context
from identity.pki import CertificateAuthority, CivilServant
from tools.lab.keycloak import KeycloakTLS, start_keycloak
from tools.lab.process import free_port

# Distinct people, round-robin: Keycloak's blocking brute-force protector refuses a login while
# the same user's previous one is still being recorded (a person does not sign in 20 times a
# second; a benchmark hammering one account measures that guard, not the login).
USERS = 20


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return round(s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] * 1000, 1)


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50_ms": pct(samples, 50),
        "p95_ms": pct(samples, 95),
        "mean_ms": round(statistics.fmean(samples) * 1000, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--logins", type=int, default=200)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--only", choices=["login", "directory"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="govops-bench-") as tmp:
        print(json.dumps(run(Path(tmp), args)))


def run(root: Path, args: argparse.Namespace) -> dict[str, object]:
    port = free_port()
    gateway = f"http://127.0.0.1:{port}"
    settings = load_settings(data_dir=root / "data", environment="test", public_url=gateway)
    rt = Runtime.build(settings)
    rt.migrate()
    ca = CertificateAuthority.from_settings(settings, rt.box)
    with rt.transaction() as s:
        for code, name, zone in DEPARTMENTS:
            s.add(Department(code=code, name=name, sso_group=f"/{DISTRICT[0]}/{code}", zone=zone))
        ca.init(s, actor="bench")
        server = ca.issue_server(s, ["127.0.0.1"], actor="bench")
        people = [
            ca.issue(s, CivilServant(f"J{10000001 + i}", "王明", "金山公安分局"), actor="bench") for i in range(USERS)
        ]
    (root / "server.crt").write_bytes(server.chain_pem)
    (root / "server.key").write_bytes(server.key_pem)
    (root / "trust.pem").write_bytes(ca.chain_pem())
    for i, person in enumerate(people):
        (root / f"user{i}.crt").write_bytes(person.chain_pem)
        (root / f"user{i}.key").write_bytes(person.key_pem)
    trust = root / "trust.pem"

    kc_handle = start_keycloak(root / "keycloak", tls=KeycloakTLS(root / "server.crt", root / "server.key", trust))
    web = None
    try:
        settings.keycloak_url = kc_handle.https_url
        settings.keycloak_admin_url = kc_handle.base_url
        settings.keycloak_admin_user = kc_handle.admin_user
        settings.keycloak_admin_password = SecretStr(kc_handle.admin_password)
        settings.keycloak_ca_file = trust
        web = uvicorn.Server(uvicorn.Config(create_app(rt), host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=web.run, daemon=True).start()
        while not web.started:
            time.sleep(0.1)
        kc = KeycloakAdapter.from_settings(settings)
        with rt.sessions() as s:
            spec = realm.spec_from_settings(settings, s)
        realm.apply(kc, spec)
        result: dict[str, object] = {
            "benchmark": "identity_keycloak",
            "keycloak_startup_s": round(kc_handle.startup_seconds, 1),
            "loadavg_1m_start": round(os.getloadavg()[0], 2),
        }
        if args.only in (None, "login"):
            result["login"] = bench_logins(
                kc, settings.keycloak_realm, kc_handle.https_url or "", root, trust, args.logins
            )
        if args.only in (None, "directory"):
            result["directory"] = bench_directory(rt, kc, root, args.users)
        result["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
        return result
    finally:
        if web is not None:
            web.should_exit = True
        kc_handle.stop()


def bench_logins(
    kc: KeycloakAdapter, realm_name: str, https_url: str, root: Path, trust: Path, n: int
) -> dict[str, object]:
    # The civil servant, and a password user + client on the built-in password flow to compare.
    kc.partial_import(
        {
            "ifResourceExists": "SKIP",
            "users": [
                {
                    "username": f"j{10000001 + i}",
                    "enabled": True,
                    "firstName": "王明",
                    "attributes": {"civil_servant_id": [f"J{10000001 + i}"]},
                    "groups": ["/310116/gaj"],
                    "realmRoles": ["dept-admin"],
                }
                for i in range(USERS)
            ]
            + [
                {
                    "username": f"bench-password-{i}",
                    "enabled": True,
                    "firstName": "基准",
                    "credentials": [{"type": "password", "value": "Bench-Passw0rd!2026", "temporary": False}],
                }
                for i in range(USERS)
            ],
        }
    )
    builtin = next(f for f in kc.flows() if f["alias"] == "direct grant")
    kc.create_client(
        {
            "clientId": "bench-password",
            "publicClient": True,
            "directAccessGrantsEnabled": True,
            "standardFlowEnabled": False,
            "authenticationFlowBindingOverrides": {"direct_grant": builtin["id"]},
        }
    )
    endpoints = OidcEndpoints(https_url, realm_name)
    x509_form = {"grant_type": "password", "client_id": "govops-cli", "scope": "openid"}
    contexts = [tls_context(trust, (root / f"user{i}.crt", root / f"user{i}.key")) for i in range(USERS)]
    server_ctx = tls_context(trust)
    turn = itertools.count()

    def pw_form() -> dict[str, str]:
        return {
            "grant_type": "password",
            "client_id": "bench-password",
            "scope": "openid",
            "username": f"bench-password-{next(turn) % USERS}",
            "password": "Bench-Passw0rd!2026",
        }

    def timed(send) -> list[float]:  # type: ignore[no-untyped-def]
        for _ in range(5):
            assert send().status_code == 200  # warm-up (JIT, CRL fetched and cached)
        out = []
        for i in range(n):
            t = time.perf_counter()
            r = send()
            out.append(time.perf_counter() - t)
            if r.status_code != 200:
                events = kc.events(types=["LOGIN_ERROR"], max_results=3)
                raise AssertionError(f"login {i} failed: {r.status_code} {r.text} {events}")
        return out

    fresh = timed(lambda: httpx.post(endpoints.token, data=x509_form, timeout=30, verify=contexts[next(turn) % USERS]))
    keeps = [httpx.Client(verify=ctx, timeout=30) for ctx in contexts]
    try:
        kept = timed(lambda: keeps[next(turn) % USERS].post(endpoints.token, data=x509_form))
    finally:
        for k in keeps:
            k.close()
    with httpx.Client(verify=server_ctx, timeout=30) as keep:
        password = timed(lambda: keep.post(endpoints.token, data=pw_form()))
    x509_new, x509_kept, pw = summary(fresh), summary(kept), summary(password)
    return {
        "x509_new_connection": x509_new,
        "x509_keepalive": x509_kept,
        "password_grant": pw,
        "ratio_p50_x509_to_password": round(x509_kept["p50_ms"] / pw["p50_ms"], 2),
        "ratio_p95_x509_to_password": round(x509_kept["p95_ms"] / pw["p95_ms"], 2),
        "ratio_p95_x509_new_connection_to_password": round(x509_new["p95_ms"] / pw["p95_ms"], 2),
        "goal_p95_ms": 150,
        "meets_goal": x509_new["p95_ms"] <= 150,
        "users": USERS,
    }


def bench_directory(rt: Runtime, kc: KeycloakAdapter, root: Path, users: int) -> dict[str, object]:
    rows = [
        {
            "id": f"B{n:08d}",
            "name": "张王李赵陈"[n % 5] + "伟芳娜敏静"[n // 5 % 5],
            "department": ("gaj", "zzb", "cgj", "xzspj", "dsjj")[n % 5],
            "section": f"{('gaj', 'zzb', 'cgj', 'xzspj', 'dsjj')[n % 5]}-k{n % 3 + 1}",
            "section_name": f"第{n % 3 + 1}科",
            "email": f"b{n}@jinshan.gov.cn",
            "roles": "security-staff" if n % 100 == 0 else "",
            "status": "active",
        }
        for n in range(users)
    ]
    f = root / "directory.csv"
    directory.write_csv(rows, f)
    parsed = directory.parse(f)
    out: dict[str, object] = {"users": users}
    for label in ("create", "no_op"):
        with rt.transaction() as s:
            report = directory.import_directory(s, kc, parsed, actor="bench")
        d = report.as_dict(0)
        out[label] = {
            "seconds": d["elapsed_s"],
            "users_per_second": d["users_per_second"],
            "created": d["created"],
            "changed": d["changed"],
        }
    return out


if __name__ == "__main__":
    main()
