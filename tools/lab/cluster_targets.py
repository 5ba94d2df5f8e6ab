"""A Kubernetes cluster on the lab's targets: the inventory that playbooks/cluster.yml needs to turn
a TargetLab into etcd + control plane on the first target and kubelets on the others, with every
binary and image copied from this machine's component cache (the targets reach no mirror and no
registry). Used by the cluster integration test; `kubectl()` runs kubectl inside the lab's hub
namespace, the only place the targets' addresses exist; `apiserver_relay()` gives tools that run
on this machine (the Pulumi engine) a loopback port to the API server."""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from tools.components import ComponentMissing, component_dir, system_binary, versions
from tools.lab.process import ManagedProcess, free_port
from tools.lab.targets import TargetLab


@dataclass(frozen=True)
class ClusterBinaries:
    kubernetes: Path  # kube-apiserver, kube-controller-manager, kube-scheduler, kubelet
    etcd: Path  # etcd and etcdctl (Debian's etcd-server and etcd-client)
    images: Path  # lab-images.tar
    kubectl: Path

    @classmethod
    def find(cls) -> ClusterBinaries:
        kubernetes = component_dir("kubernetes", "KUBERNETES_VERSION") / "bin"
        if not (kubernetes / "kubelet").is_file():
            raise ComponentMissing("kubernetes", f"no kubelet in {kubernetes} (a cache from before the kubelet)")
        etcd = system_binary("debian", "etcd").parent
        if not (etcd / "etcdctl").is_file():
            raise ComponentMissing("debian", f"no etcdctl next to {etcd / 'etcd'} (Debian's etcd-client)")
        images = component_dir("lab-images", "LAB_IMAGES_REVISION")
        kubectl = component_dir("kubectl", "KUBERNETES_VERSION") / "bin" / "kubectl"
        return cls(kubernetes, etcd, images, kubectl)


def cluster_inventory(lab: TargetLab, pki_dir: Path, binaries: ClusterBinaries) -> dict[str, object]:
    """Target 1: etcd and the control plane; every other target: a node."""
    assert lab.key is not None and len(lab.targets) >= 2
    first, *nodes = lab.targets
    pins = versions()
    return {
        "all": {
            "vars": {
                "cluster_name": f"{lab.prefix}-cluster",
                # one SSH round trip per task instead of three (sudo needs no tty on Debian)
                "ansible_pipelining": True,
                "cluster_pki_dir": str(pki_dir),
                "kube_version": pins["KUBERNETES_VERSION"],
                "kube_binaries_controller_dir": str(binaries.kubernetes),
                "etcd_binaries_controller_dir": str(binaries.etcd),
                "node_image_archives_controller_dir": str(binaries.images),
                "node_image_archives": [
                    {"archive": "lab-images.tar", "images": [pins["LAB_PAUSE_IMAGE"], pins["LAB_POD_IMAGE"]]}
                ],
                "container_runtime_sandbox_image": pins["LAB_PAUSE_IMAGE"],
            },
            "children": {
                "cluster": {
                    "children": {
                        "etcd": {"hosts": {first.name: first.inventory_vars(lab.hub, lab.key)}},
                        "control_plane": {"hosts": {first.name: {}}},
                        "workers": {
                            "hosts": {
                                t.name: {**t.inventory_vars(lab.hub, lab.key), "node_cgroup_root": lab.cgroup_root(t)}
                                for t in nodes
                            }
                        },
                    }
                }
            },
        }
    }


def kubectl(
    lab: TargetLab, binaries: ClusterBinaries, kubeconfig: Path, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", lab.hub, str(binaries.kubectl), f"--kubeconfig={kubeconfig}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def apiserver_relay(lab: TargetLab, workdir: Path, port: int = 6443) -> tuple[ManagedProcess, int]:
    """A loopback port on this machine that reaches the API server on the first target through the
    hub namespace, for tools that cannot run inside the namespace (the Pulumi engine). The API
    server's certificate names 127.0.0.1, so TLS verification holds. Stop it by its PID."""
    if shutil.which("socat") is None:
        raise ComponentMissing("debian", "socat is missing")
    local = free_port()
    relay = ManagedProcess(
        "apiserver relay",
        [
            "socat", f"TCP-LISTEN:{local},bind=127.0.0.1,reuseaddr,fork",
            f"EXEC:ip netns exec {lab.hub} nc {lab.targets[0].address} {port}",
        ],
        workdir / "apiserver-relay.log",
    )  # fmt: skip
    relay.wait_until(lambda: _listening(local), 30, "listening")
    return relay, local


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return True


def loopback_kubeconfig(admin_conf: Path, port: int, out: Path) -> Path:
    """admin.conf with the server at the relay's loopback port."""
    config = yaml.safe_load(admin_conf.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = f"https://127.0.0.1:{port}"
    out.write_text(yaml.safe_dump(config))
    out.chmod(0o600)
    return out
