"""The still pictures behind the natural-scene clips: photographs bundled in installable packages,
a shaded terrain from a bundled elevation model, and procedural textured scenes.

- Photographs: scikit-learn's sample images (china.jpg, flower.jpg), matplotlib's sample data
  (grace_hopper.jpg) and mahotas' demo data (DepartmentStore.jpg, a crowded shop floor seen from
  above; luispedro.jpg, a small portrait). scikit-image's bundled photographs are never used:
  they are kept for checks from outside.
- Terrain: matplotlib's jacksboro_fault_dem.npz, hill-shaded and coloured like an aerial view.
- Procedural: a brick wall, a lawn with a path, autumn leaves on the ground; each a family whose
  instances ("-a", "-b") differ by seed and palette, so a fitted and a held-out instance share
  no picture.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

PROCEDURAL = ("brick", "lawn", "autumn")


def _photo_path(name: str) -> Path:
    if name in ("china", "flower"):
        return Path(str(resources.files("sklearn.datasets") / "images" / f"{name}.jpg"))
    if name in ("DepartmentStore", "luispedro"):
        return Path(str(resources.files("mahotas") / "demos" / "data" / f"{name}.jpg"))
    return Path(str(resources.files("matplotlib") / "mpl-data" / "sample_data" / f"{name}.jpg"))


def _terrain() -> np.ndarray:
    from matplotlib import colormaps
    from matplotlib.colors import LightSource

    path = Path(str(resources.files("matplotlib") / "mpl-data" / "sample_data" / "jacksboro_fault_dem.npz"))
    with np.load(path) as data:
        elevation = np.asarray(data["elevation"], np.float64)
    rgb = LightSource(azdeg=315, altdeg=40).shade(
        elevation, cmap=colormaps["gist_earth"], vert_exag=0.05, blend_mode="overlay", dx=30, dy=30
    )
    bgr = np.ascontiguousarray((rgb[..., 2::-1] * 255).clip(0, 255).astype(np.uint8))
    return cv2.resize(bgr, (bgr.shape[1] * 3, bgr.shape[0] * 3), interpolation=cv2.INTER_CUBIC)


def _fractal(rng: np.random.Generator, h: int, w: int, octaves: int = 6) -> np.ndarray:
    """1/f-like noise in 0 … 1: the texture of grass, gravel, leaves and weathered stone."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = 4 * 2**o
        small = rng.random((max(2, h * cells // w), cells)).astype(np.float32)
        out += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.6
    out /= total
    return (out - out.min()) / max(1e-6, float(out.max() - out.min()))


def procedural(family: str, variant: int, w: int = 1280, h: int = 720) -> np.ndarray:
    """A textured scene of one family; `variant` picks the seed and a palette shift."""
    rng = np.random.default_rng(7919 * variant + len(family))
    tex = _fractal(rng, h, w)[..., None]
    fine = rng.normal(0, 1, (h, w, 1)).astype(np.float32)
    hue = rng.uniform(-1, 1)
    if family == "brick":
        img = np.empty((h, w, 3), np.float32)
        img[:] = (150, 155, 160)  # mortar
        bh, bw = int(rng.integers(22, 34)), int(rng.integers(60, 90))
        base = np.array([45 + 10 * hue, 70 + 10 * hue, 150 + 20 * hue], np.float32)  # BGR red-brown
        for row, y in enumerate(range(0, h, bh)):
            off = (bw // 2) * (row % 2)
            for x in range(-off, w, bw):
                colour = base * rng.uniform(0.75, 1.2) + rng.normal(0, 6, 3)
                cv2.rectangle(img, (x + 2, y + 2), (x + bw - 3, y + bh - 3), tuple(float(c) for c in colour), -1)
        img = img * (0.8 + 0.4 * tex) + 6 * fine
        img[int(h * 0.82) :] = 110 + 60 * tex[int(h * 0.82) :] + 4 * fine[int(h * 0.82) :]  # pavement
    elif family == "lawn":
        green = np.array([50 + 10 * hue, 125 + 15 * hue, 70], np.float32)
        img = green * (0.6 + 0.8 * tex) + 14 * fine * (0.5 + tex)
        path = np.zeros((h, w), np.float32)
        x0 = int(rng.uniform(0.2, 0.6) * w)
        pts = np.array([[x0, h], [x0 + w // 5, h], [x0 + w // 3, h // 3], [x0 + w // 4, h // 3]], np.int32)
        cv2.fillPoly(path, [pts], 1.0)
        path = cv2.GaussianBlur(path, (0, 0), 2)[..., None]
        img = img * (1 - path) + (165 + 50 * tex + 8 * fine) * path
        for _ in range(int(rng.integers(4, 8))):  # bushes
            cx, cy = int(rng.uniform(0, w)), int(rng.uniform(0.2, 0.6) * h)
            axes = (int(rng.uniform(30, 90)), int(rng.uniform(20, 50)))
            cv2.ellipse(img, (cx, cy), axes, 0, 0, 360, (30, 70, 35), -1)
        img[: h // 5] = np.array([215, 190, 160], np.float32) - 30 * tex[: h // 5]  # sky
    else:  # autumn leaves on earth, with tree trunks
        img = np.array([40, 70, 100], np.float32) * (0.7 + 0.6 * tex) + 6 * fine
        palette = [(30, 120, 230), (20, 170, 240), (40, 80, 190), (30, 60, 140), (60, 150, 200)]
        for _ in range(2500):
            cx, cy = int(rng.uniform(0, w)), int(rng.uniform(0, h))
            c = np.array(palette[int(rng.integers(len(palette)))], np.float32) * rng.uniform(0.7, 1.1)
            axes = (int(rng.uniform(5, 16)), int(rng.uniform(3, 9)))
            cv2.ellipse(img, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, tuple(float(v) for v in c), -1)
        for _ in range(3):
            x = int(rng.uniform(0.1, 0.9) * w)
            cv2.rectangle(img, (x, 0), (x + int(rng.uniform(25, 50)), int(h * 0.55)), (35, 45, 55), -1)
        img = img + 5 * fine
    return np.clip(img, 0, 255).astype(np.uint8)


@cache
def picture(name: str) -> np.ndarray:
    """The still picture named `name`: a photograph, "terrain" or "<family>-<variant>"."""
    if name == "terrain":
        return _terrain()
    family, _, variant = name.partition("-")
    if family in PROCEDURAL:
        return procedural(family, int(variant or 0))
    image = cv2.imread(str(_photo_path(name)), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"sample photograph {name} not found; install the dev dependencies (make deps)")
    return image
