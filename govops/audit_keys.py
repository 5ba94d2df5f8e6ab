"""The audit log's key, kept where the database is not: a 0600 file in the data directory
(`audit.key`), or GOVOPS_AUDIT_KEY for several gateways that share one database.

One 32-byte seed gives two keys: an HMAC key that chains the records (whoever can write the
database cannot recompute the chain without it) and an Ed25519 key that signs the checkpoint
and exports (anyone with the public key can check them, offline).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from govops.errors import ConfigError

KEY_FILE = "audit.key"
CHECKPOINT_FILE = "audit.checkpoint"
_CACHE: dict[tuple[str, str], AuditKeys] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class AuditKeys:
    data_dir: Path
    seed: bytes

    @property
    def hmac_key(self) -> bytes:
        return hmac.new(self.seed, b"govops audit chain v2", hashlib.sha256).digest()

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public_key_hex(self) -> str:
        return self.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    @property
    def checkpoint_path(self) -> Path:
        return self.data_dir / CHECKPOINT_FILE

    def sign(self, data: bytes) -> str:
        return self.signing_key.sign(data).hex()


def public_key(hex_key: str) -> Ed25519PublicKey:
    try:
        raw = bytes.fromhex(hex_key.strip())
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ConfigError(
            "not an audit public key (64 hex digits)", hint="print the right one with `govops audit public-key`"
        ) from None


def _read_seed(path: Path) -> bytes:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(f"audit key {path} is readable by others (mode {mode:o})", hint=f"run: chmod 600 {path}")
    try:
        seed = bytes.fromhex(path.read_text().strip())
    except ValueError:
        seed = b""
    if len(seed) != 32:
        raise ConfigError(f"audit key {path} is damaged", hint="restore it from the backup of the data directory")
    return seed


def _create_key_file(path: Path) -> None:
    """Written aside with mode 0600 from creation, then linked into place: a racing process
    either wins or reads the winner's key, never a half-written one."""
    aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_bytes(32).hex() + "\n")
    try:
        os.link(aside, path)
    except FileExistsError:
        pass
    finally:
        aside.unlink()


def load(data_dir: Path, configured: str | None = None, *, create: bool = True) -> AuditKeys | None:
    """The audit keys for `data_dir`; made on first use unless `create` is False (then None)."""
    cache_key = (str(data_dir), configured or "")
    with _LOCK:
        if cache_key in _CACHE:
            return _CACHE[cache_key]
        if configured:
            try:
                seed = bytes.fromhex(configured.strip())
            except ValueError:
                seed = b""
            if len(seed) != 32:
                raise ConfigError("GOVOPS_AUDIT_KEY is not 64 hex digits", hint="make one with `govops audit new-key`")
        else:
            path = data_dir / KEY_FILE
            if not path.exists():
                if not create:
                    return None
                data_dir.mkdir(parents=True, exist_ok=True)
                _create_key_file(path)
            seed = _read_seed(path)
        keys = AuditKeys(data_dir, seed)
        _CACHE[cache_key] = keys
        return keys
