"""The etcd snapshot over TLS (infra/cluster/backup_etcd.py), with etcdctl replaced by a recorder:
the certificate paths reach etcdctl in its environment, the key's contents appear in no log line,
no argument and no audit record, and a missing file or a refused certificate is one clear error.
(The real thing, against the TLS etcd that playbooks/cluster.yml builds: test_cluster_kube.py.)"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.runtime import Runtime
from govops import audit
from govops.errors import ServiceUnavailable, ValidationFailed
from infra.cluster import backup_etcd, backup_jobs
from infra.cluster.backup_etcd import EtcdClientTLS
from infra.cluster.envelope import new_operator_key

SECRET = "-----BEGIN PRIVATE KEY-----\nTHE-BACKUP-KEY-MATERIAL-7f3a\n-----END PRIVATE KEY-----\n"
ENDPOINT = "https://127.0.0.1:2379"


@pytest.fixture
def tls(tmp_path: Path) -> EtcdClientTLS:
    pki = tmp_path / "pki"
    pki.mkdir()
    for name, body in (("ca.crt", "CA"), ("etcd-backup-client.crt", "CERT"), ("etcd-backup-client.key", SECRET)):
        (pki / name).write_text(body)
    (pki / "etcd-backup-client.key").chmod(0o600)
    return EtcdClientTLS(pki / "ca.crt", pki / "etcd-backup-client.crt", pki / "etcd-backup-client.key")


class Etcdctl:
    """Stands in for subprocess.run of etcdctl: records argv and environment; `refuse` makes the
    endpoint check fail with what etcd 3.4's client logs when the server rejects its certificate."""

    def __init__(self, refuse: str | None = None) -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []
        self.refuse = refuse

    def __call__(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((argv, kw["env"]))
        if self.refuse and "status" in argv:
            return subprocess.CompletedProcess(argv, 1, "", self.refuse)
        if "save" in argv:
            Path(argv[-1]).write_bytes(b"etcd snapshot bytes")
        return subprocess.CompletedProcess(argv, 0, "", "")


def test_the_certificate_paths_go_to_etcdctl_and_the_key_is_never_logged(
    runtime: Runtime, tls: EtcdClientTLS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    etcdctl = Etcdctl()
    monkeypatch.setattr(backup_etcd.subprocess, "run", etcdctl)
    caplog.set_level(logging.DEBUG)
    _, public = new_operator_key()
    result = backup_jobs.backup(
        runtime.settings, "cli:op", public, tmp_path / "b", etcd_endpoints=ENDPOINT, etcd_tls=tls
    )
    assert result.items["etcd"] == len(b"etcd snapshot bytes")
    assert [argv[3:5] for argv, _ in etcdctl.calls] == [
        ["--dial-timeout=10s", "--command-timeout=30s"],
        ["snapshot", "save"],
    ]
    assert etcdctl.calls[0][0][-2:] == ["endpoint", "status"]
    for argv, env in etcdctl.calls:
        assert argv[:3] == ["etcdctl", "--endpoints", ENDPOINT]
        assert env["ETCDCTL_API"] == "3"
        assert (env["ETCDCTL_CACERT"], env["ETCDCTL_CERT"], env["ETCDCTL_KEY"]) == tuple(
            map(str, (tls.cacert, tls.cert, tls.key))
        )
        assert str(tls.key) not in argv and "THE-BACKUP-KEY" not in " ".join(argv)
    with runtime.transaction() as s:
        [record] = s.scalars(select(audit.AuditRecord).where(audit.AuditRecord.action == backup_jobs.BACKUP))
    assert record.detail["etcd"] == {"endpoints": ENDPOINT, "client_cert": str(tls.cert)}
    assert "THE-BACKUP-KEY" not in json.dumps(record.detail)
    assert "THE-BACKUP-KEY" not in caplog.text


def test_a_missing_certificate_is_one_clear_error_before_any_etcdctl_or_dump(
    runtime: Runtime, tls: EtcdClientTLS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etcdctl = Etcdctl()
    monkeypatch.setattr(backup_etcd.subprocess, "run", etcdctl)
    tls.cert.unlink()
    _, public = new_operator_key()
    with pytest.raises(ValidationFailed) as refused:
        backup_jobs.backup(runtime.settings, "cli:op", public, tmp_path / "b", etcd_endpoints=ENDPOINT, etcd_tls=tls)
    assert refused.value.message == f"no etcd client certificate at {tls.cert}"
    assert "cluster_pki" in (refused.value.hint or "")
    assert etcdctl.calls == [] and not (tmp_path / "b").exists()
    with runtime.transaction() as s:
        failed = s.scalars(select(audit.AuditRecord).where(audit.AuditRecord.action == backup_jobs.BACKUP)).one()
    assert failed.result == "failure" and str(tls.cert) in failed.detail["error"]


@pytest.mark.parametrize(
    ("stderr", "says"),
    [
        # what etcd 3.4's client logs when the server drops the TLS handshake (certificate refused)
        ('desc = "transport: failed to write client preface: write: connection reset by peer"', "refused the client"),
        ('desc = "transport: authentication handshake failed: x509: certificate signed by unknown authority"', "CA"),
        ('desc = "transport: Error while dialing dial tcp 127.0.0.1:2379: connect: connection refused"', "nothing"),
    ],
)
def test_etcd_refusing_is_one_clear_error_and_no_snapshot_is_attempted(
    tls: EtcdClientTLS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stderr: str, says: str
) -> None:
    etcdctl = Etcdctl(refuse=f'{{"level":"warn","error":"rpc error: {stderr}"}}\nFailed (context deadline exceeded)')
    monkeypatch.setattr(backup_etcd.subprocess, "run", etcdctl)
    with pytest.raises(ServiceUnavailable) as refused:
        backup_etcd.snapshot(ENDPOINT, tmp_path, tls)
    assert says in refused.value.message and "\n" not in refused.value.message and refused.value.hint
    assert "THE-BACKUP-KEY" not in str(refused.value)
    assert len(etcdctl.calls) == 1 and not (tmp_path / "snapshot.db").exists()


def test_tls_files_are_all_three_or_none_and_want_https(tls: EtcdClientTLS, tmp_path: Path) -> None:
    assert EtcdClientTLS.from_options(None, None, None) is None
    with pytest.raises(ValidationFailed, match="--etcd-key not given"):
        EtcdClientTLS.from_options(tls.cacert, tls.cert, None)
    with pytest.raises(ValidationFailed, match="not https://"):
        backup_etcd.snapshot("http://127.0.0.1:2379", tmp_path, tls)


def test_the_cli_names_the_missing_key_in_one_line(tls: EtcdClientTLS, tmp_path: Path) -> None:
    _, public = new_operator_key()
    (tmp_path / "op.pub").write_bytes(public)
    tls.key.unlink()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "govops"), "cluster", "backup", "--recipient", str(tmp_path / "op.pub"),
         "--target", str(tmp_path / "b"), "--etcd", ENDPOINT, "--etcd-cacert", str(tls.cacert),
         "--etcd-cert", str(tls.cert), "--etcd-key", str(tls.key), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin", "GOVOPS_DATA_DIR": str(tmp_path / "data"), "GOVOPS_ENVIRONMENT": "test"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"error: no etcd client key at {tls.key}" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_an_unreadable_key_names_the_account_to_run_as(tls: EtcdClientTLS, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = Path.open

    def refuse_key(self: Path, *args: Any, **kw: Any) -> Any:
        if self == tls.key:  # what a backup not run as backup_user meets (tests run as root: no chmod)
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kw)

    monkeypatch.setattr(Path, "open", refuse_key)
    with pytest.raises(ValidationFailed) as refused:
        tls.check()
    assert refused.value.message == f"cannot read the etcd client key {tls.key}: Permission denied"
    assert "backup_user" in (refused.value.hint or "")
