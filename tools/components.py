"""Where the real components live once `make tools` has fetched or built them.

The pins come from tools/versions.env, the one file that names versions. A missing component
raises ComponentMissing, whose message names the bootstrap command to run.
"""

from __future__ import annotations

import os
import shlex
import shutil
from functools import cache
from pathlib import Path

VERSIONS_FILE = Path(__file__).with_name("versions.env")
BOOTSTRAP_HINT = "make tools"


class ComponentMissing(RuntimeError):
    def __init__(self, component: str, what: str) -> None:
        super().__init__(
            f"{component} is not installed ({what}); run `{BOOTSTRAP_HINT}` (or `tools/bootstrap.sh {component}`) first"
        )
        self.component = component


@cache
def versions() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        pins[key.strip()] = " ".join(shlex.split(value))
    return pins


def cache_root() -> Path:
    return Path(os.environ.get("GOVOPS_CACHE", Path.home() / ".cache" / "govops"))


def component_dir(component: str, version_key: str) -> Path:
    """The versioned cache directory of a built component, e.g. ~/.cache/govops/kubernetes-1.34.4."""
    path = cache_root() / f"{component}-{versions()[version_key]}"
    if not (path / ".done").exists():
        raise ComponentMissing(component, f"{path} is empty")
    return path


def system_binary(component: str, *candidates: str) -> Path:
    """A binary that comes from a Debian package (etcd, prometheus, postgres, chromium ...)."""
    for name in candidates:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return Path(found)
    raise ComponentMissing(component, f"none of {', '.join(candidates)} found")
