"""SSO into the e-government cloud: civil servants reach their tenant with plain kubectl.

One bring-up for the module: `govops lab up gateway kube` (PostgreSQL, the project's CA, Keycloak
with mTLS, the realm with one civil servant of each role in gaj and cgj, the gateway serving the
CRL, and a real kube-apiserver + kwok that trusts the realm through identity.kubeauth's
authentication configuration). The tenants come from a real `pulumi up` of the project's own
program through the provisioning service (5 tenants + the platform, ~25 s), so their RoleBindings
are exactly the ones the cloud gets. Each person's kubeconfig is written by `govops cloud
kubeconfig`, and kubectl runs `govops cloud credential` for the token: the real Keycloak, the
real apiserver, no stand-in anywhere.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.runtime import Runtime
from govops.settings import load_settings
from identity.keycloak_adapter import OidcEndpoints, tls_context
from identity.login import certificate_login
from infra.provisioning.service import Provisioning
from tests.fixtures.platform import need
from tools.components import component_dir

# The module's set-up is a whole lab (Keycloak, PostgreSQL, the apiserver) and a real `pulumi up`:
# ~3.5 min on a quiet 2-core machine, more than the suite's 600 s default when it is shared.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]
REPO = Path(__file__).resolve().parents[2]
GOVOPS = Path(sys.executable).with_name("govops")  # the installed console script kubectl will run
A, B = "dept-gaj", "dept-cgj"  # 金山公安分局, 区城管执法局


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVOPS_")}
    return {**env, **extra}


def _lab(data_dir: Path, *args: str, timeout: float) -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(GOVOPS), "lab", *args, "--json"],
        capture_output=True,
        text=True,
        env=_clean_env(GOVOPS_DATA_DIR=str(data_dir), GOVOPS_ENVIRONMENT="test"),
        timeout=timeout,
        cwd=REPO,
    )
    assert "Traceback" not in out.stderr, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else []


@dataclass
class Cloud:
    root: Path
    state: dict[str, Any]
    kubectl: Path

    @property
    def people(self) -> Path:
        return self.root / "data" / "lab" / "people"

    @property
    def server(self) -> str:
        return str(self.state["kube"]["endpoint"])

    @property
    def cluster_ca(self) -> Path:
        return Path(self.state["kube"]["details"]["ca"])

    @property
    def keycloak_url(self) -> str:
        return str(self.state["keycloak"]["details"]["https_url"])

    @property
    def trust(self) -> Path:
        return Path(self.state["pki"]["details"]["truststore"])

    def env(self) -> dict[str, str]:
        home = self.root / "home"  # kubectl's ~/.kube/cache and the plugin's ~/.config stay here
        return _clean_env(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))

    def kubeconfig(self, person: str, *login: str) -> Path:
        """`govops cloud kubeconfig` for a lab person (role-department), as that person runs it."""
        out = self.root / "kubeconfigs" / f"{person}.yaml"
        login = login or ("--cert", str(self.people / f"{person}.pem"), "--key", str(self.people / f"{person}.key"))
        r = subprocess.run(
            [
                str(GOVOPS),
                "cloud",
                "kubeconfig",
                "-o",
                str(out),
                "--server",
                self.server,
                "--certificate-authority",
                str(self.cluster_ca),
                "--keycloak-url",
                self.keycloak_url,
                "--realm",
                "civil-servants",
                "--ca-file",
                str(self.trust),
                *login,
                "--json",
            ],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=120,
            cwd=REPO,
        )
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["kubeconfig"] == str(out)
        return out

    def kubectl_run(self, kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.kubectl), f"--kubeconfig={kubeconfig}", *args],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=180,
        )

    def token(self, person: str) -> str:
        """What kubectl gets from the plugin (the same cache as its kubectl runs)."""
        r = subprocess.run(
            [
                str(GOVOPS),
                "cloud",
                "credential",
                "--keycloak-url",
                self.keycloak_url,
                "--realm",
                "civil-servants",
                "--ca-file",
                str(self.trust),
                "--cert",
                str(self.people / f"{person}.pem"),
                "--key",
                str(self.people / f"{person}.key"),
            ],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        return str(json.loads(r.stdout)["status"]["token"])

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.server,
            verify=ssl.create_default_context(cafile=str(self.cluster_ca)),
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    kubectl = need(component_dir, "kubectl", "KUBERNETES_VERSION") / "bin" / "kubectl"
    root = tmp_path_factory.mktemp("cloud-sso")
    data_dir = root / "data"
    try:
        up = _lab(data_dir, "up", "gateway", "kube", timeout=1200)
        failed = {r["component"]: r.get("error") for r in up if r["state"] == "failed"}
        assert up and not failed, failed
        state = json.loads((data_dir / "lab" / "state.json").read_text())
        assert state["kube"]["details"]["sso"], "the lab's apiserver was started without the realm's trust"
        # The tenants: the project's own Pulumi program, for real, on that apiserver.
        settings = load_settings(
            data_dir=root / "provisioning",
            kubeconfig=Path(state["kube"]["details"]["kubeconfig"]),
            pulumi_passphrase="integration-pass",
            pulumi_stack="sso",
            environment="test",
        )
        rt = Runtime.build(settings)
        rt.migrate()
        run = Provisioning(settings, rt.sessions).up("ops")
        assert run.ok, run.error
        yield Cloud(root, state, kubectl)
    finally:
        _lab(data_dir, "down", timeout=300)


@pytest.fixture(scope="module")
def admin_a(cloud: Cloud) -> Path:
    return cloud.kubeconfig("dept-admin-gaj")


def _forbidden(r: subprocess.CompletedProcess[str], user: str) -> None:
    assert r.returncode == 1, r.stdout
    assert "forbidden" in r.stderr.lower() and f'User "{user}"' in r.stderr, r.stderr


def test_kubeconfig_is_private_and_names_the_plugin(cloud: Cloud, admin_a: Path) -> None:
    import yaml

    assert stat.S_IMODE(admin_a.stat().st_mode) == 0o600
    user = yaml.safe_load(admin_a.read_text())["users"][0]["user"]
    assert set(user) == {"exec"} and user["exec"]["command"] == str(GOVOPS.resolve())
    assert user["exec"]["args"][:2] == ["cloud", "credential"]


def test_dept_admin_runs_kubectl_in_own_namespace_only(cloud: Cloud, admin_a: Path) -> None:
    who = cloud.kubectl_run(admin_a, "auth", "whoami", "-o", "json")
    assert who.returncode == 0, who.stderr
    user = json.loads(who.stdout)["status"]["userInfo"]
    assert user["username"] == "oidc:j10000002"  # J10000002: the lab's dept-admin of gaj
    assert "oidc:/310116/gaj" in user["groups"]  # what the tenant's department-admins binding names
    assert user["extra"]["govops.cn/civil-servant-id"] == ["J10000002"]

    assert cloud.kubectl_run(admin_a, "get", "pods", "-n", A).returncode == 0
    _forbidden(cloud.kubectl_run(admin_a, "get", "pods", "-n", B), "oidc:j10000002")
    made = cloud.kubectl_run(admin_a, "create", "configmap", "sso-check", "-n", A, "--from-literal=by=sso")
    assert made.returncode == 0, made.stderr
    _forbidden(
        cloud.kubectl_run(admin_a, "create", "configmap", "sso-check", "-n", B, "--from-literal=by=sso"),
        "oidc:j10000002",
    )
    # nor anything cluster-wide
    _forbidden(cloud.kubectl_run(admin_a, "get", "namespaces"), "oidc:j10000002")


def test_auditor_reads_and_cannot_write(cloud: Cloud) -> None:
    auditor = cloud.kubeconfig("auditor-gaj")
    for ns in (A, B):  # the auditors group views every tenant
        r = cloud.kubectl_run(auditor, "get", "configmaps,pods,resourcequotas", "-n", ns)
        assert r.returncode == 0, r.stderr
    _forbidden(
        cloud.kubectl_run(auditor, "create", "configmap", "by-auditor", "-n", A, "--from-literal=a=b"),
        "oidc:j10000004",
    )
    _forbidden(cloud.kubectl_run(auditor, "delete", "configmap", "kube-root-ca.crt", "-n", A), "oidc:j10000004")


def test_civil_servant_without_the_group_gets_403_from_the_apiserver(cloud: Cloud) -> None:
    # gaj's security staff is a member of /310116/gaj in the realm, but not its administrator:
    # the apiserver authenticates the token (a user, not 401) and RBAC refuses (403).
    staff = cloud.kubeconfig("security-staff-gaj")
    _forbidden(cloud.kubectl_run(staff, "get", "pods", "-n", A), "oidc:j10000003")
    with cloud.api(cloud.token("security-staff-gaj")) as api:
        r = api.get(f"/api/v1/namespaces/{A}/pods")
        assert r.status_code == 403 and r.json()["reason"] == "Forbidden"
        review = api.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        assert review.status_code == 201
        assert review.json()["status"]["userInfo"]["groups"] == ["system:authenticated"]


def test_tokens_the_apiserver_does_not_take(cloud: Cloud) -> None:
    # the gateway CLI's token (same realm, same person) is not for the cluster: 401
    endpoints = OidcEndpoints(cloud.keycloak_url, "civil-servants")
    people = cloud.people
    cli_token = certificate_login(
        endpoints, people / "dept-admin-gaj.pem", people / "dept-admin-gaj.key", ca_file=cloud.trust
    ).access_token
    with cloud.api(cli_token) as api:
        assert api.get(f"/api/v1/namespaces/{A}/pods").status_code == 401
    # a forged token with the right claims, signed by someone else's key: 401
    real = jwt.decode(cloud.token("dept-admin-gaj"), options={"verify_signature": False})
    header = jwt.get_unverified_header(cloud.token("dept-admin-gaj"))
    forged = jwt.encode(real, rsa.generate_private_key(65537, 2048), algorithm="RS256", headers={"kid": header["kid"]})
    with cloud.api(forged) as api:
        assert api.get(f"/api/v1/namespaces/{A}/pods").status_code == 401


def test_plugin_caches_and_never_prints_the_refresh_token(cloud: Cloud, admin_a: Path) -> None:
    first, second = cloud.token("dept-admin-gaj"), cloud.token("dept-admin-gaj")
    assert first == second  # the second answer came from the cache, not from Keycloak
    cache_dir = Path(cloud.env()["XDG_CONFIG_HOME"]) / "govops" / "kube-credentials"
    files = list(cache_dir.glob("*.token"))
    assert files
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert first.encode() not in f.read_bytes()
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700


def test_device_flow_through_kubectl(cloud: Cloud) -> None:
    """kubectl runs the plugin, which prints the verification URL on stderr; the person confirms
    in a browser holding their certificate (here httpx with it: the realm's X.509 browser login,
    then Keycloak's consent page); kubectl then completes with the new token."""
    device = cloud.kubeconfig("device-dept-admin-cgj", "--device")
    proc = subprocess.Popen(
        [str(cloud.kubectl), f"--kubeconfig={device}", "get", "pods", "-n", B],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cloud.env(),
    )
    assert proc.stderr is not None
    lines: list[str] = []
    url = None
    for line in proc.stderr:  # the plugin's prompt arrives before it starts polling
        lines.append(line)
        m = re.search(r"open (https://\S+/device\?user_code=\S+)", line)
        if m:
            url = m.group(1)
            break
    assert url, "".join(lines)
    rest: list[str] = []
    drain = threading.Thread(target=lambda: rest.extend(proc.stderr or []), daemon=True)
    drain.start()
    person = (cloud.people / "dept-admin-cgj.pem", cloud.people / "dept-admin-cgj.key")
    with httpx.Client(verify=tls_context(cloud.trust, person), follow_redirects=True, timeout=30) as browser:
        page = browser.get(url)  # the certificate signs in; Keycloak asks for consent
        action = re.search(r'<form[^>]*action="([^"]+/login-actions/consent[^"]*)"', page.text)
        code = re.search(r'name="code" value="([^"]+)"', page.text)
        assert action and code, page.text[:500]
        done = browser.post(
            httpx.URL(str(page.url)).join(action.group(1).replace("&amp;", "&")),
            data={"code": code.group(1), "accept": "Yes"},
        )
        assert done.status_code == 200
    out, _ = proc.communicate(timeout=120)
    drain.join(timeout=10)
    assert proc.returncode == 0, "".join(lines + rest)
    assert "No resources found" in "".join(rest) or out == ""
