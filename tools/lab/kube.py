"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, controller-manager,
scheduler, and kwok so that fake nodes run pods (flags follow controller-runtime's envtest).

`authentication_config` (a file) is passed as `--authentication-config`: the structured JWT
authentication through which the apiserver trusts an OIDC issuer (the platform's Keycloak; the
file comes from identity.kubeauth, this launcher never writes or reads it)."""

from __future__ import annotations

import base64
import shutil
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from tools.components import component_dir
from tools.lab.etcd import start_etcd
from tools.lab.pki import make_lab_pki
from tools.lab.process import ManagedProcess, free_port

KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"


@dataclass
class KubeHandle:
    workdir: Path
    apiserver_url: str
    kubeconfig: Path
    etcd_url: str
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    certs: dict[str, Path] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return self.apiserver_url

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.certs["ca.crt"]))
        ctx.load_cert_chain(str(self.certs["admin.crt"]), str(self.certs["admin.key"]))
        return ctx

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.apiserver_url, verify=self.ssl_context(), timeout=10)

    def stop(self, *names: str) -> None:
        for name in names or reversed(list(self.processes)):
            proc = self.processes.get(name)
            if proc:
                proc.stop()

    def restart_apiserver(self) -> None:
        """Start the apiserver again with the same flags, then every component that watches it.
        After a long outage their informers wait out client-go's reflector backoff: after a 45 s
        outage, a new Deployment's ReplicaSet appeared 70 s after the apiserver was back, and its
        pod ran 7 s later. Restarted, they list at once, as a cluster that has recovered should."""
        old = self.processes["kube-apiserver"]
        old.stop()
        self.processes["kube-apiserver"] = _apiserver(self, old.argv)
        for name in ("kube-controller-manager", "kube-scheduler", "kwok"):
            if proc := self.processes.get(name):
                proc.stop()
                self.processes[name] = ManagedProcess(name, proc.argv, proc.log_path)


def _bin(name: str) -> Path:
    if name == "kwok":
        return component_dir("kwok", "KWOK_VERSION") / "bin" / "kwok"
    return component_dir("kubernetes", "KUBERNETES_VERSION") / "bin" / name


def _kubeconfig(path: Path, server: str, certs: dict[str, Path]) -> None:
    def b64(p: Path) -> str:
        return base64.b64encode(p.read_bytes()).decode()

    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "lab",
                "clusters": [
                    {"name": "lab", "cluster": {"server": server, "certificate-authority-data": b64(certs["ca.crt"])}}
                ],
                "users": [
                    {
                        "name": "admin",
                        "user": {
                            "client-certificate-data": b64(certs["admin.crt"]),
                            "client-key-data": b64(certs["admin.key"]),
                        },
                    }
                ],
                "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "admin"}}],
            }
        )
    )
    path.chmod(0o600)


def _apiserver(h: KubeHandle, argv: list[str]) -> ManagedProcess:
    proc = ManagedProcess("kube-apiserver", argv, h.workdir / "kube-apiserver.log")
    with h.client() as c:
        proc.wait_until(lambda: c.get("/readyz").status_code == 200, 120, "apiserver /readyz")
    return proc


def start_kube(
    workdir: Path, *, controllers: bool = True, kwok_nodes: int = 1, authentication_config: Path | None = None
) -> KubeHandle:
    """Start the control plane; if any step fails, stop what was started (by PID) and re-raise."""
    workdir.mkdir(parents=True, exist_ok=True)
    handle = KubeHandle(workdir, "", workdir / "kubeconfig", "")
    try:
        return _start_kube(handle, controllers, kwok_nodes, authentication_config)
    except BaseException:
        handle.stop()
        raise


def _start_kube(
    h: KubeHandle, controllers: bool, kwok_nodes: int, authentication_config: Path | None = None
) -> KubeHandle:
    workdir = h.workdir
    certs = make_lab_pki(workdir / "pki")
    api_port = free_port()
    etcd, etcd_url = start_etcd(
        workdir / "etcd",
        workdir / "etcd.log",
        extra=("--quota-backend-bytes", str(4 * 1024**3)),
        env={"ETCD_UNSUPPORTED_ARCH": "arm64"},
    )
    h.apiserver_url, h.etcd_url, h.certs = f"https://127.0.0.1:{api_port}", etcd_url, certs
    h.processes["etcd"] = etcd
    etcd.wait_http(f"{etcd_url}/health", timeout=30, ok=lambda r: r.status_code == 200)
    h.processes["kube-apiserver"] = _apiserver(
        h,
        [
            str(a)
            for a in [
                _bin("kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                f"--cert-dir={workdir / 'pki'}",
                f"--secure-port={api_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                "--authorization-mode=RBAC",
                f"--tls-cert-file={certs['apiserver.crt']}",
                f"--tls-private-key-file={certs['apiserver.key']}",
                f"--client-ca-file={certs['ca.crt']}",
                f"--service-account-issuer=https://127.0.0.1:{api_port}",
                f"--service-account-key-file={certs['sa.pub']}",
                f"--service-account-signing-key-file={certs['sa.key']}",
                "--event-ttl=10m",
                # Debian's etcd 3.4.23 predates progress notifications (RequestWatchProgress), so
                # the apiserver refuses watch-list streams, yet with WatchList on it turns every
                # legacy watch from resourceVersion 0 into one. kwok watches that way: each refusal
                # restarted its pod informer after a growing backoff, and a new pod waited up to
                # ~12 s to be run. Plain watches, as the apiserver serves them on such an etcd.
                "--feature-gates=WatchList=false",
                *(
                    [f"--authentication-config={Path(authentication_config).resolve()}"]
                    if authentication_config
                    else ()
                ),
            ]
        ],
    )
    _kubeconfig(h.kubeconfig, h.apiserver_url, certs)
    if controllers:
        kcm_port, sched_port = free_port(), free_port()
        kcm = ManagedProcess(
            "kube-controller-manager",
            [
                _bin("kube-controller-manager"),
                f"--kubeconfig={h.kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={kcm_port}",
                "--leader-elect=false",
                "--controllers=*",
                f"--service-account-private-key-file={certs['sa.key']}",
                f"--root-ca-file={certs['ca.crt']}",
                "--use-service-account-credentials=false",
                "--concurrent-deployment-syncs=10",
            ],
            workdir / "kube-controller-manager.log",
        )
        h.processes["kube-controller-manager"] = kcm
        sched = ManagedProcess(
            "kube-scheduler",
            [
                _bin("kube-scheduler"),
                f"--kubeconfig={h.kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={sched_port}",
                "--leader-elect=false",
            ],
            workdir / "kube-scheduler.log",
        )
        h.processes["kube-scheduler"] = sched
        kcm.wait_port(kcm_port, 60)
        sched.wait_port(sched_port, 60)
    if kwok_nodes:
        kwok = ManagedProcess(
            "kwok",
            [
                _bin("kwok"),
                f"--kubeconfig={h.kubeconfig}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
                "--manage-nodes-with-label-selector=",
                "--disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom",
                "--disregard-status-with-label-selector=",
                # Heartbeat through a node Lease renewed every 10 s, as a kubelet does. Without
                # one, kwok patches the node's status about every 55 s, past the node lifecycle
                # controller's 50 s grace period: the node flapped NotReady each minute, the
                # controller marked every pod on it not Ready, and kwok, whose pod stages had
                # already run, never made them Ready again. Deployments then lost their
                # availability a minute after `up`, and the next `up --refresh` waited forever.
                "--node-lease-duration-seconds=40",
                "--cidr=10.0.0.1/24",
                "--node-ip=10.0.0.1",
                f"--server-address=127.0.0.1:{free_port()}",
            ],
            workdir / "kwok.log",
        )
        h.processes["kwok"] = kwok
        with h.client() as c:
            for i in range(kwok_nodes):
                r = c.post("/api/v1/nodes", json=_fake_node(f"kwok-node-{i}"))
                if r.status_code not in (201, 409):
                    raise RuntimeError(f"creating kwok node failed: {r.status_code} {r.text[:300]}")
            kwok.wait_until(lambda: _nodes_ready(c) >= kwok_nodes, 60, "kwok nodes Ready")
    return h


def _nodes_ready(c: httpx.Client) -> int:
    items = c.get("/api/v1/nodes").json().get("items", [])
    return sum(
        1
        for n in items
        for cond in n.get("status", {}).get("conditions", [])
        if cond["type"] == "Ready" and cond["status"] == "True"
    )


def _fake_node(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/role": "agent",
            },
        },
        "spec": {},
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "nodeInfo": {
                "architecture": "amd64",
                "kubeletVersion": "fake",
                "kubeProxyVersion": "fake",
                "operatingSystem": "linux",
            },
            "phase": "Running",
        },
    }


def wait_deployment_ready(c: httpx.Client, namespace: str, name: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = c.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}").json()
        st = d.get("status", {})
        if st.get("readyReplicas", 0) >= d.get("spec", {}).get("replicas", 1):
            return d
        time.sleep(0.5)
    raise TimeoutError(f"deployment {namespace}/{name} not ready after {timeout:.0f}s")


def cleanup(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
