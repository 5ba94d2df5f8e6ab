"""Secrets at rest (camera passwords, OIDC client secrets), encrypted with Fernet.

The key comes from GOVOPS_SECRET_KEY or from a key file generated once with mode 0600 in the data
directory. Ciphertexts are prefixed so a plaintext that slipped into a column is detected.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from govops.errors import ConfigError, GovopsError
from govops.files import write_private
from govops.settings import Settings

PREFIX = "fernet:"


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError):
            raise ConfigError(
                "the secret key is not a valid Fernet key",
                hint="generate one with `govops secret-key` and set GOVOPS_SECRET_KEY",
            ) from None

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.secret_key is not None:
            # Several comma-separated keys: the first encrypts, all decrypt (key rotation).
            return cls([k.strip().encode() for k in settings.secret_key.get_secret_value().split(",")])
        settings.ensure_data_dir()
        return cls([load_or_create_key_file(settings.key_file)])

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        if not token.startswith(PREFIX):
            raise GovopsError("stored secret is not encrypted", hint="re-enter the secret")
        try:
            return self._fernet.decrypt(token[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise GovopsError(
                "stored secret cannot be decrypted with the configured key",
                hint="restore the key file or GOVOPS_SECRET_KEY that encrypted it",
            ) from None

    def rotate(self, token: str) -> str:
        return PREFIX + self._fernet.rotate(token[len(PREFIX) :].encode()).decode()


def load_or_create_key_file(path: Path) -> bytes:
    """The key in `path`, made (mode 0600) if there is none. The file appears with its key
    already in it (govops.files.write_private, exclusive), so a second process or thread that
    races the first never reads a half-written key, and both end with the one that won."""
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process or thread won: use its key
            write_private(path, Fernet.generate_key() + b"\n", exclusive=True)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(f"key file {path} is readable by others (mode {mode:o})", hint=f"run: chmod 600 {path}")
    return path.read_bytes().strip()
