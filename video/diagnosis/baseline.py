"""A camera's own normal picture (建档): what each check measured on it, by day and by night.

Vendors' VQD learns each camera's normal view at commissioning and judges later pictures
against it. A `Baseline` keeps, for one picture mode, the measurements that the relative checks
need — sharpness (blur effect), noise sigma, brightness, the estimates of the light's colour (of
the whole picture and of each of its parts), the texture of each block (for occlusion) — and
the reference picture's edge maps (for scene_change). It is refined over the first healthy
rounds (a running mean of `samples` pictures, up to `Thresholds.baseline_rounds`).

The mode is read from the picture, not the clock: a camera in IR night mode gives a grayscale
picture (saturation near 0), and gets its own night baseline. Brightness is also kept by the hour
of the day (China Standard Time) the picture was taken at: a street is dimmer at dusk than at
noon while still in colour, and a noon picture as dim as dusk is not that camera's normal. The
hours keep learning after the rest of the baseline is complete, each from its own healthy
pictures, until every hour the camera is watched at has `baseline_rounds` of them.

`CameraSettings` is everything one camera is judged with — thresholds, the scene reference and
the baselines — so the CLI, the patrol, the API's re-diagnose and the console pass the same
thing to the same function and get the same verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from govops.localtime import configured_zone
from video.diagnosis.checks.colour import estimates, saturation
from video.diagnosis.checks.exposure import brightness_mean
from video.diagnosis.checks.noise import noise_sigma
from video.diagnosis.checks.occlusion import block_means, block_stats
from video.diagnosis.checks.scene import Reference
from video.diagnosis.checks.sharpness import SOFT_VIEW, blur_effect, edge_blocks, sharpness_of
from video.diagnosis.checks.spread import median_sigma, spread_blocks
from video.diagnosis.checks.stripes import Peak, merge_peaks, periodic_peaks
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.overlay import Share, merged, where, without_osd
from video.diagnosis.thresholds import Thresholds

MODES = ("day", "night")
# Codes judged against the baseline when there is one; the rest are absolute by nature.
RELATIVE = ("blur", "color_cast", "noise", "too_dark", "too_bright", "occlusion")
# Codes a commissioning picture may never show: they are not anyone's normal.
NEVER_NORMAL = ("signal_loss", "freeze", "stripes", "occlusion", "scene_change")


def local_hour(at: datetime) -> int:
    """The hour of the day (0-23) on the district's clock (GOVOPS_TIMEZONE, Beijing time by
    default) of an aware or UTC-naive moment: the light a camera sees follows it."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(configured_zone()).hour


def picture_mode(frame: AnalysedFrame, t: Thresholds) -> str:
    """day (colour) or night (IR grayscale), from the picture's saturation."""
    return "night" if saturation(frame) < t.night_saturation else "day"


def _rounded(pairs: Mapping[str, tuple[float, float]], digits: int) -> dict[str, list[float]]:
    return {k: [round(a, digits), round(b, digits)] for k, (a, b) in pairs.items()}


def edge_sigma(blocks: Any) -> dict[str, Any]:
    """For the camera page: the typical blur sigma of the baseline's edges in pixels (a stored
    block map, JSON nulls allowed) and whether that makes it a view soft by nature, whose blur is
    judged by the blur added to its edges. Empty without a map."""
    if blocks is None:
        return {}
    sigma = median_sigma(np.asarray(blocks, np.float64))
    return {} if sigma is None else {"edge_sigma": round(sigma, 2), "soft_view": sigma >= SOFT_VIEW}


def _nullable(blocks: np.ndarray) -> list[list[float | None]]:
    """A block map as JSON: NaN (nothing read) as null."""
    return [[None if np.isnan(v) else round(float(v), 2) for v in row] for row in blocks]


@dataclass(frozen=True)
class Baseline:
    mode: str
    blur_effect: float
    noise_sigma: float
    brightness: float
    illuminants: Mapping[str, tuple[float, float]]
    texture: np.ndarray = field(repr=False, compare=False)  # block standard deviations
    samples: int = 1
    reference: Reference | None = field(default=None, repr=False, compare=False)
    # The sharpest edges' sharpness (checks.sharpness.edge_sharpness); None for a baseline
    # stored before it was measured, or a picture without strong edges.
    edge_sharpness: float | None = None
    # The periodic patterns of the normal picture (axis, cycles, prominence): a brick wall or a
    # fence is texture, not stripes. None for a baseline stored before they were kept.
    periodic: tuple[Peak, ...] | None = None
    # Each block's look (mean luma, a*, b*), for a cover over plain parts; None in a baseline
    # stored before it was kept.
    blocks: np.ndarray | None = field(default=None, repr=False, compare=False)
    # Each block's sharpest edge (checks.sharpness.edge_blocks), to compare the edges where they
    # are; None in a baseline stored before it was kept.
    edge_blocks: np.ndarray | None = field(default=None, repr=False, compare=False)
    # The light's log chromaticity by grey world, grey edge and, unless a channel clipped, white
    # patch, and by the grey world of each part of the picture ("part r,c", where enough of it
    # is valid; checks.colour.estimates); None in a baseline stored before it was kept.
    light: Mapping[str, tuple[float, float]] | None = None
    # The normal brightness by hour of the day (local_hour): hour → (mean brightness, pictures);
    # None in a baseline stored before it was kept.
    hours: Mapping[int, tuple[float, int]] | None = None
    # Each block's blur sigma (checks.spread.spread_blocks, NaN where it has no isolated step),
    # for the blur added to a view soft by nature; None in a baseline stored before it was kept.
    edge_spread: np.ndarray | None = field(default=None, repr=False, compare=False)
    # Where the camera draws its OSD (overlay.where: x, y, width, height as shares of the
    # picture), filled in on every later picture too; None in a baseline stored before it was kept.
    osd: tuple[Share, ...] | None = None

    @classmethod
    def measure(
        cls,
        frame: AnalysedFrame,
        t: Thresholds,
        mode: str | None = None,
        hour: int | None = None,
        known: Sequence[Share] = (),
    ) -> Baseline:
        """The statistics of one normal picture (its OSD lines filled in first, and where the
        camera's other baselines know its OSD: `known`, CameraSettings.osd); `hour` (local_hour)
        when it was taken, if known."""
        frame = without_osd(frame, known=known)
        sigma, _ = noise_sigma(frame.gray_f)
        luma = brightness_mean(frame)
        edges = edge_blocks(frame.gray)
        ab, light = estimates(frame, grey=True)
        return cls(
            mode=mode or picture_mode(frame, t),
            blur_effect=blur_effect(frame),
            noise_sigma=sigma,
            brightness=luma,
            illuminants=ab,
            texture=block_stats(frame.gray)[1],
            reference=Reference.from_frame(frame),
            edge_sharpness=sharpness_of(edges),
            edge_blocks=edges,
            light=light,
            periodic=periodic_peaks(frame),
            blocks=block_means(frame),
            hours=None if hour is None else {hour: (luma, 1)},
            edge_spread=spread_blocks(frame.gray),
            osd=tuple((a, b, c, d) for a, b, c, d in where(frame.osd or [], frame.gray.shape)),
        )

    def brightness_at(self, hour: int | None) -> tuple[float, str]:
        """The normal brightness at that hour when the hour was learned, else the mode's; and
        which one it is ("hour 18" or "mode")."""
        if hour is not None and self.hours and hour in self.hours:
            return self.hours[hour][0], f"hour {hour}"
        return self.brightness, "mode"

    def with_hour(self, hour: int, luma: float, rounds: int) -> Baseline | None:
        """The baseline with one more healthy picture's brightness at that hour; None when the
        hour already has `rounds` pictures."""
        hours = dict(self.hours or {})
        mean, n = hours.get(hour, (0.0, 0))
        if n >= rounds:
            return None
        hours[hour] = ((mean * n + luma) / (n + 1), n + 1)
        return replace(self, hours=hours)

    def normal_at(self, hour: int, luma: float) -> Baseline:
        """The baseline with `luma` as the normal brightness at that hour, as one picture (a
        person said so): the other hours are kept, and the patrol refines this one again."""
        return replace(self, hours={**(self.hours or {}), hour: (luma, 1)})

    def refined(self, newer: Baseline, rounds: int) -> Baseline:
        """A running mean with a newer healthy picture of the same mode, over `rounds` pictures."""
        if self.samples >= rounds or newer.mode != self.mode:
            return self
        n = self.samples
        w = 1.0 / (n + 1)

        def mix(a: float, b: float) -> float:
            return a * (1 - w) + b * w

        # An estimate one of the pictures lacks (the grey pixels: too little contrast, or a
        # baseline stored before it kept them) keeps the other's reading.
        was, now = self.illuminants, newer.illuminants
        ill = {**now, **was}
        for k in was.keys() & now.keys():
            ill[k] = (mix(was[k][0], now[k][0]), mix(was[k][1], now[k][1]))
        texture = self.texture
        if newer.texture.shape == self.texture.shape:
            texture = self.texture * (1 - w) + newer.texture * w
        blocks = self.blocks
        if blocks is not None and newer.blocks is not None and newer.blocks.shape == blocks.shape:
            blocks = blocks * (1 - w) + newer.blocks * w
        edges = self.edge_blocks
        if edges is not None and newer.edge_blocks is not None and newer.edge_blocks.shape == edges.shape:
            edges = edges * (1 - w) + newer.edge_blocks * w
        spread = self.edge_spread
        if spread is not None and newer.edge_spread is not None and newer.edge_spread.shape == spread.shape:
            # A block read in one picture only keeps that reading.
            mixed = spread * (1 - w) + newer.edge_spread * w
            spread = np.where(np.isnan(spread), newer.edge_spread, np.where(np.isnan(newer.edge_spread), spread, mixed))
        by_hour = self
        for hour, (luma, _) in (newer.hours or {}).items():
            by_hour = by_hour.with_hour(hour, luma, rounds) or by_hour
        light = self.light
        if light is not None and newer.light is not None:
            # As for the estimates above: one the baseline lacks (the parts, in a baseline stored
            # before it kept them) is taken from the newer picture.
            light = {
                **newer.light,
                **{
                    k: (mix(v[0], newer.light[k][0]), mix(v[1], newer.light[k][1])) if k in newer.light else v
                    for k, v in light.items()
                },
            }
        return replace(
            self,
            osd=_osd_union(self.osd, newer.osd),
            edge_blocks=edges,
            edge_spread=spread,
            light=light,
            hours=by_hour.hours,
            blur_effect=mix(self.blur_effect, newer.blur_effect),
            noise_sigma=mix(self.noise_sigma, newer.noise_sigma),
            brightness=mix(self.brightness, newer.brightness),
            illuminants=ill,
            texture=texture,
            blocks=blocks,
            samples=n + 1,
            edge_sharpness=(
                mix(self.edge_sharpness, newer.edge_sharpness)
                if self.edge_sharpness is not None and newer.edge_sharpness is not None
                else self.edge_sharpness
            ),
            periodic=self.periodic if newer.periodic is None else merge_peaks(self.periodic or (), newer.periodic),
        )

    def as_dict(self) -> dict[str, Any]:
        """The statistics as JSON (the reference picture is stored on its own)."""
        return {
            "mode": self.mode,
            "blur_effect": round(self.blur_effect, 4),
            "noise_sigma": round(self.noise_sigma, 3),
            "brightness": round(self.brightness, 2),
            "illuminants": {k: [round(a, 3), round(b, 3)] for k, (a, b) in self.illuminants.items()},
            "texture": np.round(self.texture, 2).tolist(),
            "samples": self.samples,
            **({"edge_sharpness": round(self.edge_sharpness, 4)} if self.edge_sharpness is not None else {}),
            **({} if self.periodic is None else {"periodic": [list(p) for p in self.periodic]}),
            **({"blocks": np.round(self.blocks, 1).tolist()} if self.blocks is not None else {}),
            **({"edge_blocks": np.round(self.edge_blocks, 3).tolist()} if self.edge_blocks is not None else {}),
            **({} if self.light is None else {"light": _rounded(self.light, 4)}),
            **({} if self.hours is None else {"hours": {str(h): [round(b, 2), n] for h, (b, n) in self.hours.items()}}),
            **({} if self.edge_spread is None else {"edge_spread": _nullable(self.edge_spread)}),
            **({} if self.osd is None else {"osd": [list(box) for box in self.osd]}),
        }

    def summary(self) -> dict[str, Any]:
        """What a person reads on the camera page."""
        gw = self.illuminants.get("grey_world", (0.0, 0.0))
        return {
            "mode": self.mode,
            "samples": self.samples,
            "blur_effect": round(self.blur_effect, 3),
            "noise_sigma": round(self.noise_sigma, 2),
            "brightness": round(self.brightness, 1),
            "brightness_by_hour": {h: round(b) for h, (b, _) in sorted((self.hours or {}).items())},
            "colour": [round(gw[0], 1), round(gw[1], 1)],
            **edge_sigma(self.edge_spread),
            "osd_lines": len(self.osd or ()),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], reference: Reference | None = None) -> Baseline:
        return cls(
            mode=str(data["mode"]),
            blur_effect=float(data["blur_effect"]),
            noise_sigma=float(data["noise_sigma"]),
            brightness=float(data["brightness"]),
            illuminants={k: (float(v[0]), float(v[1])) for k, v in data["illuminants"].items()},
            texture=np.asarray(data["texture"], np.float32),
            samples=int(data.get("samples", 1)),
            reference=reference,
            edge_sharpness=None if data.get("edge_sharpness") is None else float(data["edge_sharpness"]),
            periodic=None
            if data.get("periodic") is None
            else tuple((str(a), float(c), float(p)) for a, c, p in data["periodic"]),
            blocks=np.asarray(data["blocks"], np.float32) if data.get("blocks") is not None else None,
            edge_blocks=np.asarray(data["edge_blocks"], np.float32) if data.get("edge_blocks") is not None else None,
            light=None
            if data.get("light") is None
            else {k: (float(v[0]), float(v[1])) for k, v in data["light"].items()},
            hours=None
            if data.get("hours") is None
            else {int(h): (float(v[0]), int(v[1])) for h, v in data["hours"].items() if 0 <= int(h) < 24},
            edge_spread=None
            if data.get("edge_spread") is None
            else np.asarray(data["edge_spread"], np.float64).astype(np.float32),
            osd=None
            if data.get("osd") is None
            else tuple((float(a), float(b), float(c), float(d)) for a, b, c, d in data["osd"]),
        )


def _osd_union(a: tuple[Share, ...] | None, b: tuple[Share, ...] | None) -> tuple[Share, ...] | None:
    """The OSD lines of two pictures of one camera: a line found in either (one that both found,
    as one box)."""
    if a is None or b is None:
        return a if b is None else b
    return tuple(merged([*a, *b]))


@dataclass(frozen=True)
class CameraSettings:
    """What one camera is judged with. A camera without baselines is judged on the absolute
    thresholds only (a conservative fallback); the verdict's metrics say which was used."""

    thresholds: Thresholds
    reference: Reference | None = field(default=None, repr=False)
    baselines: Mapping[str, Baseline] = field(default_factory=dict)

    def baseline_for(self, mode: str) -> Baseline | None:
        return self.baselines.get(mode)

    @property
    def osd(self) -> list[Share]:
        """Where the camera draws its OSD, as its baselines of any mode learned it: the OSD stays
        put from day to night, where an IR picture may hide it from the detector."""
        return merged([box for base in self.baselines.values() for box in base.osd or ()])

    def reference_for(self, mode: str) -> Reference | None:
        base = self.baselines.get(mode)
        return base.reference if base is not None and base.reference is not None else self.reference
