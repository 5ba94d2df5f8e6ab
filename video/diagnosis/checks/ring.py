"""The dark ring of a defocused lens in the picture's spectrum: a disc, not a soft scene.

A defocused lens spreads each point over a disc of radius r. The disc's transfer function (a
jinc, 2 J1(x) / x with x = 2 pi r f) falls to zero at f = 0.61 / r cycles a pixel and
comes back in side lobes: the spectrum of a defocused picture has a dark ring there, with power
beyond it again (Cannon's blur identification from spectral zeros). A scene soft by nature (an
upscaled or distant view) or a Gaussian blur fall off without a ring. A scene's own periodic
structure (brick courses, road markings) makes dips too, but along one direction: the ring of
a disc is round, so it must be seen at the same frequency across the rows and down the columns.

The power spectrum is averaged over 64-pixel tiles (Hann window, mean removed) of the pictures
read, split into two sectors (frequencies mostly across the rows, mostly down the columns) and
averaged over rings of 1/64 cycle a pixel, as log10 power. At each dip between 0.08 and 0.36
cycles a pixel (a disc of radius 1.7 to 7.6 pixels), the rebound is how far the power rises
again within the next 5 rings. The picture's ring is the largest rebound both sectors show at
the same dip (within a ring of each other): the weaker sector's. Read only where no edge of the
window is crisp (`sharpness.blur`), at about 1.3 ms a picture.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

TILE = 64
LOWEST, HIGHEST = 5, 23  # dips looked for between 5/64 and 22/64 cycles a pixel
AHEAD = 5  # rings after the dip the power may come back in
# Fewer tiles than this make too rough a spectrum: on blurred noise, 12 tiles read rings up to
# 0.074 and 6 up to 0.11 (24 and more: 0.03 at most).
MIN_TILES = 24

_fy = np.fft.fftfreq(TILE)[:, None]
_fx = np.fft.fftfreq(TILE)[None, :]
_RING = np.round(np.hypot(_fx, _fy) * TILE).astype(np.int64)
_ACROSS = np.abs(_fx) >= np.abs(_fy)  # mostly across the rows (vertical structure)
_SECTORS = [m.astype(np.float64).ravel() for m in (_ACROSS, ~_ACROSS)]
_WINDOW = np.outer(np.hanning(TILE), np.hanning(TILE)).astype(np.float32)
_BINS = HIGHEST + AHEAD + 1


def _tiles(gray: np.ndarray) -> np.ndarray:
    h, w = gray.shape
    th, tw = h // TILE, w // TILE
    t = gray[: th * TILE, : tw * TILE].astype(np.float32).reshape(th, TILE, tw, TILE).swapaxes(1, 2)
    return t.reshape(th * tw, TILE, TILE)


def _sector_spectra(pictures: Sequence[np.ndarray]) -> list[np.ndarray] | None:
    tiles = [t for t in (_tiles(g) for g in pictures) if t.size]
    if sum(len(t) for t in tiles) < MIN_TILES:
        return None
    t = np.concatenate(tiles)
    t -= t.mean(axis=(1, 2), keepdims=True)
    t *= _WINDOW
    # OpenCV's transform one tile at a time, its squares added up in place: twice as fast as
    # numpy's batched one on 150 tiles.
    acc = np.zeros((TILE, TILE, 2), np.float32)
    for tile in t:
        cv2.accumulateSquare(cv2.dft(tile, flags=cv2.DFT_COMPLEX_OUTPUT), acc)
    power = acc.sum(axis=2, dtype=np.float64) / len(t)
    rings = _RING.ravel()
    out = []
    for mask in _SECTORS:
        sums = np.bincount(rings, weights=power.ravel() * mask, minlength=_BINS)[:_BINS]
        counts = np.bincount(rings, weights=mask, minlength=_BINS)[:_BINS]
        out.append(np.log10(sums / np.maximum(counts, 1) + 1e-6))
    return out


def _rebounds(spectrum: np.ndarray) -> np.ndarray:
    """At each dip of the spectrum (log10 power per ring), how far it rises again ahead."""
    out = np.zeros(_BINS)
    for i in range(LOWEST, HIGHEST):
        if spectrum[i] <= spectrum[i - 1] and spectrum[i] <= spectrum[i + 1]:
            out[i] = float(spectrum[i + 1 : i + 1 + AHEAD].max() - spectrum[i])
    return out


def defocus_ring(pictures: Sequence[np.ndarray]) -> float | None:
    """The rebound (log10 power) after a dip both sectors of the spectrum show at the same
    frequency: about 0 for a scene or a Gaussian blur, larger for a defocus disc (None when the
    pictures hold fewer than MIN_TILES tiles)."""
    spectra = _sector_spectra(pictures)
    if spectra is None:
        return None
    across, down = (_rebounds(s) for s in spectra)
    best = 0.0
    for i in range(LOWEST, HIGHEST):
        best = max(best, min(float(across[i - 1 : i + 2].max()), float(down[i - 1 : i + 2].max())))
    return best
