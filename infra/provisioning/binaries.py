"""Where the Pulumi CLI and its Kubernetes provider are: settings, never an import of tools/.

GOVOPS_PULUMI_BIN_DIR holds `pulumi` and the Python language host, GOVOPS_PULUMI_PROVIDER_DIR holds
`pulumi-resource-kubernetes`. By default both are found in the layout `make tools` builds:
<GOVOPS_CACHE, default ~/.cache/govops>/pulumi-<v>/bin and pulumi-kubernetes-<v>/bin, where <v> is
the version of the installed pip package (the CLI and the provider must equal those pins).
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from govops.errors import ConfigError, ServiceUnavailable

BUILD_HINT = "run `make tools`, or point GOVOPS_PULUMI_BIN_DIR / GOVOPS_PULUMI_PROVIDER_DIR at them"


def _default_cache() -> Path:
    return Path.home() / ".cache" / "govops"


class PulumiBinaries(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVOPS_", env_file=".env", extra="ignore")

    cache: Path = Field(default_factory=_default_cache)
    pulumi_bin_dir: Path | None = None
    pulumi_provider_dir: Path | None = None

    @property
    def cli_dir(self) -> Path:
        return self.pulumi_bin_dir or self.cache / f"pulumi-{version('pulumi')}" / "bin"

    @property
    def provider_dir(self) -> Path:
        return self.pulumi_provider_dir or self.cache / f"pulumi-kubernetes-{version('pulumi_kubernetes')}" / "bin"

    def dirs(self) -> list[Path]:
        """The directories to put first on the engine's PATH; refuses if a binary is missing."""
        for directory, binary in ((self.cli_dir, "pulumi"), (self.provider_dir, "pulumi-resource-kubernetes")):
            if not (directory / binary).is_file():
                raise ServiceUnavailable(f"{binary} is not installed in {directory}", hint=BUILD_HINT)
        return [self.cli_dir, self.provider_dir]


def load_binaries(**overrides: object) -> PulumiBinaries:
    try:
        return PulumiBinaries(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"GOVOPS_{'.'.join(str(p) for p in first['loc']).upper()}: {first['msg']}") from None
