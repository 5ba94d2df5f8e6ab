"""Fit the diagnosis decision thresholds on the fit scenes only, and write them with their record.

    .venv/bin/python bench/vqd_fit.py --write [--workers 2] [--strengths boundary] [--frames 3]

Reads only `tests.support.natural.FIT_SCENES` (never a held-out scene): every labelled clip of
those scenes is measured with and without its camera's baselines, as `bench/vqd_accuracy.py`
does. Each decision threshold is a cut on one measurement (blur effect, its rise over the
camera's baseline, the colour-cast consensus, noise sigma, …). For each, the positives are the
clips whose label is that fault, the negatives the healthy clips and the clips of any other
fault that does not hide it (`video.diagnosis.diagnose.HIDES`: a fault that hides another makes
its measurement meaningless). The cut minimises misses + FALSE_ALARM_COST × false alarms; of
equally good cuts the one in the widest gap between two measured values wins, and the
threshold is the middle of that gap.

With --write (not in `make bench`), writes video/diagnosis/fitted.json: the values, `fitted_on`
(split, scenes, clips, strengths, sizes, encoded) and the separation each cut reached on the fit
set. With --rules, only those thresholds are fitted again (on the clips this run chose), and
`fitted_on.refitted` lists each such refit after the full fit.
Then judges the fit set again with the fitted values and prints the fit-set figures (per-code
precision and recall, false alarms, confusion) as JSON: these are fit figures, not a measure of
accuracy; the accuracy bench reports on the held-out scenes.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from vqd_accuracy import arguments, chosen, report, run, still_cameras

from tests.support.natural import FIT_SCENES, HELD_OUT_SCENES
from video.diagnosis import Thresholds
from video.diagnosis.checks.noise import excess
from video.diagnosis.diagnose import HIDES, TURNED_HIDES

FITTED_PATH = Path(__file__).resolve().parents[1] / "video" / "diagnosis" / "fitted.json"
FALSE_ALARM_COST = 3.0
# The values the measurements were designed with, before any fit (never tuned on held-out scenes).
DESIGN = {
    "blur_effect": 0.33,
    "blur_rise": 0.12,
    "blur_edge_sharpness": 0.25,
    "blur_edge_kept": 0.5,
    # An isolated step edge whose one-pixel step is a fifth of its contrast is 5 pixels wide at
    # the 640-pixel analysis width (a defocus disc of about 6 pixels): nothing sharper in the
    # window, nothing is in focus.
    "blur_step_edges": 0.2,
    "cast_offset": 13.0,
    "cast_shift": 6.0,
    "cast_light_shift": 0.2,
    "cast_tint": 15.0,
    "cast_shift_tint": 10.0,
    "cast_tint_magenta": 12.0,
    "cast_shift_magenta": 12.0,
    "noise_sigma": 4.0,
    "noise_excess": 4.0,
    "noise_temporal": 4.0,
    "occlusion_area": 0.2,
    "occlusion_edge_ratio": 2.0,
    "occlusion_fixed": 0.1,
    "stripe_drift": 0.3,
    "stripe_static_prominence": 24.0,
    "stripe_static_share": 0.5,
    "stripe_roll": 24.0,
    "scene_similarity": 0.4,
    "dark_mean": 40.0,
}

Metric = Callable[[dict[str, Any]], float | None]


def _get(key: str) -> Metric:
    def metric(m: dict[str, Any]) -> float | None:
        v = m.get(key)
        return None if v is None else float(v)

    return metric


def _rise(m: dict[str, Any]) -> float | None:
    if m.get("blur_effect") is None or m.get("baseline_blur_effect") is None:
        return None
    return float(m["blur_effect"]) - float(m["baseline_blur_effect"])


def _noise_excess(m: dict[str, Any]) -> float | None:
    """The noise added to the baseline's (video.diagnosis.checks.noise.excess)."""
    if m.get("noise_sigma") is None or m.get("baseline_noise_sigma") is None:
        return None
    return excess(float(m["noise_sigma"]), float(m["baseline_noise_sigma"]))


# Values fitted so far in this run: a rule may read those fitted before it.
FITTING: dict[str, float] = {}


def _current(name: str) -> float:
    return FITTING.get(name, DESIGN[name])


def _cover_edge(m: dict[str, Any]) -> float | None:
    """Boundary softness (its width over the scene's edges') of the largest textureless region
    large enough to count (None: none is)."""
    regions = m.get("occlusion_regions")
    if regions is None:
        return None
    large = [w for a, w in regions if a >= _current("occlusion_area")]
    return float(large[0]) if large else None


def _cover_area(m: dict[str, Any]) -> float | None:
    """Share of the picture of the largest region with a soft boundary (the fitted softness)."""
    regions = m.get("occlusion_regions")
    if regions is None:
        return None
    soft = [a for a, w in regions if w >= _current("occlusion_edge_ratio")]
    return float(max(soft, default=0.0))


def _cover_fixed(m: dict[str, Any]) -> float | None:
    """When the scene panned: how much of the change along the boundary of the soft regions
    large enough to count the boundary standing still explains (the most of them; None: no such
    region, or a still scene)."""
    measured = m.get("occlusion_motion")
    if not measured:
        return None
    counted = [
        f
        for a, w, f in measured
        if f is not None and a >= _current("occlusion_area") and w >= _current("occlusion_edge_ratio")
    ]
    return float(max(counted)) if counted else None


def _day_only(metric: Metric) -> Metric:
    def inner(m: dict[str, Any]) -> float | None:
        return metric(m) if m.get("mode") == "day" else None

    return inner


@dataclass(frozen=True)
class Rule:
    threshold: str  # the Thresholds field
    code: str  # the fault it decides
    modes: tuple[str, ...]  # "no_reference", "reference"
    metric: Metric
    above: bool = True  # fault when the measurement is at or above the threshold
    digits: int = 3
    # When no cut finds any of the fault without too many false alarms, keep the design value
    # (False: keep the fitted cut; the code is found by its other rules, this one only guards).
    design_fallback: bool = True


RULES = (
    Rule("blur_effect", "blur", ("no_reference",), _get("blur_effect")),
    Rule("blur_edge_sharpness", "blur", ("no_reference",), _get("edge_sharpness"), above=False),
    Rule("blur_edge_kept", "blur", ("reference",), _get("edge_kept"), above=False),
    # The window's sharpest isolated step edges (video/diagnosis/checks/edges.py).
    Rule("blur_step_edges", "blur", ("no_reference",), _get("step_edge_sharpness"), above=False),
    Rule("blur_rise", "blur", ("reference",), _rise),
    Rule("cast_offset", "color_cast", ("no_reference",), _day_only(_get("cast_offset")), digits=3),
    Rule("cast_shift", "color_cast", ("reference",), _day_only(_get("cast_shift")), digits=3),
    # The light's log chromaticity moved since the baseline, in three quarters of the picture's parts
    # and in every whole-picture estimate (a baseline that kept it).
    Rule("cast_light_shift", "color_cast", ("reference",), _day_only(_get("cast_light_shift")), digits=3),
    Rule("cast_tint", "color_cast", ("no_reference",), _day_only(_get("cast_tint")), digits=3),
    Rule("cast_shift_tint", "color_cast", ("reference",), _day_only(_get("cast_shift_tint")), digits=3),
    # Without a baseline: three of the four estimates off the locus towards magenta.
    Rule("cast_tint_magenta", "color_cast", ("no_reference",), _day_only(_get("cast_tint_magenta")), digits=3),
    Rule("cast_shift_magenta", "color_cast", ("reference",), _day_only(_get("cast_shift_magenta")), digits=3),
    Rule("noise_sigma", "noise", ("no_reference",), _get("noise_sigma")),
    Rule("noise_excess", "noise", ("reference",), _noise_excess),
    # What is new in every picture of the window (snow), with and without a baseline alike.
    Rule("noise_temporal", "noise", ("no_reference", "reference"), _get("noise_temporal")),
    # The soft boundary first (on regions of the design area), then the area of soft regions.
    Rule("occlusion_edge_ratio", "occlusion", ("no_reference", "reference"), _cover_edge, digits=2),
    Rule("occlusion_area", "occlusion", ("no_reference", "reference"), _cover_area),
    # A cover stays put on the lens while the scene pans behind it; a sky or a wall pans with it.
    Rule("occlusion_fixed", "occlusion", ("no_reference", "reference"), _cover_fixed),
    # How far a visible, prominent pattern's phase moves per frame (the scene's motion taken out):
    # rolling interference against texture anchored to the scene. The same in both modes.
    Rule("stripe_drift", "stripes", ("no_reference",), _get("stripe_max_drift")),
    # A pattern rolling through the window (video/diagnosis/checks/rolling.py): how far it stands
    # above the spectrum of the frame-to-frame change, in every tile (0: none rolls by
    # stripe_drift per frame with bars of stripe_amplitude). The same with and without a baseline.
    Rule("stripe_roll", "stripes", ("no_reference", "reference"), _get("stripe_roll_prominence"), digits=1),
    # Without a baseline a static pattern needs stronger evidence: how prominent the strongest
    # visible periodic pattern is, stripes against brick walls, fences and flags.
    # Stripes are expected to be missed here (they roll, or are new since the baseline): the cut
    # then sits just above the most prominent texture of the fit scenes, and is kept.
    Rule(
        "stripe_static_prominence",
        "stripes",
        ("no_reference",),
        _get("stripe_visible_prominence"),
        digits=2,
        design_fallback=False,
    ),
    # And the share of the picture's variation across rows that the strongest visible, prominent
    # static pattern carries (a share: the same at any resolution, unlike the prominence). The
    # same kind of cut, just above the most dominant texture of the fit scenes.
    Rule(
        "stripe_static_share",
        "stripes",
        ("no_reference",),
        _get("stripe_static_share"),
        digits=3,
        design_fallback=False,
    ),
    Rule("scene_similarity", "scene_change", ("reference",), _get("reference_similarity"), above=False),
    Rule("dark_mean", "too_dark", ("no_reference",), _get("brightness_mean"), above=False),
)


def samples(rule: Rule, rows: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """(positives, negatives): the rule's measurement on clips that must and must not raise it."""
    pos: list[float] = []
    neg: list[float] = []
    for row in rows:
        expected = row["expected"]
        if expected is not None and expected != rule.code and rule.code in HIDES.get(expected, ()):
            continue  # that fault hides this code: its measurement means nothing there
        if expected in ("signal_loss",):
            continue
        for mode in rule.modes:
            if expected == "scene_change" and (mode == "no_reference" or rule.code in TURNED_HIDES):
                continue  # judged only against its reference, where the new view hides these
            value = rule.metric(row["metrics"][mode])
            if value is None or math.isnan(value):
                continue
            (pos if expected == rule.code else neg).append(value)
    return pos, neg


def fit(rule: Rule, pos: list[float], neg: list[float]) -> dict[str, Any]:
    """The cut with the least cost; among equals, the middle of the widest gap."""
    sign = 1.0 if rule.above else -1.0
    p = sorted(sign * v for v in pos)
    n = sorted(sign * v for v in neg)
    values = sorted(set(p + n))
    best: tuple[float, float, float] | None = None  # (cost, -gap, cut)
    for lo, hi in zip([values[0] - 1e-3, *values], [*values, values[-1] + 1e-3], strict=True):
        cut = (lo + hi) / 2
        misses = sum(1 for v in p if v < cut)
        alarms = sum(1 for v in n if v >= cut)
        key = (misses + FALSE_ALARM_COST * alarms, -(hi - lo), cut)
        if best is None or key < best:
            best = key
    assert best is not None
    cut = best[2]
    return {
        "value": round(sign * cut, rule.digits),
        "positives": len(p),
        "negatives": len(n),
        "missed": sum(1 for v in p if v < cut),
        "false_alarms": sum(1 for v in n if v >= cut),
        "gap": round(-best[1], 4),
    }


def main() -> None:
    ap = arguments(__doc__.splitlines()[0])
    ap.add_argument("--rows", default="", help="keep the measurements in this JSON file, and fit from it if it exists")
    ap.add_argument("--check", action="store_true", help="judge the fit set again with the fitted values")
    ap.add_argument("--write", action="store_true", help="write video/diagnosis/fitted.json (else only print)")
    ap.add_argument(
        "--rules",
        default="",
        help="refit only these thresholds (comma-separated; with --conditions covering their faults and every "
        "healthy condition), keeping the others and their record from fitted.json",
    )
    args = ap.parse_args()
    assert not set(FIT_SCENES) & set(HELD_OUT_SCENES), "a scene is in both splits"
    if args.still:
        still_cameras()
    clips = chosen(FIT_SCENES, args)
    started = time.perf_counter()
    workdir = args.workdir or tempfile.mkdtemp(prefix="vqd-fit-")
    saved = Path(args.rows) if args.rows else None
    if saved is not None and saved.exists():
        rows = json.loads(saved.read_text(encoding="utf-8"))  # measured before: fit again only
    else:
        rows = run(clips, args.workers, args.raw, workdir=workdir, osd=args.osd)
        if saved is not None:
            saved.write_text(json.dumps(rows), encoding="utf-8")
    separation: dict[str, Any] = {}
    values: dict[str, Any] = {}
    only = set(filter(None, args.rules.split(",")))
    if only:
        unknown = only - {rule.threshold for rule in RULES}
        if unknown:
            raise SystemExit(f"unknown rule(s): {', '.join(sorted(unknown))}")
        kept = json.loads(FITTED_PATH.read_text(encoding="utf-8"))
        values = {k: v for k, v in kept["values"].items() if k not in only}
        separation = {k: v for k, v in kept["separation"].items() if k not in only}
    FITTING.update(values)
    for rule in RULES:
        if only and rule.threshold not in only:
            continue
        pos, neg = samples(rule, rows)
        if not pos or not neg:
            continue
        found = fit(rule, pos, neg)
        if found["missed"] == found["positives"] and rule.design_fallback:
            # No cut finds any of the fault without more false alarms than it is worth: the
            # measurement cannot tell it from healthy scenes of the fit set. Switching the code
            # off would hide that; the design value is kept and the record says so.
            found |= {"separable": False, "fitted_value": found["value"], "value": DESIGN[rule.threshold]}
        separation[rule.threshold] = found
        values[rule.threshold] = found["value"]
        FITTING[rule.threshold] = found["value"]
    fitted_on = {
        "split": "fit",
        "script": "bench/vqd_fit.py",
        "scenes": list(FIT_SCENES),
        "clips": len(clips),
        "strengths": args.strengths,
        "sizes": args.size,
        "encoded": not args.raw,
        "false_alarm_cost": FALSE_ALARM_COST,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    if only:  # the record still describes the full fit; each refit since then describes itself
        refit = {"rules": sorted(only), "conditions": args.conditions}
        refit |= {k: fitted_on[k] for k in ("clips", "strengths", "sizes", "date")}
        earlier = kept["fitted_on"].get("refitted", [])
        fitted_on = {"sizes": "mixed"} | kept["fitted_on"]
        fitted_on["refitted"] = [*(earlier if isinstance(earlier, list) else [earlier]), refit]
    if args.write:
        record = {"fitted_on": fitted_on, "values": values, "separation": separation}
        FITTED_PATH.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    out: dict[str, Any] = {"bench": "vqd_fit", "fitted_on": fitted_on}
    if args.check:  # the fit set judged again with the fitted values
        again = run(clips, args.workers, args.raw, Thresholds(**values), workdir=workdir, osd=args.osd)
        out = report("vqd_fit", "fit", FIT_SCENES, clips, again, args)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    out["fitted"] = {"values": values, "separation": separation, "written": args.write}
    out["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
