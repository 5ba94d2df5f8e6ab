"""Make a lab target a platform host, as a site's deployment would: the project's packages and the
third-party packages the `govops` CLI imports for backup and restore, run by the target's own
/usr/bin/python3 (Debian bookworm's 3.11, the project's Python), under /opt/govops.

Which third-party packages are needed is measured, not listed: a child process of this venv runs
the CLI's backup and restore code paths and reports the site-packages entries it imported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("govops", "gateway", "identity", "video", "monitoring", "infra", "tools")
WRAPPER = """#!/usr/bin/python3
# govops, as deployed on this host (test lab)
import sys
sys.path[:0] = ["/opt/govops/app", "/opt/govops/lib"]
from gateway.cli.main import main
sys.exit(main())
"""

PROBE = r"""
import json, sys, os
from pathlib import Path
os.environ["GOVOPS_DATA_DIR"] = sys.argv[1]
from gateway.cli.main import app
from typer.testing import CliRunner
from infra.cluster.envelope import new_operator_key
private, public = new_operator_key()
(Path(sys.argv[1]) / "k.pub").parent.mkdir(parents=True, exist_ok=True)
(Path(sys.argv[1]) / "k.pub").write_bytes(public)
(Path(sys.argv[1]) / "k").write_bytes(private)
r = CliRunner().invoke(app, ["cluster", "backup", "--recipient", sys.argv[1] + "/k.pub", "--json"])
assert r.exit_code == 0, r.output
archive = json.loads(r.stdout)["path"]
r = CliRunner().invoke(app, ["cluster", "restore", archive, "--key", sys.argv[1] + "/k", "--json"])
assert r.exit_code == 0, r.output
site = [p for p in sys.path if p.endswith("site-packages")]
used = set()
for m in list(sys.modules.values()):
    f = getattr(m, "__file__", None) or ""
    for s in site:
        if f.startswith(s + "/"):
            used.add(f[len(s) + 1:].split("/")[0])
print(json.dumps({"site": site[0], "used": sorted(used)}))
"""


def _needed() -> tuple[Path, list[str]]:
    with tempfile.TemporaryDirectory(prefix="govops-probe-") as scratch:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, scratch], capture_output=True, text=True, cwd=REPO, timeout=600, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"the import probe failed: {done.stderr[-2000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return Path(found["site"]), found["used"]


def install_platform(root: Path) -> Path:
    """Install the CLI into the target whose root filesystem is `root`; returns the command's path
    inside the target."""
    site, used = _needed()
    lib, app = root / "opt/govops/lib", root / "opt/govops/app"
    lib.mkdir(parents=True, exist_ok=True)
    for name in used:
        source = site / name
        if source.is_dir():
            shutil.copytree(source, lib / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        else:
            shutil.copy2(source, lib / name)
        libs = site / f"{name}.libs"  # auditwheel's vendored shared libraries
        if libs.is_dir():
            shutil.copytree(libs, lib / libs.name, dirs_exist_ok=True)
    for meta in site.glob("*.dist-info"):  # importlib.metadata answers as in the venv
        shutil.copytree(meta, lib / meta.name, dirs_exist_ok=True)
    for package in PACKAGES:
        shutil.copytree(
            REPO / package,
            app / package,
            ignore=shutil.ignore_patterns("__pycache__", "node_modules", "vendor"),
            dirs_exist_ok=True,
        )
    command = root / "opt/govops/bin/govops"
    command.parent.mkdir(parents=True, exist_ok=True)
    command.write_text(WRAPPER)
    command.chmod(0o755)
    return Path("/opt/govops/bin/govops")
