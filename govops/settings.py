"""Typed settings, read from GOVOPS_* environment variables (and an optional .env file)."""

from __future__ import annotations

import os
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, AliasChoices, BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from govops.errors import ConfigError, did_you_mean
from govops.localtime import ZoneName

# Backup retention: archives kept, and days (a longer span than a century overflows the clock).
KEEP_MAX = 10_000
KEEP_DAYS_MAX = 36_500
PLACEHOLDER_SECRETS = {"changeme", "changethis", "secret", "password", "govops"}


AnySettings = TypeVar("AnySettings", bound=BaseSettings)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "govops"


def default_components_dir() -> Path:
    return Path.home() / ".cache" / "govops"


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _http_url(value: str | None) -> str | None:
    """A gateway's public URL: the console's origin check compares a browser's Origin with it."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is no http(s) URL: give the gateway's address, e.g. https://govops.jinshan.gov.cn")
    return value.rstrip("/")


class Settings(BaseSettings):
    # allow_inf_nan: nan and inf pass every bound (comparisons with nan are false).
    model_config = SettingsConfigDict(env_prefix="GOVOPS_", env_file=".env", extra="ignore", allow_inf_nan=False)

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    # A Fernet key (urlsafe base64, 32 bytes). Without it a 0600 key file in data_dir is used.
    secret_key: SecretStr | None = None
    # The audit log's key (64 hex digits) when several gateways share one database; otherwise a
    # 0600 audit.key file in data_dir. Never in the database: it is what makes the chain keyed.
    audit_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # Bearer token Prometheus presents on /metrics; empty means the endpoint is open on loopback.
    metrics_token: SecretStr | None = None
    # Keycloak: when unset, the embedded default's local admin login is the only way in.
    keycloak_url: str | None = None
    keycloak_realm: str = "civil-servants"
    # identity: keycloak_url is the public HTTPS URL (the token issuer's base); admin calls may
    # use another address. The CA file verifies Keycloak's HTTPS certificate.
    keycloak_admin_url: str | None = None
    keycloak_admin_user: str | None = None
    keycloak_admin_password: SecretStr | None = None
    keycloak_ca_file: Path | None = None
    keycloak_audience: str = "govops-gateway"
    # The gateway's public URL: the CRL distribution point and the console's SSO callback.
    public_url: Annotated[str | None, AfterValidator(_http_url)] = None
    ca_key_algorithm: Literal["ecdsa-p256", "rsa-3072"] = "ecdsa-p256"
    ca_cert_days: int = Field(default=730, ge=1, le=3650)
    crl_hours: int = Field(default=24, ge=1, le=24 * 366)
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)] = "INFO"
    # The district's time zone: the console and the CLI show times in it (records keep UTC).
    timezone: ZoneName = "Asia/Shanghai"
    # E-government cloud (Pulumi Automation API on the local file backend by default).
    pulumi_passphrase: SecretStr | None = None
    pulumi_backend_url: str | None = None  # default file://<data_dir>/pulumi
    pulumi_stack: str = "lab"
    kubeconfig: Path | None = None
    # Where `make tools` caches the real components (GOVOPS_CACHE is what tools/ reads too). The
    # one setting for component paths: each room resolves its binaries from it (the Pulumi CLI and
    # provider: infra/provisioning/binaries.py), unless one of the explicit directories below is set.
    components_dir: Path = Field(
        default_factory=default_components_dir,
        validation_alias=AliasChoices("GOVOPS_COMPONENTS_DIR", "GOVOPS_CACHE", "components_dir"),
    )
    # The Pulumi CLI (with its Python language host) and the Kubernetes provider plugin, when not
    # in the cache. Unset: <components_dir>/pulumi-<v>/bin and pulumi-kubernetes-<v>/bin.
    pulumi_bin_dir: Path | None = None
    pulumi_provider_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "GOVOPS_PULUMI_PROVIDER_DIR", "GOVOPS_PULUMI_KUBERNETES_BIN_DIR", "pulumi_provider_dir"
        ),
    )
    # Cluster backups: the target directory (default <data_dir>/backups), the operator's public key
    # (PEM) archives are encrypted to, how many archives (and days) to keep, and the etcd to snapshot.
    backup_dir: Path | None = None
    backup_recipient: Path | None = None
    backup_keep: int = Field(default=14, ge=1, le=KEEP_MAX)
    backup_keep_days: int | None = Field(default=None, ge=1, le=KEEP_DAYS_MAX)  # also drop archives older than this
    # A backup host as the target: each archive is copied to user@host:/dir over ssh (with this key
    # and the host's pinned key), the same retention applied there.
    backup_ship_to: str | None = None
    backup_ssh_key: Path | None = None
    backup_known_hosts: Path | None = None
    etcd_endpoints: str | None = None

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == "production":
            for name in ("secret_key", "metrics_token"):
                value = getattr(self, name)
                if value is not None and value.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                    raise ValueError(f"GOVOPS_{name.upper()} is a placeholder; set a real secret in production")
            if self.secret_key is None:
                raise ValueError("GOVOPS_SECRET_KEY must be set in production (a Fernet key)")
        return self

    @cached_property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'govops.db'}"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"

    def ensure_data_dir(self) -> Path:
        """Create the data directory, or say clearly why it cannot be used."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # A probe of its own per call: threads of one process may ask at the same time.
            with tempfile.TemporaryFile(dir=self.data_dir, prefix=".write-test-"):
                pass
        except OSError as exc:
            raise ConfigError(
                f"data directory {self.data_dir} is not writable: {exc.strerror or exc}",
                hint="set GOVOPS_DATA_DIR to a writable directory",
            ) from None
        return self.data_dir


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning a validation error into a ConfigError with the variable's name."""
    return load_or_explain(Settings, **overrides)


def load_or_explain(cls: type[AnySettings], **overrides: object) -> AnySettings:
    """The one settings-error translator: build `cls` from the environment, or raise a
    ConfigError naming the variable (with the class's env prefix) and what is wrong with it."""
    prefix = str(cls.model_config.get("env_prefix") or "")
    try:
        settings = cls(**overrides)  # type: ignore[arg-type]  # pydantic-settings types its own init keywords
    except ValidationError as exc:
        raise settings_error(exc, prefix) from None
    except UnicodeDecodeError:  # the .env file, edited in an editor that saved it as GBK
        env_file = Path(str(cls.model_config.get("env_file") or ".env")).absolute()
        raise ConfigError(
            f"the settings file {env_file} is not UTF-8 text",
            hint="save it as UTF-8 (a Chinese comment saved as GBK/ANSI is the usual cause)",
        ) from None
    refuse_unknown_variables(cls, prefix)
    return settings


def refuse_unknown_variables(cls: type[BaseSettings], prefix: str) -> None:
    """A variable under a class's own prefix that names none of its settings is a typo, and was
    silently no setting (GOVOPS_VQD_BLUR_EFECT left the default in force). Not for the shared
    GOVOPS_ prefix, under which the other classes' variables live too."""
    if not prefix or prefix.upper() == "GOVOPS_":
        return
    known = {f"{prefix}{name}".upper() for name in cls.model_fields}
    unknown = sorted(k for k in os.environ if k.upper().startswith(prefix.upper()) and k.upper() not in known)
    if unknown:
        raise ConfigError(
            f"unknown setting {', '.join(unknown)}: no {prefix}* setting has that name",
            hint=did_you_mean([u.upper() for u in unknown], known) + "fix or unset the environment variable",
        )


def settings_error(exc: ValidationError, env_prefix: str = "GOVOPS_") -> ConfigError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "settings"
    name = field.upper() if field.upper().startswith(env_prefix) else f"{env_prefix}{field.upper()}"
    return ConfigError(f"invalid setting {name}: {first['msg']}", hint="fix the environment variable or .env file")
