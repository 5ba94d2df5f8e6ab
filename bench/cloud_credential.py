"""Benchmark: the token exchange through kubectl's credential plugin (`govops cloud credential`),
cold, refreshed and cached, against a direct token request to the same Keycloak in the same run.

Set-up: `govops lab up gateway` on a temporary data directory (PostgreSQL, the project's CA,
Keycloak with mTLS, the realm with its civil servants, the gateway serving the CRL Keycloak
checks), torn down by its PIDs at the end. The person is the lab's dept-admin of gaj, signing in
with their certificate (X.509 direct grant to the `kubernetes` client).

  baseline_direct_token   one X.509 token request from this process (httpx, a new TLS handshake
                          each time: what any client pays for one token)
  plugin_cold             `govops cloud credential` with an empty cache: process start, the
                          same login, encrypt + write the cache
  plugin_refresh          a cache whose access token has run out: process start + the refresh
                          grant (no certificate check, no CRL)
  plugin_cached           a cache holding a valid token: process start + decrypt, no network
  inprocess_cached        get_credential() on a warm cache without the process (the plugin's
                          own cost, without Python's start-up)
  process_floor           `python -c pass` with the same interpreter (what no plugin can beat)

Prints one JSON object: p50/p95/mean (ms) per case, ratios to the baseline, peak RSS of the
plugin processes. Usage: python bench/cloud_credential.py [--runs 20]

Measured 2026-12-05 on the shared 2-core build machine (load average ~17, so absolute numbers
are pessimistic), 20 runs each, p50/p95 ms: direct token 184/361; plugin cold 1242/1534, refresh
1232/1563, cached 388/466 (ratios to the direct request 6.8, 6.7, 2.1); `python -c pass` 55/128;
peak RSS 44 MB cold, 30 MB cached. Before the plugin got its own light front door (Typer, the
whole CLI and the CA's SQLAlchemy code on every call): cold 9856, cached 2840.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jwt  # noqa: E402

from identity.keycloak_adapter import OidcEndpoints  # noqa: E402
from identity.kubeauth import Login, TokenCache, get_credential  # noqa: E402
from identity.login import certificate_login  # noqa: E402

GOVOPS = Path(sys.executable).with_name("govops")
REALM = "civil-servants"
PERSON = "dept-admin-gaj"


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("GOVOPS_")}, **extra}


def _lab(data_dir: Path, *args: str) -> list[dict]:
    out = subprocess.run(
        [str(GOVOPS), "lab", *args, "--json"],
        capture_output=True,
        text=True,
        env=_env(GOVOPS_DATA_DIR=str(data_dir), GOVOPS_ENVIRONMENT="test"),
        cwd=REPO,
        timeout=1800,
    )
    if out.returncode != 0 and args[0] == "up":
        raise SystemExit(f"lab up failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    return json.loads(out.stdout) if out.stdout.strip() else []


def _stats(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=20, method="inclusive")
    return {
        "runs": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(q[18], 1),
        "mean_ms": round(statistics.fmean(ms), 1),
    }


def _peak_rss_mb(argv: list[str]) -> float:
    """Peak RSS of one plugin process (GNU time's %M, in KiB)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True, env=_env(), check=True)
    return round(int(out.stderr.strip().splitlines()[-1]) / 1024, 1)


def _timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    runs = args.runs

    with tempfile.TemporaryDirectory(prefix="bench-credential-") as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        started = time.perf_counter()
        try:
            _lab(data_dir, "up", "gateway")
            setup_s = time.perf_counter() - started
            state = json.loads((data_dir / "lab" / "state.json").read_text())
            keycloak_url = state["keycloak"]["details"]["https_url"]
            trust = Path(state["pki"]["details"]["truststore"])
            people = data_dir / "lab" / "people"
            cert, key = people / f"{PERSON}.pem", people / f"{PERSON}.key"
            endpoints = OidcEndpoints(keycloak_url, REALM)
            argv = [
                str(GOVOPS), "cloud", "credential", "--keycloak-url", keycloak_url, "--realm", REALM,
                "--ca-file", str(trust), "--cert", str(cert), "--key", str(key),
            ]  # fmt: skip

            def plugin(cache_dir: Path) -> str:
                out = subprocess.run(
                    [*argv, "--cache-dir", str(cache_dir)], capture_output=True, text=True, env=_env(), check=False
                )
                if out.returncode != 0:
                    raise SystemExit(f"plugin failed: {out.stderr}")
                return str(json.loads(out.stdout)["status"]["token"])

            # warm-up: the realm's first X.509 login loads the CRL, the JIT warms
            for _ in range(3):
                certificate_login(endpoints, cert, key, ca_file=trust, client_id="kubernetes")
                plugin(root / "warmup")

            baseline = _timed(
                lambda: certificate_login(endpoints, cert, key, ca_file=trust, client_id="kubernetes"), runs
            )
            cold_dirs = iter(root / f"cold-{i}" for i in range(runs))
            cold = _timed(lambda: plugin(next(cold_dirs)), runs)

            warm = root / "warm"
            plugin(warm)
            cached = _timed(lambda: plugin(warm), runs)

            login = Login(keycloak_url, REALM, "kubernetes", trust, cert, key)
            cache = TokenCache(warm, login)
            inproc = _timed(lambda: get_credential(login, cache), runs)

            def expire_then_run() -> None:
                tokens = cache.load()
                assert tokens is not None
                claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
                claims["exp"] = int(time.time()) - 60  # as if five minutes had passed
                tokens.access_token = jwt.encode(claims, "x" * 32, algorithm="HS256")
                cache.store(tokens)
                t = time.perf_counter()
                plugin(warm)
                refresh.append(time.perf_counter() - t)

            refresh: list[float] = []
            for _ in range(runs):
                expire_then_run()

            floor = _timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), runs)
            rss = {
                name: _peak_rss_mb([*argv, "--cache-dir", str(d)])
                for name, d in (("cold", root / "rss"), ("cached", warm))
            }
        finally:
            _lab(data_dir, "down")

    base = statistics.median(baseline)
    result = {
        "bench": "cloud_credential",
        "what": "kubectl exec credential plugin (govops cloud credential), X.509 login to the kubernetes client",
        "setup_s": round(setup_s, 1),
        "baseline_direct_token": _stats(baseline),
        "plugin_cold": _stats(cold),
        "plugin_refresh": _stats(refresh),
        "plugin_cached": _stats(cached),
        "inprocess_cached": _stats(inproc),
        "process_floor": _stats(floor),
        "ratio_to_baseline_p50": {
            "plugin_cold": round(statistics.median(cold) / base, 2),
            "plugin_refresh": round(statistics.median(refresh) / base, 2),
            "plugin_cached": round(statistics.median(cached) / base, 2),
        },
        "plugin_peak_rss_mb": rss,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
