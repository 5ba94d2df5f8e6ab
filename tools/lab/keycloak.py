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

`java_security={"jdk.certpath.disabledAlgorithms": ...}` overrides JDK security properties for
this instance (a `-Djava.security.properties=` file in `workdir`): that is how the platform's
certificate policy (identity.pki.policy.jdk_disabled_algorithms) reaches Keycloak's TLS layer,
so a weak client certificate is refused in the handshake.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tools.components import ComponentMissing, component_dir
from tools.lab.process import ManagedProcess, StartupFailed, free_port

# Build-time options (`kc.sh build --help-all`): equal to BUILD_OPTIONS in
# tools/components/keycloak.sh, which primed the cached distribution with them (recorded in its
# .primed file). start-dev with other build-time options re-augments the distribution it runs
# from, so start_keycloak(build_args=...) runs such an instance from a private copy instead.
# https-client-auth is build-time in Quarkus, hence `request` is baked in: harmless without HTTPS,
# and what X.509 login needs (users without a certificate can still use other flows).
BUILD_OPTIONS = (
    "--health-enabled=true",
    "--metrics-enabled=true",
    "--db=dev-file",
    "--https-client-auth=request",
)
ADMIN_USER = "lab-admin"
STARTUP_TIMEOUT = 240.0  # cold JVM on a busy 2-core machine
PORT_ATTEMPTS = 3
# C1 JIT only: halves start-up on a loaded 2-core machine (measured 27 s vs 58-65 s warm).
JVM_OPTS = "-XX:TieredStopAtLevel=1"


@dataclass(frozen=True)
class KeycloakTLS:
    """PEM files for the HTTPS port. `truststore` holds the CA(s) that issue client certificates."""

    cert: Path
    key: Path
    truststore: Path | None = None
    client_auth: str = "request"  # none | request | required (not request: private dist copy)


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
    """The cached, primed distribution (raises ComponentMissing naming `make tools`)."""
    home = component_dir("keycloak", "KEYCLOAK_VERSION")
    if not (home / "bin" / "kc.sh").is_file():
        raise ComponentMissing("keycloak", f"{home}/bin/kc.sh missing")
    primed = (home / ".primed").read_text().strip() if (home / ".primed").is_file() else ""
    if primed != " ".join(BUILD_OPTIONS):
        need = " ".join(BUILD_OPTIONS)
        raise ComponentMissing("keycloak", f"{home} is primed for [{primed}], the lab needs [{need}]")
    return home


def _option_name(arg: str) -> str:
    return arg.split("=", 1)[0]


def _private_dist(home: Path, workdir: Path) -> Path:
    """A copy of the distribution for an instance with its own build options (~175 MB)."""
    dist = workdir / "keycloak-dist"
    if not (dist / "bin" / "kc.sh").is_file():
        shutil.copytree(home, dist, symlinks=True)
    return dist


def start_keycloak(
    workdir: Path,
    *,
    tls: KeycloakTLS | None = None,
    admin_password: str | None = None,
    extra_args: tuple[str, ...] = (),
    build_args: tuple[str, ...] = (),
    timeout: float = STARTUP_TIMEOUT,
    heap: str = "-Xms64m -Xmx768m",
    jvm_opts: str = JVM_OPTS,
    java_security: Mapping[str, str] | None = None,
) -> KeycloakHandle:
    """Run `kc.sh start-dev` on free 127.0.0.1 ports and wait until /health/ready says UP.

    `extra_args` are runtime options. `build_args` are build-time options (e.g. "--features=...");
    any that differ from BUILD_OPTIONS make this instance run from a private copy of the
    distribution that re-augments on start (+175 MB, +30-60 s), never the shared cache.
    """
    home = keycloak_home()
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    build = {_option_name(a): a for a in BUILD_OPTIONS}
    if tls is not None:
        build["--https-client-auth"] = f"--https-client-auth={tls.client_auth}"
    build.update({_option_name(a): a for a in build_args})
    if tuple(build.values()) != BUILD_OPTIONS:
        home = _private_dist(home, workdir)
    password = admin_password or secrets.token_urlsafe(18)
    data = workdir / "data"
    if java_security:
        props = workdir / "java.security"
        props.write_text("".join(f"{k}={v}\n" for k, v in java_security.items()), encoding="utf-8")
        jvm_opts = f"{jvm_opts} -Djava.security.properties={props}"
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
    for attempt in range(1, PORT_ATTEMPTS + 1):
        try:
            return _launch(home, [*build.values()], tls, extra_args, env, workdir, password, timeout)
        except StartupFailed as exc:
            # Ports are picked free, then bound ~15 s later: another process can take one meanwhile.
            if "Address already in use" not in str(exc) or attempt == PORT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _launch(
    home: Path,
    build: list[str],
    tls: KeycloakTLS | None,
    extra_args: tuple[str, ...],
    env: dict[str, str],
    workdir: Path,
    password: str,
    timeout: float,
) -> KeycloakHandle:
    http_port, mgmt_port = free_port(), free_port()
    args: list[str] = [
        str(home / "bin" / "kc.sh"),
        "start-dev",
        *build,
        "--http-enabled=true",
        "--http-host=127.0.0.1",
        f"--http-port={http_port}",
        f"--http-management-port={mgmt_port}",
        "--http-management-scheme=http",
        "--hostname-strict=false",
    ]
    https_port = None
    if tls is not None:
        https_port = free_port()
        args += [
            f"--https-port={https_port}",
            f"--https-certificate-file={Path(tls.cert).resolve()}",
            f"--https-certificate-key-file={Path(tls.key).resolve()}",
        ]
        if tls.truststore is not None:
            args += [f"--https-trust-store-file={Path(tls.truststore).resolve()}", "--https-trust-store-type=pem"]
    args += list(extra_args)
    started = time.monotonic()
    proc = ManagedProcess("keycloak", args, workdir / "keycloak.log", env=env, cwd=workdir)
    handle = KeycloakHandle(
        base_url=f"http://127.0.0.1:{http_port}",
        admin_user=ADMIN_USER,
        admin_password=password,
        process=proc,
        http_port=http_port,
        management_port=mgmt_port,
        workdir=workdir,
        https_url=f"https://127.0.0.1:{https_port}" if https_port else None,
        https_port=https_port,
    )
    try:
        proc.wait_http(
            handle.health_url, timeout=timeout, ok=lambda r: r.status_code == 200 and r.json().get("status") == "UP"
        )
        # The management interface (health) can answer before the main listeners accept.
        remaining = max(30.0, timeout - (time.monotonic() - started))
        proc.wait_http(f"{handle.base_url}/realms/master", timeout=remaining, ok=lambda r: r.status_code == 200)
        if https_port is not None:
            proc.wait_port(https_port, timeout=remaining)
    except StartupFailed:
        proc.stop()
        raise
    handle.startup_seconds = time.monotonic() - started
    return handle
