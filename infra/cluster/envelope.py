"""Backups are encrypted to an operator-held key: only whoever holds the private key can restore.

The operator's key is an X25519 key pair (`govops cluster backup-key`): the public half stays with the
platform, the private half goes offline (a safe, a smart card export). Each archive gets a fresh
ephemeral key; HKDF over the shared secret gives an AES-256-GCM key, and the archive is sealed in
1 MiB chunks (the STREAM construction: a counter and a last-chunk flag in every nonce), so a
1,000,000-camera database streams through without being held in memory, and a truncated, reordered
or edited archive fails to open rather than restoring part of itself.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import struct
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from govops.errors import ValidationFailed

MAGIC = b"GOVOPS-BACKUP-1\n"
CHUNK = 1 << 20
_LEN = struct.Struct(">I")


class BackupUnreadable(ValidationFailed):
    """Wrong key, or an archive that was cut short or changed."""


def new_operator_key() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a fresh operator key."""
    key = X25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def load_public(pem: bytes) -> X25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        key = None
    if not isinstance(key, X25519PublicKey):
        raise ValidationFailed(
            "the backup recipient is not an X25519 public key in PEM form",
            hint="create one with `govops cluster backup-key -o operator.key`; pass its .pub as the recipient",
        )
    return key


def load_private(pem: bytes) -> X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, X25519PrivateKey):
        raise ValidationFailed(
            "the operator key is not an X25519 private key in PEM form",
            hint="pass the private key written by `govops cluster backup-key`",
        )
    return key


def fingerprint(public: X25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _derive(shared: bytes, salt: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, b"govops-backup-1" + ephemeral + recipient).derive(shared)


def _nonce(counter: int, last: bool) -> bytes:
    return b"\0" * 7 + struct.pack(">I", counter) + (b"\1" if last else b"\0")


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class SealingWriter(io.RawIOBase):
    """A write-only stream that seals what it is given into `out`, chunk by chunk."""

    def __init__(self, out: IO[bytes], recipient: X25519PublicKey, summary: dict[str, Any]) -> None:
        ephemeral = X25519PrivateKey.generate()
        salt = os.urandom(16)
        header = {
            "recipient": fingerprint(recipient),
            "ephemeral": base64.b64encode(_raw(ephemeral.public_key())).decode(),
            "salt": base64.b64encode(salt).decode(),
            "chunk": CHUNK,
            **summary,
        }
        self._header = json.dumps(header, sort_keys=True, ensure_ascii=False).encode() + b"\n"
        out.write(MAGIC + self._header)
        key = _derive(ephemeral.exchange(recipient), salt, _raw(ephemeral.public_key()), _raw(recipient))
        self._aead = AESGCM(key)
        self._out = out
        self._buffer = bytearray()
        self._counter = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._buffer += data
        while len(self._buffer) > CHUNK:  # keep at least one byte back: the last chunk is flagged
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _seal(self, plain: bytes, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._counter, last), plain, self._header)
        self._out.write(_LEN.pack(len(sealed)) + sealed)
        self._counter += 1

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
        super().close()


def read_header(stream: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    if stream.read(len(MAGIC)) != MAGIC:
        raise BackupUnreadable(
            "this is not a govops backup archive", hint="pass a file written by `govops cluster backup`"
        )
    line = stream.readline(64 * 1024)
    try:
        return json.loads(line), line
    except ValueError:
        raise BackupUnreadable("the backup archive's header is damaged", hint="use another backup") from None


class OpeningReader(io.RawIOBase):
    """A read-only stream of what a SealingWriter sealed; fails on a wrong key or any change."""

    def __init__(self, stream: IO[bytes], private: X25519PrivateKey) -> None:
        header, raw_header = read_header(stream)
        if header.get("recipient") != fingerprint(private.public_key()):
            raise BackupUnreadable(
                f"this backup was encrypted to operator key {header.get('recipient')}, "
                f"not to the one given ({fingerprint(private.public_key())})",
                hint="pass the operator key whose fingerprint the backup names",
            )
        ephemeral = X25519PublicKey.from_public_bytes(base64.b64decode(header["ephemeral"]))
        key = _derive(
            private.exchange(ephemeral), base64.b64decode(header["salt"]), _raw(ephemeral), _raw(private.public_key())
        )
        self._aead = AESGCM(key)
        self._header = raw_header
        self._stream = stream
        self._counter = 0
        self._plain = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def _next(self) -> None:
        size = self._stream.read(_LEN.size)
        if len(size) < _LEN.size:
            raise BackupUnreadable("the backup archive is cut short", hint="use another backup; this one is incomplete")
        sealed = self._stream.read(_LEN.unpack(size)[0])
        for last in (False, True):
            try:
                self._plain = self._aead.decrypt(_nonce(self._counter, last), sealed, self._header)
            except InvalidTag:
                continue
            self._done = last
            self._counter += 1
            return
        raise BackupUnreadable(
            "the backup archive was changed or is damaged (authentication failed)", hint="use another backup"
        )

    def readinto(self, target: Any) -> int:
        while not self._plain and not self._done:
            self._next()
        n = min(len(target), len(self._plain))
        target[:n] = self._plain[:n]
        self._plain = self._plain[n:]
        return n
