"""Where the Pulumi CLI and its Kubernetes provider are, resolved from the kernel's settings.

The kernel holds the paths (govops.settings: GOVOPS_COMPONENTS_DIR / GOVOPS_CACHE, the cache that
`make tools` fills, and the explicit GOVOPS_PULUMI_BIN_DIR / GOVOPS_PULUMI_PROVIDER_DIR); this module
knows the layout: <cache>/pulumi-<v>/bin holds `pulumi` and the Python language host,
<cache>/pulumi-kubernetes-<v>/bin holds `pulumi-resource-kubernetes`, where <v> is the version of
the installed pip package (the CLI and the provider must equal those pins). Never an import of tools/.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from govops.errors import ServiceUnavailable
from govops.settings import Settings

BUILD_HINT = "run `make tools`, or point GOVOPS_PULUMI_BIN_DIR / GOVOPS_PULUMI_PROVIDER_DIR at them"


def _cached(cache: Path, component: str, distribution: str) -> Path:
    try:
        return cache / f"{component}-{version(distribution)}" / "bin"
    except PackageNotFoundError:
        raise ServiceUnavailable(
            f"the Python package {distribution} is not installed", hint="run `make deps`"
        ) from None


@dataclass(frozen=True)
class PulumiBinaries:
    cli_dir: Path
    provider_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> PulumiBinaries:
        cache = settings.components_dir
        return cls(
            settings.pulumi_bin_dir or _cached(cache, "pulumi", "pulumi"),
            settings.pulumi_provider_dir or _cached(cache, "pulumi-kubernetes", "pulumi_kubernetes"),
        )

    def dirs(self) -> list[Path]:
        """The directories to put first on the engine's PATH; refuses if a binary is missing."""
        for directory, binary in ((self.cli_dir, "pulumi"), (self.provider_dir, "pulumi-resource-kubernetes")):
            if not (directory / binary).is_file():
                raise ServiceUnavailable(f"{binary} is not installed in {directory}", hint=BUILD_HINT)
        return [self.cli_dir, self.provider_dir]
