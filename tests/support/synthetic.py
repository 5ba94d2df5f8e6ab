"""Labelled synthetic clips for tests and the accuracy benchmark: healthy hard cases and faults.

Every condition is a transform of the street scenes in `video.clips`, applied per frame, at a
strength from 0 (mildest case still meant to be caught, or to stay clean) to 1 (severe). Sizes
that describe what a viewer sees (blur radius, stripe period, noise grain) are given at the
640-pixel analysis width and scaled to the clip's resolution, so a 1080p clip shows the same
fault as a 360p one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from video.clips import frames as scene_frames

# condition → the fault code a diagnosis must report (None: must stay clean).
CONDITIONS: dict[str, str | None] = {
    "healthy": None,
    "dim": None,  # dim but normal (dusk, indoor)
    "warm": None,  # warm surfaces and light, white balance still right
    "colourful": None,  # many saturated colours, e.g. a market
    "static": None,  # nothing moves, only sensor noise changes
    "busy": None,  # many moving, textured objects
    "dark": "too_dark",
    "bright": "too_bright",
    "blur": "blur",
    "cast": "color_cast",
    "snow": "noise",
    "occlusion": "occlusion",
    "stripes": "stripes",
    "rolling_stripes": "stripes",
    "freeze": "freeze",
    "black": "signal_loss",
    "blue": "signal_loss",
    "flat": "signal_loss",
    "moved": "scene_change",  # needs the reference picture from `reference_picture`
}
HEALTHY = tuple(c for c, code in CONDITIONS.items() if code is None)
FAULTY = tuple(c for c, code in CONDITIONS.items() if code is not None)


@dataclass(frozen=True)
class ClipSpec:
    condition: str
    scene: str = "road"
    strength: float = 0.5
    width: int = 640
    height: int = 360
    fps: int = 12
    seconds: float = 2.0
    seed: int = 0
    codec: str = "libx264"
    max_kbps: int | None = None  # a camera-like rate cap (libx264 only)

    @property
    def expected(self) -> str | None:
        return CONDITIONS[self.condition]

    @property
    def n_frames(self) -> int:
        return max(2, round(self.fps * self.seconds))

    @property
    def name(self) -> str:
        cap = f"-{self.max_kbps}k" if self.max_kbps else ""
        return (
            f"{self.condition}-{self.scene}-s{self.strength:.2f}-{self.width}x{self.height}"
            f"-{self.codec}{cap}-{self.seed}"
        )


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * float(np.clip(t, 0.0, 1.0))


def _luma_mean(img: np.ndarray) -> float:
    return float(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).mean())


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0, 255).astype(np.uint8)


def _base(spec: ClipSpec, seed: int | None = None) -> Iterator[np.ndarray]:
    return scene_frames(spec.scene, spec.width, spec.height, spec.n_frames, spec.seed if seed is None else seed)


def _scale(spec: ClipSpec) -> float:
    """Native pixels per analysis pixel."""
    return max(1.0, spec.width / 640)


def _overlay_rects(
    img: np.ndarray, rng: np.random.Generator, colours: list[tuple[int, int, int]], count: int, cover_top: float
) -> None:
    h, w = img.shape[:2]
    for _ in range(count):
        rw, rh = int(rng.integers(w // 14, w // 5)), int(rng.integers(h // 12, h // 4))
        x, y = int(rng.integers(0, w - rw)), int(rng.integers(int(h * cover_top), h - rh))
        colour = colours[int(rng.integers(len(colours)))]
        cv2.rectangle(img, (x, y), (x + rw, y + rh), colour, -1)
        cv2.rectangle(img, (x, y), (x + rw, y + rh), (40, 40, 40), max(1, w // 400))


def _healthy_variant(spec: ClipSpec, rng: np.random.Generator) -> Iterator[np.ndarray]:
    s = spec.strength
    if spec.condition == "static":
        first = next(iter(_base(spec)))
        for _ in range(spec.n_frames):
            yield _u8(first + rng.normal(0, 3.0, first.shape))
        return
    if spec.condition in ("warm", "colourful"):
        layer = next(iter(_base(spec))).copy()
        if spec.condition == "warm":
            warm = [(50, 70, 170), (40, 120, 220), (70, 170, 230), (60, 90, 140), (30, 60, 120)]
            _overlay_rects(layer, rng, warm, 14, 0.2)
        else:
            hues = rng.integers(0, 180, 24)
            hsv = np.array([[[hh, 230, 220] for hh in hues]], np.uint8)
            bgr = np.asarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR))[0]
            colours = [(int(b), int(g), int(r)) for b, g, r in bgr]
            _overlay_rects(layer, rng, colours, 24, 0.25)
        mask = np.any(layer != next(iter(_base(spec))), axis=2)
        for img in _base(spec):
            out = img.copy()
            # Fresh sensor noise on the painted surfaces too, or half the picture would be frozen.
            out[mask] = _u8(layer[mask] + rng.normal(0, 3.0, (int(mask.sum()), 3)))
            if spec.condition == "warm":  # warm evening light, a touch on every surface
                out = _u8(out * np.array([1 - 0.06 * s, 1.0, 1 + 0.06 * s]))
            yield out
        return
    if spec.condition == "busy":
        h, w = spec.height, spec.width
        n = 30  # people and vehicles on the ground, in front of the buildings
        pos = rng.uniform([0, h * 0.45], [w, h], (n, 2))
        vel = rng.uniform(-6, 6, (n, 2)) * _scale(spec)
        size = rng.uniform(8, 30, (n, 2)) * _scale(spec)
        paint = rng.integers(0, 255, (n, 3))
        for i, img in enumerate(_base(spec)):
            out = img.copy()
            for j in range(n):
                x = (pos[j, 0] + vel[j, 0] * i) % w
                y = h * 0.45 + (pos[j, 1] - h * 0.45 + vel[j, 1] * i) % (h * 0.55)
                p0 = (int(x), int(y))
                p1 = (int(x + size[j, 0]), int(y + size[j, 1]))
                cv2.rectangle(out, p0, p1, tuple(int(c) for c in paint[j]), -1)
                cv2.line(out, p0, p1, (20, 20, 20), max(1, w // 640))
            cv2.putText(
                out,
                "MARKET ST 12",
                (w // 20, h // 6),
                cv2.FONT_HERSHEY_SIMPLEX,
                w / 900,
                (250, 250, 250),
                max(1, w // 400),
            )
            yield out
        return
    frames = list(_base(spec))
    if spec.condition == "dim":
        factor = _lerp(72, 55, s) / _luma_mean(frames[0])
        yield from (_u8(f * factor) for f in frames)
        return
    yield from frames  # healthy


def _occluder(spec: ClipSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(alpha mask 0…1, occluder picture): a dark, out-of-focus object near the lens."""
    h, w = spec.height, spec.width
    area = _lerp(0.25, 0.6, spec.strength)
    anchors = [(0, h), (w, h), (0, 0), (w, 0), (w // 2, h), (0, h // 2), (w // 2, h // 2)]
    cx, cy = anchors[int(rng.integers(len(anchors)))]
    mask = np.zeros((h, w), np.float32)
    # An ellipse whose visible part covers about `area` of the picture; grow until it does.
    ax = 0.2
    while True:
        mask[:] = 0
        cv2.ellipse(mask, (cx, cy), (int(w * ax), int(h * ax * 1.3)), float(rng.uniform(0, 40)), 0, 360, 1.0, -1)
        if mask.mean() >= area or ax > 3:
            break
        ax *= 1.08
    soft = np.asarray(cv2.GaussianBlur(mask, (0, 0), w * 0.012), np.float32)
    luma = _lerp(38, 8, spec.strength)
    tint = rng.uniform(0.8, 1.2, 3)
    yy = np.linspace(0.85, 1.15, h, dtype=np.float32)[:, None, None]
    picture = np.ones((h, w, 3), np.float32) * luma * tint * yy
    return soft[..., None], picture


def _fault_frames(spec: ClipSpec, rng: np.random.Generator) -> Iterator[np.ndarray]:
    s, cond = spec.strength, spec.condition
    h, w = spec.height, spec.width
    if cond in ("black", "blue", "flat"):
        colour = {
            "black": (_lerp(14, 0, s),) * 3,
            "blue": (200, 40, 10),
            "flat": tuple(float(c) for c in rng.integers(60, 200, 3)),
        }[cond]
        base_u8 = np.zeros((h, w, 3), np.uint8) + _u8(np.array(colour))
        if cond == "blue" and s >= 0.5:  # a DVR's "no video" screen
            cv2.putText(
                base_u8,
                "NO VIDEO",
                (w // 3, h // 2),
                cv2.FONT_HERSHEY_SIMPLEX,
                w / 500,
                (255, 255, 255),
                max(1, w // 300),
            )
        base = base_u8.astype(np.float32)
        for _ in range(spec.n_frames):
            yield _u8(base + rng.normal(0, 1.0, base.shape)) if cond == "flat" else _u8(base)
        return
    if cond == "moved":
        # The camera was turned: another part of the street, seen closer.
        for img in _base(spec, seed=spec.seed + 1000):
            zoom = _lerp(1.25, 1.6, s)
            crop = img[: int(h / zoom), w - int(w / zoom) :]
            yield cv2.resize(crop[:, ::-1], (w, h), interpolation=cv2.INTER_LINEAR)
        return
    frames = _base(spec)
    if cond == "freeze":
        first = next(iter(frames))
        for _ in range(spec.n_frames):
            yield first
        return
    if cond == "dark":
        frames_l = list(frames)
        factor = _lerp(34, 12, s) / _luma_mean(frames_l[0])
        yield from (_u8(f * factor) for f in frames_l)
        return
    if cond == "bright":
        frames_l = list(frames)
        gain, target = _lerp(1.6, 2.6, s), _lerp(212, 245, s)
        lo, hi = -255.0, 255.0
        for _ in range(20):  # the offset that brings the mean to the target
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if _luma_mean(_u8(frames_l[0] * gain + mid)) < target else (lo, mid)
        yield from (_u8(f * gain + lo) for f in frames_l)
        return
    if cond == "blur":
        sigma = _lerp(1.8, 4.5, s) * _scale(spec)
        # Defocus happens before the sensor, so sensor noise stays sharp on a blurred picture.
        yield from (_u8(cv2.GaussianBlur(f, (0, 0), sigma) + rng.normal(0, 2.0, f.shape)) for f in frames)
        return
    if cond == "cast":
        a = _lerp(0.45, 1.0, s)
        casts = [
            np.array([1 - 0.4 * a, 1.0, 1 + 0.4 * a]),  # warm / red-yellow
            np.array([1 - 0.3 * a, 1 + 0.25 * a, 1 - 0.3 * a]),  # green
            np.array([1 + 0.4 * a, 1.0, 1 - 0.35 * a]),  # blue
            np.array([1 + 0.25 * a, 1 - 0.3 * a, 1 + 0.25 * a]),
        ]  # magenta
        gains = casts[spec.seed % len(casts)]
        yield from (_u8(f * gains) for f in frames)
        return
    if cond == "snow":
        sigma = _lerp(12, 35, s)
        k = _scale(spec)
        gh, gw = max(2, round(h / k)), max(2, round(w / k))
        for f in frames:
            grain = rng.normal(0, sigma, (gh, gw)).astype(np.float32)
            speckled = rng.random((gh, gw)) < 0.02 * (0.5 + s)
            speck = speckled * rng.choice([-120.0, 120.0], (gh, gw))
            grain = cv2.resize(grain + speck.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
            yield _u8(f + grain[..., None])
        return
    if cond == "occlusion":
        mask, picture = _occluder(spec, rng)
        for f in frames:
            yield _u8(f * (1 - mask) + picture * mask + rng.normal(0, 1.5, f.shape) * mask)
        return
    if cond in ("stripes", "rolling_stripes"):
        amp = _lerp(10, 30, s)
        period = float(rng.uniform(6, 40)) * _scale(spec)
        vertical = spec.seed % 3 == 2
        axis = np.arange(w if vertical else h, dtype=np.float32)
        tint = np.array([1.0, float(rng.uniform(0.6, 1.0)), 1.0], np.float32)
        for i, f in enumerate(frames):
            phase = i * 0.9 if cond == "rolling_stripes" else 0.0
            wave = amp * np.sin(2 * np.pi * axis / period + phase)
            band = wave[None, :, None] if vertical else wave[:, None, None]
            yield _u8(f + band * tint)
        return
    raise ValueError(f"unknown condition {cond!r}")


def condition_frames(spec: ClipSpec) -> Iterator[np.ndarray]:
    """BGR frames of the clip `spec` describes."""
    if spec.condition not in CONDITIONS:
        raise ValueError(f"unknown condition {spec.condition!r}; known: {', '.join(CONDITIONS)}")
    rng = np.random.default_rng(10_000 + spec.seed)
    if spec.expected is None:
        return _healthy_variant(spec, rng)
    return _fault_frames(spec, rng)


def reference_picture(spec: ClipSpec) -> np.ndarray:
    """The picture stored at onboarding for this camera: its healthy view at another moment
    (the movers elsewhere). A healthy hard case is its own healthy view: a dim camera is dim."""
    view = spec if spec.expected is None else replace(spec, condition="healthy")
    *_, last = condition_frames(replace(view, seconds=view.seconds + 2.0))
    return last


def write_frames(
    path: Path, frames: Iterable[np.ndarray], *, fps: int = 12, codec: str = "libx264", max_kbps: int | None = None
) -> Path:
    """Encode BGR frames as a clip: libx264 at CRF 23, mpeg4 at 0.25 bit/pixel. `max_kbps` caps
    the rate the way a camera's main stream is capped (e.g. 4096 kbit/s at 1080p)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    it = iter(frames)
    first = next(it)
    h, w = first.shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = Fraction(1, fps)
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "g": str(fps * 2)}
            if max_kbps:
                stream.options |= {"x264-params": f"vbv-maxrate={max_kbps}:vbv-bufsize={max_kbps}"}
        else:
            stream.options = {"g": str(fps * 2)}
            stream.bit_rate = int(w * h * fps * 0.25)
        for img in (first, *it):
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_condition_clip(path: Path, spec: ClipSpec) -> Path:
    return write_frames(path, condition_frames(spec), fps=spec.fps, codec=spec.codec, max_kbps=spec.max_kbps)
