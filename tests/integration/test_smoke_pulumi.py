"""Smoke: the Pulumi CLI built from source runs a one-Namespace program against the lab apiserver."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.platform import pulumi_env
from tools.components import versions

pytestmark = pytest.mark.integration
PROGRAM = Path(__file__).resolve().parents[1] / "fixtures" / "pulumi_smoke"


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        ["pulumi", *args, "--non-interactive"], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def test_pulumi_version_matches_the_pip_sdk(kube, tmp_path):
    from importlib.metadata import version

    env = pulumi_env(kube, tmp_path)
    out = subprocess.run(["pulumi", "version"], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == f"v{versions()['PULUMI_VERSION']}" == f"v{version('pulumi')}"
    kube_provider = subprocess.run(["pulumi", "plugin", "ls", "--json"], env=env, capture_output=True, text=True)
    assert kube_provider.returncode == 0


def test_preview_and_up_of_one_namespace(kube, tmp_path):
    env = pulumi_env(kube, tmp_path)
    project = tmp_path / "project"
    shutil.copytree(PROGRAM, project)
    pyyaml = project / "Pulumi.yaml"
    pyyaml.write_text(pyyaml.read_text().replace("VENV_PLACEHOLDER", str(Path(sys.prefix))))
    run(["stack", "init", "smoke"], env, project)
    preview = run(["preview", "--diff"], env, project)
    assert "kubernetes:core/v1:Namespace" in preview.stdout and "+ 2 to create" in preview.stdout.replace("  ", " ")
    run(["up", "--yes", "--skip-preview"], env, project)
    with kube.client() as c:
        ns = c.get("/api/v1/namespaces/pulumi-smoke").json()
        assert ns["metadata"]["labels"]["govops.cn/smoke"] == "true"
    again = run(["up", "--yes", "--skip-preview"], env, project)
    assert "2 unchanged" in again.stdout
    run(["destroy", "--yes", "--skip-preview"], env, project)
