"""A real Kubernetes cluster from the playbooks: two systemd-nspawn targets in namespaces this test
creates (10.213.0.0/24 exists nowhere else). playbooks/cluster.yml makes the cluster CA on the
controller, etcd and the control plane on the first target and a kubelet on the second; the node
turns Ready, a scheduled host-network pod runs and answers, and a second run changes nothing.
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
