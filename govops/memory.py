"""Process memory tuning for work spread over many threads (glibc malloc).

glibc gives threads their own malloc arenas (up to 8 per core) and keeps freed memory of each;
a worker with hundreds of threads decoding pictures of a megabyte or more then holds several
times the memory it uses. Fewer arenas, and big buffers mmapped (and so returned on free),
keep the resident size close to what is live. Measured on the patrol: 5.6 → 3.4 MB per stream
in flight at 720p. A no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
_done = False


def tune_for_threads(arenas: int = 2, mmap_threshold: int = 128 * 1024) -> bool:
    """Call before the threads start. Returns whether glibc took the settings."""
    global _done
    if _done:
        return True
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        log.info("malloc tuning skipped: no glibc mallopt")
        return False
    ok = all(
        mallopt(param, value) == 1
        for param, value in (
            (M_ARENA_MAX, arenas),
            (M_MMAP_THRESHOLD, mmap_threshold),
            (M_TRIM_THRESHOLD, mmap_threshold),
        )
    )
    _done = ok
    return ok
