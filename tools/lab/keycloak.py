"""Start a throw-away Keycloak (`kc.sh start-dev`) on free loopback ports.

    handle = start_keycloak(tmp_path / "keycloak")
    handle.base_url        # http://127.0.0.1:<port>
    handle.admin_user, handle.admin_password   # bootstrap admin of the master realm
    handle.stop()          # by its own PID (process group), never by name

The distribution comes from `make tools` (tools/components/keycloak.sh), which primes it with one
start-dev run with BUILD_OPTIONS; start-dev with the same build options skips the Quarkus
re-augmentation (~30 s).
Everything the instance writes (H2 dev-file database, transaction logs, log) stays under `workdir`,
so several instances (and several test sessions) can share one cached distribution.

HTTPS with mutual TLS is optional: pass `tls=KeycloakTLS(cert, key, truststore)` (PEM files).
The HTTPS port then asks for a client certificate (`--https-client-auth=request` by default) and
trusts the CAs in the truststore PEM; health stays on the plain-HTTP management port.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.components import component_dir
from tools.lab.process import ManagedProcess, free_port

# Build-time options: keep in sync with BUILD_OPTIONS in tools/components/keycloak.sh, which
# primed the distribution with them. Adding another build-time option (e.g. --features=...) makes
# start-dev re-augment the SHARED cached distribution: change both lists and re-run `make tools`.
BUILD_OPTIONS = ("--health-enabled=true", "--db=dev-file")
ADMIN_USER = "lab-admin"
STARTUP_TIMEOUT = 240.0  # cold JVM on a busy 2-core machine
# C1 JIT only: halves start-up on a loaded 2-core machine (measured 27 s vs 58-65 s warm).
JVM_OPTS = "-XX:TieredStopAtLevel=1"


@dataclass(frozen=True)
class KeycloakTLS:
    """PEM files for the HTTPS port. `truststore` holds the CA(s) that issue client certificates."""

    cert: Path
    key: Path
    truststore: Path | None = None
    client_auth: str = "request"  # none | request | required


@dataclass
class KeycloakHandle:
    base_url: str  # plain HTTP, http://127.0.0.1:<http_port>
    admin_user: str
    admin_password: str
    process: ManagedProcess
    http_port: int
    management_port: int
    workdir: Path
    https_url: str | None = None  # https://127.0.0.1:<https_port> when tls was given
    https_port: int | None = None
    startup_seconds: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}/health/ready"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/realms/master/protocol/openid-connect/token"

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def stop(self) -> None:
        self.process.stop(grace=20)


def keycloak_home() -> Path:
    """The cached distribution (raises ComponentMissing naming `make tools`)."""
    home = component_dir("keycloak", "KEYCLOAK_VERSION")
    if not (home / "bin" / "kc.sh").is_file():
        from tools.components import ComponentMissing

        raise ComponentMissing("keycloak", f"{home}/bin/kc.sh missing")
    return home


def start_keycloak(
    workdir: Path,
    *,
    tls: KeycloakTLS | None = None,
    admin_password: str | None = None,
    extra_args: tuple[str, ...] = (),
    timeout: float = STARTUP_TIMEOUT,
    heap: str = "-Xms64m -Xmx768m",
    jvm_opts: str = JVM_OPTS,
) -> KeycloakHandle:
    """Run `kc.sh start-dev` on free 127.0.0.1 ports and wait until /health/ready says UP."""
    home = keycloak_home()
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    http_port, mgmt_port = free_port(), free_port()
    password = admin_password or secrets.token_urlsafe(18)

    args: list[str] = [
        str(home / "bin" / "kc.sh"), "start-dev", *BUILD_OPTIONS,
        "--http-enabled=true", "--http-host=127.0.0.1", f"--http-port={http_port}",
        f"--http-management-port={mgmt_port}", "--http-management-scheme=http",
        "--hostname-strict=false",
    ]
    https_port = None
    if tls is not None:
        https_port = free_port()
        args += [
            f"--https-port={https_port}",
            f"--https-certificate-file={Path(tls.cert).resolve()}",
            f"--https-certificate-key-file={Path(tls.key).resolve()}",
            f"--https-client-auth={tls.client_auth}",
        ]
        if tls.truststore is not None:
            args += [f"--https-trust-store-file={Path(tls.truststore).resolve()}",
                     "--https-trust-store-type=pem"]
    args += list(extra_args)

    data = workdir / "data"
    env = {
        "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
        "KC_BOOTSTRAP_ADMIN_PASSWORD": password,
        # Keep the H2 database and the transaction object store out of the shared distribution.
        "JAVA_OPTS_APPEND": (
            f"-Dkc.db-url-path={workdir} "
            f"-Dquarkus.transaction-manager.object-store.directory={data / 'transaction-logs'} "
            f"-Djava.io.tmpdir={workdir / 'tmp'} {jvm_opts}"
        ),
        "JAVA_OPTS_KC_HEAP": heap,
    }
    (workdir / "tmp").mkdir(exist_ok=True)
    started = time.monotonic()
    proc = ManagedProcess("keycloak", args, workdir / "keycloak.log", env=env, cwd=workdir)
    handle = KeycloakHandle(
        base_url=f"http://127.0.0.1:{http_port}", admin_user=ADMIN_USER, admin_password=password,
        process=proc, http_port=http_port, management_port=mgmt_port, workdir=workdir,
        https_url=f"https://127.0.0.1:{https_port}" if https_port else None, https_port=https_port,
    )
    proc.wait_http(handle.health_url, timeout=timeout,
                   ok=lambda r: r.status_code == 200 and r.json().get("status") == "UP")
    handle.startup_seconds = time.monotonic() - started
    return handle
