"""Labelled camera-like clips made from natural photographs and procedural street scenes.

The pictures (`tests.support.scenes`) are photographs bundled in installable packages
(scikit-learn, matplotlib, mahotas), a shaded terrain from matplotlib's sample elevation data and
procedural textured scenes (brick wall, lawn, autumn leaves). scikit-image's bundled photographs
are never used here: they are kept for checks from outside.

A clip is such a picture (or a street scene of `video.clips`) seen by a camera: the view pans
slowly, a small object moves through it and the sensor adds noise. One condition is applied:
a healthy hard case (IR night, dusk, fog, rain on the lens, backlight, a strong single-colour
scene, low bit rate, a vehicle filling the view, warm street light, a naturally soft view, a
camera knocked slightly) or a fault. Strength 0 is the weakest case, 1 the strongest.

Scenes are split: thresholds are fitted on FIT_SCENES and measured on HELD_OUT_SCENES, which
no fitting ever looks at.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from tests.support.scenes import picture
from tests.support.synthetic import write_frames
from video.clips import frames as street_frames

W, H = 640, 360

# name → (picture of tests.support.scenes, crop box as fractions x0, y0, x1, y1 of it).
PHOTO_VIEWS: dict[str, tuple[str, tuple[float, float, float, float]]] = {
    "flower-wide": ("flower", (0.0, 0.08, 1.0, 0.92)),
    "flower-close": ("flower", (0.25, 0.15, 0.85, 0.85)),
    "flower-corner": ("flower", (0.0, 0.0, 0.6, 0.55)),
    "store-wide": ("DepartmentStore", (0.0, 0.1, 1.0, 0.9)),
    "store-corner": ("DepartmentStore", (0.45, 0.4, 1.0, 1.0)),
    "luis-portrait": ("luispedro", (0.0, 0.1, 1.0, 0.75)),
    "terrain-west": ("terrain", (0.0, 0.0, 0.5, 0.6)),
    "brick-a": ("brick-1", (0.0, 0.0, 1.0, 1.0)),
    "lawn-a": ("lawn-1", (0.0, 0.0, 1.0, 1.0)),
    "autumn-a": ("autumn-1", (0.0, 0.0, 1.0, 1.0)),
    "china-wide": ("china", (0.0, 0.1, 1.0, 0.94)),
    "china-tower": ("china", (0.2, 0.0, 0.8, 0.6)),
    "china-trees": ("china", (0.3, 0.4, 1.0, 1.0)),
    "grace-portrait": ("grace_hopper", (0.0, 0.0, 1.0, 0.6)),
    "grace-flag": ("grace_hopper", (0.0, 0.0, 0.7, 0.4)),
    "terrain-east": ("terrain", (0.5, 0.4, 1.0, 1.0)),
    "brick-b": ("brick-2", (0.0, 0.0, 1.0, 1.0)),
    "lawn-b": ("lawn-2", (0.0, 0.0, 1.0, 1.0)),
    "autumn-b": ("autumn-2", (0.0, 0.0, 1.0, 1.0)),
}
STREET = ("road", "crossroad", "plaza", "riverside", "gate", "market", "park", "parking")
# No picture is in both: the photographs differ (flower, DepartmentStore, luispedro against china,
# grace_hopper), the terrain crops do not overlap, procedural instances and street layouts differ.
FIT_SCENES = (
    "flower-wide",
    "flower-close",
    "flower-corner",
    "store-wide",
    "store-corner",
    "luis-portrait",
    "terrain-west",
    "brick-a",
    "lawn-a",
    "autumn-a",
    "road",
    "plaza",
    "gate",
    "market",
)
HELD_OUT_SCENES = (
    "china-wide",
    "china-tower",
    "china-trees",
    "grace-portrait",
    "grace-flag",
    "terrain-east",
    "brick-b",
    "lawn-b",
    "autumn-b",
    "crossroad",
    "riverside",
    "park",
    "parking",
)

# condition → expected code (None: healthy hard case).
CONDITIONS: dict[str, str | None] = {
    "clean": None,
    "ir_night": None,
    "dusk": None,
    "fog": None,
    "rain": None,
    "backlight": None,
    "single_colour": None,
    "low_bitrate": None,
    "vehicle": None,
    "warm_light": None,
    "soft": None,
    "knocked": None,
    "defocus": "blur",
    "gauss_blur": "blur",
    "ir_cut": "color_cast",
    "wb_cast": "color_cast",
    "dark": "too_dark",
    "bright": "too_bright",
    "noise": "noise",
    "dirt": "occlusion",
    "grey_occluder": "occlusion",
    "thin_occluder": "occlusion",
    "stripes": "stripes",
    "freeze": "freeze",
    "black": "signal_loss",
    "blue": "signal_loss",
    "turned_away": "scene_change",
}
HEALTHY = tuple(c for c, code in CONDITIONS.items() if code is None)
# What the camera normally sees, taken at commissioning: a naturally soft camera is soft, a
# lawn camera sees its lawn, a camera on a low bit rate is always on it.
NORMAL = {"soft": "soft", "single_colour": "single_colour", "low_bitrate": "low_bitrate"}
LOW_KBPS = 160


@dataclass(frozen=True)
class Clip:
    condition: str
    scene: str
    strength: float = 0.5
    seed: int = 0
    frames: int = 10
    t0: int = 0  # time offset: commissioning pictures are taken at another moment
    width: int = W
    height: int = H

    @property
    def expected(self) -> str | None:
        return CONDITIONS[self.condition]

    @property
    def name(self) -> str:
        return f"{self.condition}-{self.scene}-s{self.strength:.2f}-{self.width}-{self.seed}"

    @property
    def max_kbps(self) -> int | None:
        return LOW_KBPS * self.width // W if self.condition == "low_bitrate" else None


def photo(name: str) -> np.ndarray:
    return picture(name)


def _lerp(a: float, b: float, s: float) -> float:
    return a + (b - a) * float(np.clip(s, 0.0, 1.0))


def _gauss(rng: np.random.Generator, sigma: float, shape: tuple[int, ...]) -> np.ndarray:
    """Sensor noise as float32 (float64 noise on every frame made the clips slow to build)."""
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(sigma)


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0, 255).astype(np.uint8)


def _view(scene: str, w: int, h: int, n: int, seed: int, t0: int, pan: float = 0.6) -> Iterator[np.ndarray]:
    """The clean view of a scene: a slow pan over the photograph with a small mover and noise."""
    rng = np.random.default_rng(seed)
    if scene in STREET:
        yield from itertools.islice(street_frames(scene, w, h, n + t0, seed), t0, None)
        return
    name, (x0, y0, x1, y1) = PHOTO_VIEWS[scene]
    img = photo(name)
    ph, pw = img.shape[:2]
    crop = img[int(y0 * ph) : int(y1 * ph), int(x0 * pw) : int(x1 * pw)]
    # Fill the 16:9 view (cropping the longer side), with 6 % to spare for the pan.
    ch, cw = crop.shape[:2]
    scale = max(w * 1.06 / cw, h * 1.06 / ch)
    big = cv2.resize(crop, (round(cw * scale), round(ch * scale)), interpolation=cv2.INTER_CUBIC)
    bh, bw = big.shape[:2]
    ox, oy = (bw - w) / 2, (bh - h) / 2
    mover = rng.integers(0, 255, 3)
    my = rng.uniform(0.5, 0.85) * h
    for i in range(t0, t0 + n):
        dx = ox + pan * (i % 40 - 20) * w / W
        m = np.float32([[1, 0, -dx], [0, 1, -oy]])
        frame = cv2.warpAffine(big, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        x = int((i * 9 * w / W) % (w + 60)) - 30
        cv2.rectangle(frame, (x, int(my)), (x + w // 22, int(my) + h // 30), tuple(int(c) for c in mover), -1)
        yield _u8(frame + _gauss(rng, 2.5, frame.shape))


def _disc_psf(radius: float) -> np.ndarray:
    size = int(np.ceil(radius)) * 2 + 1
    yy, xx = np.mgrid[:size, :size] - size // 2
    k = (np.hypot(xx, yy) <= radius).astype(np.float32)
    return k / k.sum()


def _blob_mask(rng: np.random.Generator, w: int, h: int, area: float, soft: float) -> np.ndarray:
    """A soft-edged region touching a border that covers about `area` of the picture."""
    mask = np.zeros((h, w), np.float32)
    cx, cy = [(0, h), (w, h), (0, 0), (w, 0), (w // 2, h), (0, h // 2)][int(rng.integers(6))]
    ax = 0.2
    while True:
        mask[:] = 0
        cv2.ellipse(mask, (cx, cy), (int(w * ax), int(h * ax * 1.3)), float(rng.uniform(0, 40)), 0, 360, 1.0, -1)
        if mask.mean() >= area or ax > 3:
            break
        ax *= 1.07
    return np.asarray(cv2.GaussianBlur(mask, (0, 0), w * soft), np.float32)[..., None]


def _luma(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)


def _scale_to_mean(frames: list[np.ndarray], mean: float) -> list[np.ndarray]:
    factor = mean / max(1.0, float(_luma(frames[0]).mean()))
    return [_u8(f.astype(np.float32) * factor) for f in frames]


def condition_frames(clip: Clip) -> list[np.ndarray]:
    s, c, w, h = clip.strength, clip.condition, clip.width, clip.height
    k = w / W
    rng = np.random.default_rng(1000 + clip.seed)
    n = clip.frames
    if c in ("black", "blue"):
        colour = (_lerp(14, 0, s),) * 3 if c == "black" else (200, 40, 10)
        base = np.zeros((h, w, 3), np.uint8) + _u8(np.array(colour))
        if c == "blue" and s >= 0.5:
            cv2.putText(base, "NO VIDEO", (w // 3, h // 2), cv2.FONT_HERSHEY_SIMPLEX, w / 500, (255,) * 3, 2)
        return [base.copy() for _ in range(n)]
    if c == "turned_away":
        # Another part of the world: another scene of the same kind, or another crop, closer.
        others = [x for x in (HELD_OUT_SCENES if clip.scene in HELD_OUT_SCENES else FIT_SCENES) if x != clip.scene]
        other = others[(clip.seed + len(clip.scene)) % len(others)]
        return list(_view(other, w, h, n, clip.seed + 7, clip.t0))
    frames = [f.astype(np.float32) for f in _view(clip.scene, w, h, n, clip.seed, clip.t0)]
    if c == "freeze":
        return [_u8(frames[0])] * n
    if c in ("clean", "low_bitrate"):
        return [_u8(f) for f in frames]
    if c == "ir_night":
        grey = [_luma(_u8(f)) for f in frames]
        mean = _lerp(60, 95, s)
        return [
            _u8(
                cv2.cvtColor(_u8(cv2.GaussianBlur(g, (0, 0), 0.6 * k) * mean / grey[0].mean()), cv2.COLOR_GRAY2BGR)
                + _gauss(rng, 2.5, (h, w, 1))
            )
            for g in grey
        ]
    if c == "dusk":
        warm = np.array([0.88, 0.97, 1.08], np.float32)
        return _scale_to_mean([_u8(f * warm + _gauss(rng, 2.0, f.shape)) for f in frames], _lerp(60, 48, s))
    if c == "fog":
        f_ = _lerp(0.3, 0.5, s)
        return [_u8(f * (1 - f_) + 205 * f_) for f in frames]
    if c == "rain":
        drops = [(rng.uniform(0, w), rng.uniform(0, h), rng.uniform(4, 12) * k) for _ in range(int(_lerp(20, 45, s)))]
        out = []
        for f in frames:
            soft = cv2.GaussianBlur(f, (0, 0), 3 * k)
            mask = np.zeros((h, w), np.float32)
            for x, y, rad in drops:
                cv2.circle(mask, (int(x), int(y)), int(rad), 1.0, -1)
            mask = cv2.GaussianBlur(mask, (0, 0), 1.5 * k)[..., None]
            out.append(_u8(f * (1 - mask) + (soft * 1.08 + 6) * mask))
        return out
    if c == "backlight":
        yy, xx = np.mgrid[:h, :w].astype(np.float32)
        cx, cy = (w * 0.85, h * 0.05) if clip.seed % 2 else (w * 0.15, h * 0.08)
        glow = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.35 * w) ** 2))[..., None]
        flare = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.05 * w) ** 2))[..., None]
        gain = _lerp(110, 150, s)
        return [_u8(f * (0.75 - 0.2 * glow) + gain * glow + 80 * flare) for f in frames]
    if c == "single_colour":
        colours = [(60, 140, 70), (50, 70, 150), (150, 110, 50), (40, 120, 200)]  # lawn, brick, river, sand
        colour = np.array(colours[clip.seed % len(colours)], np.float32)
        mask = np.zeros((h, w, 1), np.float32)
        mask[int(h * _lerp(0.45, 0.3, s)) :] = 1.0
        out = []
        for f in frames:
            texture = (_luma(_u8(f)) - 110)[..., None] * 0.6
            out.append(_u8(f * (1 - mask) + (colour + texture) * mask))
        return out
    if c == "vehicle":
        colours = [(20, 110, 235), (30, 30, 200), (20, 190, 230), (200, 90, 30)]  # orange, red, yellow, blue
        colour = np.array(colours[clip.seed % len(colours)], np.float32)
        vw, vh = int(w * _lerp(0.6, 0.85, s)), int(h * _lerp(0.5, 0.7, s))
        out = []
        for i, f in enumerate(frames):
            x0, y0 = int(w * 0.05 + i * 3 * k), h - vh
            body = np.zeros((h, w), np.float32)
            cv2.rectangle(body, (x0, y0 + vh // 5), (x0 + vw, h), 1.0, -1)
            cv2.rectangle(body, (x0 + vw // 6, y0), (x0 + vw * 5 // 6, y0 + vh // 5), 1.0, -1)
            grad = np.linspace(1.1, 0.8, h, dtype=np.float32)[:, None, None]
            paint = colour * grad + _gauss(rng, 2, (h, w, 3))
            g = f.copy()
            b = body[..., None]
            g = g * (1 - b) + paint * b
            cv2.rectangle(g, (x0 + vw // 5, y0 + vh // 20), (x0 + vw * 4 // 5, y0 + vh // 6), (40, 40, 45), -1)
            cv2.rectangle(g, (x0 + vw // 10, h - vh // 4), (x0 + vw // 10 + vw // 6, h), (25, 25, 25), -1)
            cv2.line(g, (x0 + vw // 8, y0 + vh // 3), (x0 + vw * 7 // 8, y0 + vh // 3), (240, 240, 240), int(3 * k))
            out.append(_u8(g))
        return out
    if c == "warm_light":
        gains = np.array([_lerp(0.9, 0.84, s), 0.98, _lerp(1.06, 1.1, s)], np.float32)
        return [_u8(f * gains * 0.8) for f in frames]
    if c == "soft":
        f_ = _lerp(0.45, 0.33, s)
        small = (max(2, int(w * f_)), max(2, int(h * f_)))
        return [
            _u8(
                cv2.resize(cv2.resize(f, small, interpolation=cv2.INTER_AREA), (w, h), interpolation=cv2.INTER_CUBIC)
                + _gauss(rng, 1.5, f.shape)
            )
            for f in frames
        ]
    if c == "knocked":
        angle, shift = _lerp(0.8, 1.8, s), _lerp(0.015, 0.035, s) * w
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        m[0, 2] += shift
        return [_u8(cv2.warpAffine(f, m, (w, h), borderMode=cv2.BORDER_REFLECT)) for f in frames]
    if c == "defocus":
        psf = _disc_psf(_lerp(2.2, 5.0, s) * k)
        return [_u8(cv2.filter2D(f, -1, psf) + _gauss(rng, 2.0, f.shape)) for f in frames]
    if c == "gauss_blur":
        sigma = _lerp(1.8, 4.0, s) * k
        return [_u8(cv2.GaussianBlur(f, (0, 0), sigma) + _gauss(rng, 2.0, f.shape)) for f in frames]
    if c == "ir_cut":
        # Without the IR-cut filter, infrared reaches the red and blue pixels: pink or purple.
        ir = _lerp(0.35, 0.6, s)
        tint = np.array([1 + ir * 0.9, 1.0 - ir * 0.1, 1 + ir * 1.1], np.float32)
        return [_u8((f * (1 - ir) + _luma(_u8(f))[..., None] * ir) * tint) for f in frames]
    if c == "wb_cast":
        a = _lerp(0.45, 0.8, s)
        gains = [
            np.array([1 - 0.4 * a, 1.0, 1 + 0.4 * a]),  # yellow-red
            np.array([1 - 0.3 * a, 1 + 0.25 * a, 1 - 0.3 * a]),  # green
            np.array([1 + 0.4 * a, 1.0, 1 - 0.35 * a]),  # blue
            np.array([1 + 0.1 * a, 1 + 0.25 * a, 1 - 0.4 * a]),  # cyan
        ][clip.seed % 4]
        return [_u8(f * gains.astype(np.float32)) for f in frames]
    if c == "dark":
        return _scale_to_mean([_u8(f) for f in frames], _lerp(30, 12, s))
    if c == "bright":
        gain, target = _lerp(1.6, 2.6, s), _lerp(215, 245, s)
        lo, hi = -255.0, 255.0
        for _ in range(20):  # the offset that brings the mean to the target
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if _luma(_u8(frames[0] * gain + mid)).mean() < target else (lo, mid)
        return [_u8(f * gain + lo) for f in frames]
    if c == "noise":
        sigma = _lerp(12, 30, s)
        return [_u8(f + _gauss(rng, sigma, (h, w, 1))) for f in frames]
    if c in ("dirt", "grey_occluder", "thin_occluder"):
        area = _lerp(0.28, 0.5, s)
        mask = _blob_mask(rng, w, h, area, 0.012)
        if c == "dirt":
            blotch = cv2.GaussianBlur(_gauss(rng, 1.0, (h // 8, w // 8)), (0, 0), 2)
            blotch = cv2.resize(blotch, (w, h))[..., None]
            picture = np.array([40, 55, 70], np.float32) + 12 * blotch
            alpha = 0.92
        else:
            luma = _lerp(130, 95, s) if c == "grey_occluder" else _lerp(120, 90, s)
            picture = np.full((h, w, 3), luma, np.float32)
            alpha = 1.0 if c == "grey_occluder" else _lerp(0.8, 0.9, s)
        out = []
        for f in frames:
            under = cv2.GaussianBlur(f, (0, 0), 6 * k)
            mixed = under * (1 - alpha) + picture * alpha
            out.append(_u8(f * (1 - mask) + mixed * mask + _gauss(rng, 1.5, f.shape) * mask))
        return out
    if c == "stripes":
        amp, period = _lerp(8, 25, s), float(rng.uniform(8, 36)) * k
        axis = np.arange(h, dtype=np.float32)
        return [
            _u8(f + (amp * np.sin(2 * np.pi * axis / period + i * 0.9))[:, None, None]) for i, f in enumerate(frames)
        ]
    raise ValueError(f"unknown condition {c!r}")


def normal_clip(clip: Clip) -> Clip:
    """The camera's normal view at another moment: what it was commissioned with."""
    return replace(clip, condition=NORMAL.get(clip.condition, "clean"), t0=clip.t0 + 17, strength=clip.strength)


def night_clip(clip: Clip) -> Clip:
    return replace(clip, condition="ir_night", t0=clip.t0 + 29, strength=0.5)


def write_clip(path: Path, clip: Clip) -> Path:
    return write_frames(path, condition_frames(clip), fps=12, codec="libx264", max_kbps=clip.max_kbps)
