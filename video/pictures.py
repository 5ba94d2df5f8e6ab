"""Decoding a still picture from a camera's snapshot or a file, its size checked first.

A compressed picture can be tiny and decode to gigabytes: a plain PNG of 30000 x 30000 pixels
fits in a snapshot's few megabytes, and OpenCV would allocate 2.7 GB for it (its own limit is a
gigapixel). So the picture's size is read from its header first (Pillow opens a picture lazily:
no pixel is decoded), and a picture larger than any camera's is refused before OpenCV decodes it.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

# 8192 x 8192: far above any camera's picture (a 12-megapixel fisheye is 4000 x 3000).
MAX_PIXELS = 8192 * 8192


class PictureTooLarge(ValueError):
    """The picture's header gives more pixels than any camera's picture has."""


def _check_size(source: io.BytesIO | Path) -> None:
    with warnings.catch_warnings():
        # Pillow warns above its own limit and refuses at twice it; both are far above ours.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source) as picture:  # the header only
                w, h = picture.size
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise PictureTooLarge(f"the picture has more than {MAX_PIXELS // 1_000_000} megapixels") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return  # not a format Pillow reads: OpenCV judges it
    if w * h > MAX_PIXELS:
        raise PictureTooLarge(f"the picture is {w}×{h} pixels, larger than any camera's")


@contextmanager
def _quiet() -> Iterator[None]:
    """OpenCV prints its own complaint about a damaged picture to stderr; the caller says what is
    wrong and what to do instead (None from decode or read). The level is OpenCV's, for the whole
    process: two threads decoding at once may leave it silent, which only ever hides OpenCV's own
    messages (no lock: the patrol decodes snapshots in parallel)."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


def decode(body: bytes) -> np.ndarray | None:
    """The picture (BGR) in `body`; None when it is no picture. PictureTooLarge when it is."""
    _check_size(io.BytesIO(body))
    with _quiet():
        return cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)


def read(path: Path) -> np.ndarray | None:
    """The picture (BGR) in the file; None when it is no picture. PictureTooLarge when it is."""
    _check_size(path)
    with _quiet():
        return cv2.imread(str(path), cv2.IMREAD_COLOR)
