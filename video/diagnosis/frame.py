"""One picture prepared once for every check: downscaled BGR, grey, Lab and gradients.

Each derived image is computed on first use and kept, so checks that need the same grey or
Laplacian share the work instead of redoing it. The window of pictures after it is kept the
same way (`Window`): what is measured on the whole window is measured once, however many of
its keyframes are judged.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from functools import cached_property
from typing import Any, TypeVar

import cv2
import numpy as np


def analysis_size(width: int, height: int, analysis_width: int) -> tuple[int, int]:
    """(w, h) of the analysis picture: at most `analysis_width` wide, aspect kept, even sizes."""
    if width <= analysis_width:
        return width - width % 2, height - height % 2
    h = round(height * analysis_width / width)
    return analysis_width, max(2, h - h % 2)


def luma_thumb(gray: np.ndarray, analysis_width: int) -> np.ndarray:
    """A cheap luma picture for frame-to-frame comparison: every n-th pixel, no filtering."""
    step = max(1, -(-gray.shape[1] // analysis_width))
    if step == 1:
        return np.ascontiguousarray(gray)
    h, w = gray.shape
    # Nearest-neighbour at an integer step is that sampling, without numpy's strided copy.
    return cv2.resize(gray, (-(-w // step), -(-h // step)), interpolation=cv2.INTER_NEAREST)


M = TypeVar("M")


class Window(tuple[np.ndarray, ...]):
    """The window's luma pictures, in display order. A keyframe's checks read the whole window
    (the snow new in every picture, the sharpest step edges of any picture): `once` keeps what
    a measurement gave, so judging a second keyframe of the same window does not redo it."""

    def once(self, measure: Callable[..., M], *args: Hashable) -> M:
        kept: dict[tuple[Any, ...], Any] = self.__dict__.setdefault("_kept", {})
        key = (measure, *args)
        if key not in kept:
            kept[key] = measure(self, *args)
        return kept[key]


def per_window(lumas: Sequence[np.ndarray], measure: Callable[..., M], *args: Hashable) -> M:
    """measure(lumas, *args): once per `Window`, every time for a plain sequence of pictures."""
    if isinstance(lumas, Window):
        return lumas.once(measure, *args)
    return measure(lumas, *args)


class AnalysedFrame:
    def __init__(self, bgr: np.ndarray, source_size: tuple[int, int] | None = None) -> None:
        self.bgr = bgr
        h, w = bgr.shape[:2]
        self.size = (w, h)
        self.source_size = source_size or (w, h)
        # The OSD lines filled in (overlay.without_osd), [] when it had none; None: not looked for.
        self.osd: list[tuple[int, int, int, int]] | None = None

    @classmethod
    def from_bgr(cls, image: np.ndarray, analysis_width: int) -> AnalysedFrame:
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        h, w = image.shape[:2]
        aw, ah = analysis_size(w, h, analysis_width)
        if (aw, ah) != (w, h):
            image = cv2.resize(image, (aw, ah), interpolation=cv2.INTER_AREA)
        return cls(np.ascontiguousarray(image), (w, h))

    @cached_property
    def gray(self) -> np.ndarray:
        return cv2.cvtColor(self.bgr, cv2.COLOR_BGR2GRAY)

    @cached_property
    def gray_f(self) -> np.ndarray:
        return self.gray.astype(np.float32)

    @cached_property
    def half(self) -> np.ndarray:
        """BGR at half the analysis size: colour is judged on whole-picture statistics."""
        w, h = self.size
        return cv2.resize(self.bgr, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)

    @cached_property
    def lab(self) -> np.ndarray:
        """Lab at half the analysis size, as float32 with a* and b* centred on 0 (OpenCV's
        8-bit Lab stores them +128)."""
        lab = cv2.cvtColor(self.half, cv2.COLOR_BGR2LAB).astype(np.float32)
        cv2.subtract(lab, (0.0, 128.0, 128.0, 0.0), dst=lab)  # type: ignore[call-overload]  # one pass
        return lab

    @cached_property
    def lightness(self) -> np.ndarray:
        """L* of `lab` as its own contiguous plane (masks on it read one value per pixel)."""
        return np.ascontiguousarray(self.lab[..., 0])

    @cached_property
    def chroma(self) -> np.ndarray:
        """Chroma (distance from neutral in the a*b* plane) per pixel of `lab`."""
        return np.hypot(self.lab[..., 1], self.lab[..., 2])

    @cached_property
    def laplacian(self) -> np.ndarray:
        return cv2.Laplacian(self.gray_f, cv2.CV_32F, ksize=1)

    @cached_property
    def gradient(self) -> np.ndarray:
        """Sobel gradient magnitude of the grey picture."""
        gx = cv2.Sobel(self.gray_f, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(self.gray_f, cv2.CV_32F, 0, 1, ksize=3)
        return cv2.magnitude(gx, gy)

    @cached_property
    def small_gray(self) -> np.ndarray:
        """About 160 pixels wide, for the comparison with the reference picture."""
        w, h = self.size
        sw = min(160, w)
        return cv2.resize(self.gray, (sw, max(2, round(h * sw / w))), interpolation=cv2.INTER_AREA)
