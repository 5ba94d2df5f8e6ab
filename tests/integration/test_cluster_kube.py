"""A real Kubernetes cluster from the playbooks: two systemd-nspawn targets in namespaces this test
creates (10.213.0.0/24 exists nowhere else). playbooks/cluster.yml makes the cluster CA on the
controller, etcd and the control plane on the first target and a kubelet on the second; the node
turns Ready, a scheduled host-network pod runs and answers, and a second run changes nothing.
Last, the backup role's service snapshots this cluster's TLS etcd and the snapshot restores.
Every binary and image is this project's own (the targets reach no mirror and no registry)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from infra.cluster.runner import PlaybookResult, run_playbook
from tests.fixtures.platform import need
from tools.lab.cluster_targets import ClusterBinaries, cluster_inventory, kubectl
from tools.lab.etcd import start_plain_etcd
from tools.lab.targets import TargetLab

# a cold first apply copies ~350 MB of binaries into the targets; a loaded machine needs the margin
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

POD = """
apiVersion: v1
kind: Pod
metadata: {name: hello, namespace: default}
spec:
  hostNetwork: true
  automountServiceAccountToken: false
  containers:
    - name: hello
      image: %s
      imagePullPolicy: Never
"""


class Cluster:
    def __init__(self, lab: TargetLab, binaries: ClusterBinaries, workdir: Path) -> None:
        self.lab, self.binaries, self.pki = lab, binaries, workdir / "pki"
        self.inventory = workdir / "hosts.yml"
        self.inventory.write_text(yaml.safe_dump(cluster_inventory(lab, self.pki, binaries)))
        self.runs: list[PlaybookResult] = []
        self.seconds: dict[str, float] = {}

    def kubectl(self, *args: str) -> str:
        done = kubectl(self.lab, self.binaries, self.pki / "admin.conf", *args)
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr.strip()}"
        return done.stdout


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    binaries = need(ClusterBinaries.find)
    lab = TargetLab(tmp_path_factory.mktemp("targets"), count=2)
    need(lab.start)
    try:
        cluster = Cluster(lab, binaries, tmp_path_factory.mktemp("cluster"))
        t0 = time.monotonic()
        first = run_playbook(cluster.inventory, "cluster.yml")
        cluster.seconds["first_apply"] = time.monotonic() - t0
        cluster.runs.append(first)
        assert first.ok, first.failures
        # Ready is the kubelet's and the controllers' verdict: wait on it, as an operator would
        cluster.kubectl("wait", "--for=condition=Ready", "node/tgt2", "--timeout=240s")
        cluster.seconds["node_ready_after_apply"] = time.monotonic() - t0 - cluster.seconds["first_apply"]
        yield cluster
    finally:
        lab.stop()


def test_the_node_joins_and_is_ready(cluster: Cluster) -> None:
    nodes = cluster.kubectl(
        "get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.nodeInfo.kubeletVersion}{'\\n'}{end}"
    )
    assert nodes.split() == ["tgt2", "v1.34.4"]
    ready = cluster.kubectl("get", "node", "tgt2", "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}")
    assert ready == "True"
    runtime = cluster.kubectl("get", "node", "tgt2", "-o", "jsonpath={.status.nodeInfo.containerRuntimeVersion}")
    assert runtime.startswith("containerd://")
    print(f"\ncluster timings: {cluster.seconds}")


def test_a_scheduled_host_network_pod_runs_and_answers(cluster: Cluster) -> None:
    from tools.components import versions

    manifest = cluster.pki.parent / "pod.yaml"
    manifest.write_text(POD % versions()["LAB_POD_IMAGE"])
    cluster.kubectl("apply", "-f", str(manifest))
    cluster.kubectl("wait", "--for=condition=Ready", "pod/hello", "--timeout=180s")
    pod = cluster.kubectl("get", "pod", "hello", "-o", "jsonpath={.spec.nodeName} {.status.phase} {.status.podIP}")
    assert pod.split() == ["tgt2", "Running", cluster.lab.targets[1].address]
    # the pod's own answer, through the hub namespace to the node's address (host networking)
    import subprocess

    answer = subprocess.run(
        ["ip", "netns", "exec", cluster.lab.hub, "curl", "-sS", "--max-time", "20",
         f"http://{cluster.lab.targets[1].address}:18080/"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert answer.stdout.strip() == "govops lab pod on tgt2", answer.stderr
    # the API server reaches the kubelet's own API over TLS (logs), and etcd holds the pod
    assert cluster.kubectl("logs", "hello") == ""
    key = cluster.lab.exec(
        cluster.lab.targets[0],
        "sh",
        "-c",
        "set -a; . /etc/etcd/etcdctl.env; etcdctl get --keys-only --prefix /registry/pods/default/",
    )
    assert "/registry/pods/default/hello" in key.stdout, key.stderr


def test_a_second_apply_changes_nothing(cluster: Cluster) -> None:
    changed: list[str] = []
    again = run_playbook(
        cluster.inventory,
        "cluster.yml",
        on_event=lambda host, task, what: changed.append(f"{host}: {task}") if what == "changed" else None,
    )
    assert again.ok, again.failures
    assert sorted(again.stats) == ["localhost", "tgt1", "tgt2"]
    counts = {h: s.get("changed", 0) for h, s in again.stats.items()}
    assert counts == {"localhost": 0, "tgt1": 0, "tgt2": 0}, changed
    ready = cluster.kubectl("get", "node", "tgt2", "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}")
    assert ready == "True"


def test_check_mode_on_the_applied_cluster_changes_nothing(cluster: Cluster) -> None:
    """`govops cluster check --playbook cluster.yml`: --check --diff on a cluster as it should be."""
    check = run_playbook(cluster.inventory, "cluster.yml", check=True)
    assert check.ok, check.failures
    assert check.changed == 0, {h: o.diffs for h, o in check.hosts.items() if o.diffs}


def test_the_projects_pulumi_tenants_apply_to_this_cluster(cluster: Cluster, tmp_path: Path) -> None:
    """The cloud's department tenants (namespaces, quotas, network policies, RBAC) on the real
    cluster, through the provisioning engine. The platform's own workloads are left out: their
    image (registry.gov.local/govops/govops) is in no registry the lab can reach."""
    from govops.settings import load_settings
    from infra.provisioning.binaries import PulumiBinaries
    from infra.provisioning.contract import EngineConfig
    from infra.provisioning.engine import PulumiEngine
    from tools.lab.cluster_targets import apiserver_relay, loopback_kubeconfig

    relay, port = apiserver_relay(cluster.lab, tmp_path)
    try:
        kubeconfig = loopback_kubeconfig(cluster.pki / "admin.conf", port, tmp_path / "kubeconfig")
        engine = PulumiEngine(
            EngineConfig(
                stack="cluster-it",
                backend_url=f"file://{tmp_path / 'state'}",
                passphrase="integration-pass",
                kubeconfig=kubeconfig,
                departments_file=Path(__file__).resolve().parents[2] / "infra" / "departments.yaml",
                pulumi_home=tmp_path / "pulumi-home",
                bin_dirs=PulumiBinaries.from_settings(load_settings(data_dir=tmp_path / "data")).dirs(),
                platform=False,
            )
        )
        (tmp_path / "state").mkdir()
        run = engine.up()
        assert run.ok, run.error
        assert run.counts.get("create", 0) >= 5 * 9
    finally:
        relay.stop()
    namespaces = cluster.kubectl("get", "namespaces", "-l", "govops.cn/tenant=true", "-o", "name").split()
    assert sorted(namespaces) == [f"namespace/dept-{d}" for d in ("cgj", "dsjj", "gaj", "xzspj", "zzb")]
    quota = cluster.kubectl(
        "get", "resourcequota", "tenant-quota", "-n", "dept-gaj", "-o", "jsonpath={.spec.hard.requests\\.cpu}"
    )
    assert quota == "16"


def test_the_scheduled_backup_snapshots_the_tls_etcd_and_the_snapshot_restores(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The `backup` role on the control-plane target, pointed at the etcd role's TLS endpoint with the
    backup's own client certificate (cluster_pki: etcd-backup-client). Starting its service (what the
    timer runs) writes an archive with etcd/snapshot.db; `govops cluster restore --items etcd` puts
    the snapshot into a new data directory, and a throw-away etcd on it holds the cluster's
    namespaces (the Pulumi tenants' too, when that test ran first)."""
    import json
    import sqlite3
    import subprocess
    import sys

    from infra.cluster.backup import describe, list_backups
    from infra.cluster.envelope import new_operator_key
    from tests.support.platform_host import install_platform

    t0 = time.monotonic()
    lab, host = cluster.lab, cluster.lab.targets[0]
    cluster.kubectl("create", "namespace", "backup-drill")  # an object of this test's own
    live = {n.removeprefix("namespace/") for n in cluster.kubectl("get", "namespaces", "-o", "name").split()}
    assert {"backup-drill", "default", "kube-system"} <= live
    install_platform(host.merged)
    private, public = new_operator_key()
    (tmp_path / "operator.key").write_bytes(private)
    (tmp_path / "operator.key").chmod(0o600)
    inventory = yaml.safe_load(cluster.inventory.read_text())
    inventory["all"]["children"]["platform"] = {
        "hosts": {host.name: {}},
        "vars": {
            "backup_recipient_pem": public.decode(),
            "backup_platform_environment": {"GOVOPS_DATA_DIR": "/var/lib/govops"},
            "backup_etcd_endpoints": "https://127.0.0.1:2379",  # the etcd role's TLS endpoint
            "backup_etcd_pki_controller_dir": str(cluster.pki),
        },
    }
    backup_inventory = tmp_path / "hosts.yml"
    backup_inventory.write_text(yaml.safe_dump(inventory))
    applied = run_playbook(backup_inventory, "backup.yml")
    assert applied.ok, applied.failures
    key = host.merged / "etc/govops/etcd-backup/client.key"
    assert key.stat().st_mode & 0o777 == 0o600 and key.stat().st_uid == 0  # backup_user: root
    assert key.read_bytes() == (cluster.pki / "etcd-backup-client.key").read_bytes()
    env = (host.merged / "etc/govops/backup.env").read_text()
    assert "GOVOPS_ETCD_KEY=/etc/govops/etcd-backup/client.key" in env and "PRIVATE KEY" not in env

    started = lab.exec(host, "systemctl", "start", "govops-backup.service", timeout=600)
    journal = lab.exec(host, "journalctl", "-u", "govops-backup", "--no-pager", "-o", "cat").stdout
    assert started.returncode == 0, started.stderr + journal
    assert key.read_text().strip().splitlines()[1] not in journal  # the key's contents are never logged
    [archive] = list_backups(host.merged / "var/backups/govops")
    assert describe(archive)["items"]["etcd"] > 0
    with sqlite3.connect(host.merged / "var/lib/govops/govops.db") as db:  # audited, as whom towards etcd
        [(detail,)] = db.execute("SELECT detail FROM audit_records WHERE action = 'cluster.backup'").fetchall()
    assert json.loads(detail)["via"] == "systemd"
    assert json.loads(detail)["etcd"] == {
        "endpoints": "https://127.0.0.1:2379",
        "client_cert": "/etc/govops/etcd-backup/client.crt",
    }
    backed_up = time.monotonic() - t0

    restored = tmp_path / "etcd-restored"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "govops"), "cluster", "restore", str(archive), "--key",
         str(tmp_path / "operator.key"), "--items", "etcd", "--etcd-data-dir", str(restored), "--json"],
        capture_output=True, text=True, timeout=600, check=False,
        env={"PATH": f"{cluster.binaries.etcd}:/usr/bin:/bin", "GOVOPS_DATA_DIR": str(tmp_path / "controller"),
             "GOVOPS_ENVIRONMENT": "test"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["restored"] == ["etcd"] and result["checks"] == {"hashes": "ok"}  # etcd/snapshot.db as written
    etcd, url = start_plain_etcd(restored, tmp_path / "etcd.log", binary=cluster.binaries.etcd / "etcd")
    try:
        keys = subprocess.run(
            [str(cluster.binaries.etcd / "etcdctl"), "--endpoints", url, "get", "--prefix", "--keys-only",
             "/registry/namespaces/"],
            capture_output=True, text=True, timeout=120, check=False, env={"ETCDCTL_API": "3"},
        )  # fmt: skip
    finally:
        etcd.stop()
    assert keys.returncode == 0, keys.stderr
    assert {k.removeprefix("/registry/namespaces/") for k in keys.stdout.split()} == live
    print(f"\nnamespaces restored from the TLS etcd's snapshot: {sorted(live)}")
    cluster.seconds["backup_tls_etcd"] = backed_up
    cluster.seconds["backup_and_restore_tls_etcd"] = time.monotonic() - t0
    print(f"\ncluster timings: {cluster.seconds}")
