"""The one way to write a private file (a key, a PKCS#12, a secret): mode 0600 from the moment
the file exists, never written first and chmod-ed after.

The bytes go to a temporary file created with O_CREAT|O_EXCL and mode 0600 next to the target,
which then takes the target's name in one step: os.replace (overwrite) or os.link (only if no
file has that name yet). A reader never sees a half-written or briefly world-readable file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

PRIVATE_MODE = 0o600


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> Path:
    """Write `data` to `path` with mode 0600. `exclusive`: refuse (FileExistsError) when `path`
    exists, so two racing writers end with exactly one winner and the loser can read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), PRIVATE_MODE)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            os.link(aside, path)
        else:
            os.replace(aside, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            aside.unlink()
    return path
