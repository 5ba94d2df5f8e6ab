"""The etcd part of a backup: `etcdctl snapshot save`, over TLS with a client certificate when the
cluster's etcd requires one (the `etcd` role runs it with `--client-cert-auth`).

The certificate, its key and the CA go to etcdctl as paths in its environment (ETCDCTL_CACERT,
ETCDCTL_CERT, ETCDCTL_KEY), not on its command line; this module never reads the key's contents
and no message it writes holds more than the key's path.

etcd 3.4's `snapshot save` waits forever on an endpoint that refuses the connection (it sets no
deadline). So a short `endpoint status` goes first: it fails within its command timeout, and its
cause (certificate refused, unknown CA, nothing listening, plain http against TLS) becomes a
one-line error that says what to do.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from govops.errors import ServiceUnavailable, ValidationFailed

ETCDCTL = "etcdctl"
PREFLIGHT_TIMEOUTS = ("--dial-timeout=10s", "--command-timeout=30s")
SNAPSHOT_TIMEOUT_S = 3600
ISSUE_HINT = "issue it with playbooks/cluster.yml (cluster_pki) and install it with the backup role (backup.yml)"


@dataclass(frozen=True)
class EtcdClientTLS:
    """The files etcdctl presents to an etcd that requires client certificates."""

    cacert: Path  # the cluster CA that signed etcd's server certificate
    cert: Path  # this backup's own client certificate (cluster_pki: etcd-backup-client)
    key: Path  # its private key: a path only, never read here

    @classmethod
    def from_options(cls, cacert: Path | None, cert: Path | None, key: Path | None) -> EtcdClientTLS | None:
        """None when no file is given (a plain etcd); all three, or a clear error naming the missing one."""
        given = {"--etcd-cacert": cacert, "--etcd-cert": cert, "--etcd-key": key}
        missing = [name for name, value in given.items() if value is None]
        if len(missing) == len(given):
            return None
        if missing:
            raise ValidationFailed(
                f"etcd TLS needs the CA, the certificate and the key: {', '.join(missing)} not given",
                hint="pass all three (GOVOPS_ETCD_CACERT, GOVOPS_ETCD_CERT, GOVOPS_ETCD_KEY), or none for a plain etcd",
            )
        assert cacert is not None and cert is not None and key is not None
        return cls(cacert, cert, key)

    def check(self) -> None:
        """Each file exists and this account can open it (the key's bytes are not kept or shown)."""
        for what, path in (
            ("CA certificate", self.cacert),
            ("client certificate", self.cert),
            ("client key", self.key),
        ):
            if not path.is_file():
                raise ValidationFailed(f"no etcd {what} at {path}", hint=ISSUE_HINT)
            try:
                with path.open("rb"):
                    pass
            except OSError as exc:
                raise ValidationFailed(
                    f"cannot read the etcd {what} {path}: {exc.strerror}",
                    hint=f"run the backup as the account that owns {path} (backup_user), or fix its mode",
                ) from None

    def env(self) -> dict[str, str]:
        return {"ETCDCTL_CACERT": str(self.cacert), "ETCDCTL_CERT": str(self.cert), "ETCDCTL_KEY": str(self.key)}


def etcdctl_env(tls: EtcdClientTLS | None) -> dict[str, str]:
    """etcdctl's environment: this process's, the v3 API, and the TLS files when given (they win
    over any ETCDCTL_* inherited from the service's environment)."""
    return {**os.environ, "ETCDCTL_API": "3", **(tls.env() if tls else {})}


def _refusal(endpoints: str, stderr: str, tls: EtcdClientTLS | None) -> ServiceUnavailable:
    """What etcdctl's retry log says, as one line an operator can act on."""
    text = stderr.lower()
    if "unknown authority" in text or "certificate is not valid" in text or "doesn't contain any ip sans" in text:
        if tls is None:
            return ServiceUnavailable(
                f"etcd at {endpoints} uses TLS from a CA this host does not trust",
                hint="pass --etcd-cacert, --etcd-cert and --etcd-key (the backup role: backup_etcd_cacert …)",
            )
        return ServiceUnavailable(
            f"etcd at {endpoints} shows a server certificate the CA {tls.cacert} does not verify",
            hint="pass --etcd-cacert with the cluster CA (cluster_pki_dir/ca.crt) and an address in etcd's certificate",
        )
    if "connection refused" in text or "no route to host" in text or "no such host" in text:
        return ServiceUnavailable(
            f"nothing answers at {endpoints}", hint="check that etcd runs (`systemctl status etcd`) and the endpoint"
        )
    if "pem data" in text or "private key" in text:
        return ServiceUnavailable(
            f"etcdctl cannot load the client certificate or key{f' {tls.cert}' if tls else ''}",
            hint=f"the files must be PEM; {ISSUE_HINT}",
        )
    if "reset by peer" in text or "connection closed" in text or "bad certificate" in text or "eof" in text:
        if tls is None:
            return ServiceUnavailable(
                f"etcd at {endpoints} requires a client certificate",
                hint="pass --etcd-cacert, --etcd-cert and --etcd-key (the backup role: backup_etcd_cert …)",
            )
        return ServiceUnavailable(
            f"etcd at {endpoints} refused the client certificate {tls.cert}",
            hint="use a certificate the cluster CA signed (cluster_pki: etcd-backup-client) and that CA's ca.crt",
        )
    if "closed network connection" in text and endpoints.startswith("http://"):
        return ServiceUnavailable(
            f"etcd at {endpoints} speaks TLS", hint="use https:// and pass --etcd-cacert, --etcd-cert and --etcd-key"
        )
    last = (stderr.strip().splitlines() or ["no output"])[-1]
    return ServiceUnavailable(
        f"etcd at {endpoints} did not answer: {last[:300]}", hint="check the endpoint and that etcd runs, then retry"
    )


def _etcdctl(argv: list[str], env: dict[str, str], timeout: float, what: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([ETCDCTL, *argv], capture_output=True, text=True, env=env, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ServiceUnavailable(
            f"etcdctl is not installed here ({what})",
            hint="install etcd-client, or put the etcd role's etcdctl on PATH",
        ) from None
    except subprocess.TimeoutExpired:
        raise ServiceUnavailable(
            f"etcdctl {what} took longer than {int(timeout)} s", hint="check etcd's health, then retry"
        ) from None


def snapshot(endpoints: str, into: Path, tls: EtcdClientTLS | None = None) -> Path:
    """`etcdctl snapshot save` into `into/snapshot.db`; the endpoint is checked first (see above)."""
    if tls is not None:
        if not endpoints.startswith("https://"):
            raise ValidationFailed(
                f"etcd TLS files given but the endpoint {endpoints} is not https://",
                hint="use the etcd role's TLS endpoint, e.g. https://127.0.0.1:2379",
            )
        tls.check()
    env = etcdctl_env(tls)
    probe = _etcdctl(["--endpoints", endpoints, *PREFLIGHT_TIMEOUTS, "endpoint", "status"], env, 120, "endpoint status")
    if probe.returncode != 0:
        raise _refusal(endpoints, probe.stderr + probe.stdout, tls)
    target = into / "snapshot.db"
    done = _etcdctl(["--endpoints", endpoints, "snapshot", "save", str(target)], env, SNAPSHOT_TIMEOUT_S, "snapshot")
    if done.returncode != 0 or not target.is_file():
        raise _refusal(endpoints, done.stderr + done.stdout, tls)
    return target
