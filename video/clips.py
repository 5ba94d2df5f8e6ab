"""Synthetic street-scene clips, made locally (no download), for sample cameras and tests.

Each scene is drawn with NumPy/OpenCV and encoded as H.264 MP4 by PyAV (libx264 is in its
wheel). Scenes move, carry sensor-like noise and differ in layout and colour, so they look like
cameras rather than one test pattern.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

SCENES = ("road", "crossroad", "plaza", "riverside", "gate", "market", "park", "parking")


def _background(scene: str, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    sky = {"road": (200, 170, 120), "riverside": (210, 180, 140), "park": (190, 200, 150)}
    img[: h // 3] = sky.get(scene, (180, 175, 170))
    ground = {
        "park": (60, 130, 70),
        "riverside": (120, 100, 60),
        "plaza": (150, 150, 155),
        "market": (90, 110, 140),
    }.get(scene, (95, 95, 100))
    img[h // 3 :] = ground
    for _ in range(6):  # buildings / trees along the horizon
        x = int(rng.integers(0, w - 60))
        bw, bh = int(rng.integers(30, 110)), int(rng.integers(30, h // 3))
        color = tuple(int(c) for c in rng.integers(40, 220, 3))
        cv2.rectangle(img, (x, h // 3 - bh), (x + bw, h // 3), color, -1)
        for wy in range(h // 3 - bh + 6, h // 3 - 6, 12):  # windows give texture
            cv2.line(img, (x + 4, wy), (x + bw - 4, wy), (30, 30, 30), 1)
    if scene in ("road", "crossroad", "parking", "gate"):
        cv2.rectangle(img, (0, h // 2), (w, h // 2 + h // 5), (70, 70, 75), -1)
        for x in range(0, w, 60):
            cv2.line(img, (x, h // 2 + h // 10), (x + 30, h // 2 + h // 10), (230, 230, 230), 2)
    if scene == "crossroad":
        cv2.rectangle(img, (w // 2 - 50, h // 3), (w // 2 + 50, h), (70, 70, 75), -1)
    if scene == "riverside":
        cv2.rectangle(img, (0, 2 * h // 3), (w, h), (140, 110, 50), -1)
    return img


def frames(scene: str, w: int = 640, h: int = 360, n: int = 48, seed: int = 0) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    bg = _background(scene, w, h, rng)
    movers = [
        (
            int(rng.integers(0, w)),
            int(rng.integers(h // 2, h - 20)),
            int(rng.integers(3, 9)),
            tuple(int(c) for c in rng.integers(0, 255, 3)),
        )
        for _ in range(5)
    ]
    for i in range(n):
        img = bg.copy()
        for x0, y, speed, color in movers:
            x = (x0 + speed * i) % (w + 80) - 40
            cv2.rectangle(img, (x, y - 12), (x + 40, y + 12), color, -1)
        noise = rng.normal(0, 3, img.shape)
        yield np.clip(img + noise, 0, 255).astype(np.uint8)


def write_clip(
    path: Path,
    scene: str,
    *,
    w: int = 640,
    h: int = 360,
    fps: int = 12,
    seconds: float = 4,
    seed: int = 0,
    codec: str = "libx264",
) -> Path:
    """Write an H.264 (or another PyAV codec) clip of a synthetic scene; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part" + path.suffix)
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = Fraction(1, fps)
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "g": str(fps * 2)}
        for frame in frames(scene, w, h, int(fps * seconds), seed):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.replace(path)  # never leave a half-written clip under the final name
    return path
