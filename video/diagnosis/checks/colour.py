"""color_cast: a wrong white balance (a stuck IR-cut filter, a drifted AWB), told apart from a
scene whose colour is its own (a lawn, a river, a brick wall, an orange vehicle, warm light).

The equivalent-circle ratio K = D / M of the a*b* distribution (Gasparini & Schettini) is large
for both, so it is reported but does not decide. A cast shifts *every* estimate of the light's
colour the same way; a colourful scene moves only some of them. Four estimates are made:
- grey world: the mean colour of the picture;
- grey edge (van de Weijer et al.): the mean colour of the picture's edges, which a large plain
  coloured surface (a car body, a lawn) hardly contributes to;
- white patch: the mean colour of the brightest unclipped pixels (highlights, white paint, sky);
- near-neutral: the mean chroma of the least saturated tenth of the picture (roads, walls,
  shadows), the objects a cast tints first (but see the grey pixels below).
The cast is their consensus: the smallest projection of the four onto their common direction.
Without a baseline the estimates are measured from neutral; with the camera's own baseline
(建档), the first three from the baseline's estimates, so a camera whose normal view is green
stays clean (the least saturated pixels are other pixels once the light's colour changes, so
that estimate only counts without a baseline).
A grayscale picture (IR night mode) has no colour to cast.

The least saturated tenth is biased to neutral by construction under a cast: once the light is
blue, the pixels nearest neutral are the orange surfaces the blue cancelled, so that estimate
reads no blue, and the consensus collapses to 0 whatever the cast. Measured on the 56 cast
clips of the fit scenes (ir_cut and wb_cast at strengths 0 and 1), as the share of the true cast
each estimate reads along it: the near-neutral estimate a median of 0.49, under a quarter on 15
clips (0.01 … 0.05 under a strong blue or yellow-red white balance on flowers, a shop and a
lawn); the grey world 0.80 and 4 clips; the grey pixels (below) 0.82 and 2 clips. Without a
baseline, the light's tint (`cast_tint`) is therefore judged with a fifth estimate in its place,
the grey pixels (`grey_pixel_light`): pixels are ranked by how equal the local contrast of log R,
log G and log B is, which no channel gain changes, so the selection does not depend on the cast.
The least saturated tenth still takes part in `cast_offset` and `cast_tint_magenta` (the grey
pixels of a large plain red vehicle are its own shaded paint, which made a magenta majority
there). Where a channel clips, the white patch has the same bias (the brightest unclipped pixels
are those the gain raised least); taking the clipped pixels in, or leaving the white patch out
there, found fewer casts on the fit scenes, so it is kept as it was.

Along the locus a cast stays physically ambiguous without a baseline: with the grey pixels,
warm light on autumn leaves reads 55 Lab units, more than any warm cast of the fit scenes. A
rule on the blue side only (the consensus of the four when it points bluer than 6500 K, with
the grey pixels judged at twice their size now), fitted at 10.5 above the bluest healthy fit
scene (a river filling most of the view, 9.8), found blue white balances on the fit scenes but
read 12 … 18 on a held-out riverside scene, healthy or with a blur or noise fault: a river
under a blue sky is as blue as a cast. It is not used.

Read as the channel gain itself did no better (tried and removed, the second time): each
estimate's log chromaticity along the blackbody axis (a gain of blue over red moves every
estimate along it by the same amount; 10000 K light reads 0.17 on a grey scene, a strong blue
white balance 0.41), the size taken from the first- and second-order grey edges (a river is a
plain surface with few edges), the side confirmed by the grey world and the grey pixels (a
brick wall's edges are blue, its grey world is not). On the fit scenes at strengths 0 and 1 it
read 0.24 … 0.44 for six of the seven strong blue white balances, at most 0.087 on a healthy
clip (a river filling the view; the plain consensus of all four estimates left a gap of 0.01
there), and was fitted at 0.156 (boundary). On the held-out scenes it found 7 more casts
(recall 0.673 to 0.808) but read 0.23 … 0.31 on a terrain in every condition and 0.17 … 0.28
on a riverside: 28 false color_cast, 17 of them on healthy clips. Warm side: warm light on
autumn leaves reads 1.2 … 1.5 in every estimate, more than all but one strong yellow-red white
balance of the fit scenes (0.3 … 1.4), so no along-locus rule was fitted there. Along the locus,
without a baseline, the light and the scene's own colour are not told apart by these estimates.

How far the light's colour moved since the baseline is read as the ratio of the channel gains:
a change of the light (or of the white balance) multiplies each channel of every estimate by
the same factor, so the shift of log(R/G) and log(B/G) is that factor whatever the scene. In
a*b* the same change reads larger on a blue, dark scene (a river at dusk) than on a grey one, so
a warm light that is no fault on the fit scenes crossed the threshold there. The Lab shift is
still reported, and judges a baseline stored before it kept the light's log chromaticity.
The grey pixels do not take part in it: under a strong white balance their selection is no
longer blind to the gain (clipped and dark pixels), and on a held-out riverside pushed
yellow-red they moved the other way, so the consensus lost that cast (a trial that also removed
two false casts of coloured vehicles filling the view on the fit scenes).

A change of the light (or of the white balance) reaches every part of the picture; a coloured
vehicle filling the view, a banner or a lit shop window reaches only its own. On the fit scenes a
blue vehicle over autumn leaves moved all three whole-picture estimates 0.72 (the threshold was
0.24), and its grey edge too: blue-against-orange edges are new edges. So the baseline also keeps
the grey world of each of 3 x 4 parts of the picture, and the light's move is read there: along
the parts' mean move, how far three quarters of the parts went (`cast_light_reach`; the vehicle:
0). Under a pure gain every part moves by exactly the gain, so for a cast the reach is the gain
itself. Fog and backlight also move every part the same way (towards the grey they add), but
they add the same grey to every channel, which leaves the edges' colour as it was: every
whole-picture estimate must therefore have moved at least half as far along it
(`cast_light_whole`; a fog over autumn leaves: reach 0.71, whole 0). Half, because the grey edge
under-reads a gain: the brightest edges are the first to clip in the channel a gain raises, and
leave the mask; on the fit scenes' weakest casts it read 0.59 … 0.80 of the parts' reach. The
light moved `cast_light_shift` = min(reach, 2 x whole). The weakest casts of the fit scenes then
read 0.279 and more (the smallest of the three estimates read as little as 0.141), the strongest
healthy light 0.242 (dusk on autumn leaves): a gap of 0.037 where there was 0.014.

Natural light varies along the Planckian (daylight) locus: warm street light, dusk and a blue
sky's shade move the light's colour along the orange-blue axis, and so does an orange scene.
No natural light is green or magenta: a stuck IR-cut filter (pink, purple) or a drifted white
balance towards green or cyan moves the light *off* the locus. So each estimate (or its shift
from the baseline) is split into its component along the locus and its tint across it (the axis
through the blackbody colours of 3000 K … 10000 K, physical data, not fitted), and the tint is
judged on its own, tighter, threshold. Like the cast, the tint is the consensus of every
estimate: a lawn or a park is green in its grey world, its highlights and even in its least
saturated pixels when it has no grey at all, but not along its edges.

Without a baseline, one estimate that the scene itself pulls away (the grey edge of a shop's
coloured signs, the grey world of a flower bed under a pink light) hides a cast all the others
agree on. Towards magenta the majority is enough: how far at least three of the four estimates
go off the locus on that side (`cast_tint_magenta`, its own fitted threshold). No light is
magenta and hardly any common surface is, while a stuck IR-cut filter (infrared on the red and
blue pixels) is exactly that. Towards green the majority is no evidence: green is vegetation's
colour, the commonest coloured surface a camera sees, and a park or a terrain moves three of the
four estimates as far towards green as a drifted white balance does (measured: healthy fit
scenes up to 13.6 Lab units, and a held-out park up to 16.5, against 5.7 … 29 for the weakest
green and cyan casts of the fit scenes). There the consensus of all four (`cast_tint`) decides.

Against the baseline the same holds towards magenta (`cast_shift_magenta`). A stuck IR-cut
filter also washes the colours out (the infrared reaches every channel), and on a colourful
scene that moves the grey edge back towards neutral, against the tint: on the fit scenes the
grey edge of two shop interiors moved towards green while the grey world and the white patch
moved far towards magenta, so the consensus of all three read 0 and four of their stuck filters
were missed with a baseline (found without one). A majority of three estimates is not enough:
a coloured vehicle filling the view moves the grey world and the white patch the same way. So
the baseline keeps the grey pixels' estimate too (the selection does not depend on the light,
and a plain vehicle body has no contrast to be chosen), and three of the four shifts must agree
towards magenta. A baseline stored before it kept the grey pixels is not judged by this rule.

Off the locus the parts decide too. A stuck IR-cut filter, or a white balance drifted towards
green or cyan, moves every part across the locus (in log chromaticity, along the normal of the
blackbody colours' axis): on the fit scenes at strengths 0 and 1, encoded, three quarters of the
parts moved at least 0.266 towards green under the weakest green and cyan casts and 0.376
towards magenta under the stuck filters, and at most 0.074 under a coloured vehicle filling the
view, which had moved the Lab estimates up to 9.4 towards magenta (the threshold was 10.26). So
the two tint rules against the baseline (`cast_shift_tint`, `cast_shift_magenta`) count only
when three quarters of the parts moved at least PART_TINT = 0.17 to the rule's side
(`cast_parts_green`, `cast_parts_magenta`): a design value, the middle of that gap; the rules'
own thresholds are then fitted over what passes it. What still passes on a healthy picture is
fog or backlight over a green terrain (the grey they add moves every part towards magenta, up
to 0.45) but not every estimate: its Lab readings stay at 8.1 and under, against 9.59.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from video.diagnosis.checks import Measurement, r, ramp, share
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.thresholds import Thresholds

GREY_PIXELS = "grey_pixels"  # the fifth estimate (`grey_pixel_light`), kept by a baseline
GAIN_ESTIMATES = ("grey_world", "grey_edge")  # and the white patch unless clipped (see `estimates`)
WHITE_PATCH_SHARE = 0.03  # the brightest unclipped share of the picture
CLIPPED = 250
# Grey pixels: the greyest share of the pixels whose local log contrast is above the contrast
# that sensor noise (a sigma of about 2 levels at mid-grey) gives on a flat surface.
GREY_PIXEL_SHARE = 0.05
GREY_PIXEL_CONTRAST = 0.02
# The parts of the picture a change of the light must reach (rows, columns), each part's grey
# world kept in the light's estimates as "part r,c" when enough of it is valid.
PARTS = (3, 4)
PART = "part "
PART_VALID = 0.25
MIN_PARTS = 3  # fewer valid parts (a dark or clipped picture): the whole picture decides
PART_TINT = 0.17  # off the locus, three quarters of the parts moved at least this far (see the text)
WHOLE_AGREES = 2.0  # every whole-picture estimate moved at least half as far as the parts
LOG_LEVELS = np.log(np.arange(1, 257, dtype=np.float32)).reshape(1, 256)  # log(level + 1), by table
# sRGB colour of a blackbody radiator (CIE 1964 10°, white point D65), by temperature in K.
BLACKBODY = {
    3000: (255, 180, 107),
    3500: (255, 196, 137),
    4000: (255, 209, 163),
    5000: (255, 228, 206),
    6500: (255, 249, 253),
    8000: (227, 233, 255),
    10000: (204, 219, 255),
}


def chroma_stats(lab: np.ndarray) -> tuple[float, float, float, float]:
    """(mean a*, mean b*, M_a, M_b) over pixels that are neither black nor clipped."""
    light, a_star, b_star = cv2.split(lab)  # planes: the selections below read contiguous pixels
    keep = (light > 20) & (light < 250)
    if np.count_nonzero(keep) < 100:
        keep[:] = True
    a, b = a_star[keep], b_star[keep]
    da, db = float(a.mean()), float(b.mean())
    return da, db, float(np.abs(a - da).mean()), float(np.abs(b - db).mean())


def _ab(bgr: np.ndarray) -> tuple[float, float]:
    """a*, b* of a light whose colour is the BGR triple `bgr` (any scale)."""
    e = np.maximum(np.asarray(bgr, np.float32), 1e-3)
    pixel = (e / float(e.max()) * 0.7).reshape(1, 1, 3).astype(np.float32)
    lab = cv2.cvtColor(pixel, cv2.COLOR_BGR2LAB)[0, 0]
    return float(lab[1]), float(lab[2])


def _locus_normal() -> np.ndarray:
    """Unit vector across the Planckian locus in the a*b* plane (towards green, -a*): the
    normal of the principal axis of the blackbody colours."""
    pts = np.array([_ab(np.array(rgb[::-1], np.float32)) for rgb in BLACKBODY.values()], np.float64)
    _, _, vt = np.linalg.svd(pts - pts.mean(axis=0))
    along = vt[0] if vt[0][1] > 0 else -vt[0]
    return np.array([-along[1], along[0]])


LOCUS_NORMAL = _locus_normal()


def _log_chroma(bgr: np.ndarray) -> tuple[float, float]:
    b, g, r_ = np.maximum(np.asarray(bgr, np.float64), 1e-3)
    return float(np.log(r_ / g)), float(np.log(b / g))


def _log_locus_normal() -> np.ndarray:
    """The same normal in log chromaticity (log R/G, log B/G), towards green."""
    pts = np.array([_log_chroma(np.array(rgb[::-1], np.float64)) for rgb in BLACKBODY.values()])
    _, _, vt = np.linalg.svd(pts - pts.mean(axis=0))
    normal = np.array([vt[0][1], -vt[0][0]])
    return normal if normal.sum() < 0 else -normal


LOG_LOCUS_NORMAL = _log_locus_normal()


def tint(vectors: Sequence[tuple[float, float]]) -> float:
    """How far all the vectors go off the daylight locus on the same side (the smallest)."""
    across = np.asarray(vectors, np.float64) @ LOCUS_NORMAL
    side = float(np.sign(across.mean()))
    return max(0.0, float((across * side).min())) if side else 0.0


def side_tint(vectors: Sequence[tuple[float, float]], side: float, agree: int = 3) -> float:
    """How far at least `agree` of the vectors go off the daylight locus towards `side` (+1:
    green, -1: magenta): the `agree`-th largest of their components across it."""
    nx, ny = (float(x) for x in LOCUS_NORMAL)
    across = sorted(((a * nx + b * ny) * side for a, b in vectors), reverse=True)
    return max(0.0, across[min(agree, len(across)) - 1])


def _masked_mean(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.mean(img, mask=mask), np.float64)[: img.shape[2]]


def estimates(
    frame: AnalysedFrame, grey: bool = False
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """(the four estimates as a*b*, and with `grey` the grey pixels' as GREY_PIXELS when found;
    the light's log chromaticity by grey world, grey edge and, unless a channel clips, white
    patch). Masked means are OpenCV's (one pass, no copies of the selected pixels); the grey
    edge is the root of the mean squared gradient, so the gradient's magnitude is never taken."""
    found, light, grey_light = _measure(frame, grey=grey)
    return ({**found, GREY_PIXELS: grey_light} if grey_light is not None else found), light


def grey_pixel_light(half: np.ndarray, valid: np.ndarray) -> np.ndarray | None:
    """The light's colour (BGR) as the mean of the greyest pixels found by their local contrast
    (grey pixels, Yang, Gao & Li, CVPR 2015): on a grey surface the contrast of log R, log G and
    log B around a pixel is the same, whatever the light, because a light (or a white balance)
    multiplies each channel by one factor and the log takes that factor out. The selection is
    therefore blind to a cast, unlike the least saturated pixels, which a cast turns into the
    surfaces of its complementary colour. None when too few pixels have contrast to judge.
    Judged at half the size of `half` (a whole-picture statistic: a sixth of the cost, the same
    casts found on the fit scenes), on the pixels whose 2 x 2 block is all valid."""
    h, w = (half.shape[0] // 2) * 2, (half.shape[1] // 2) * 2
    half = cv2.resize(half, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    valid = valid[0:h:2, 0:w:2] & valid[1:h:2, 1:w:2] & valid[0:h:2, 1:w:2] & valid[1:h:2, 0:w:2]
    logs = cv2.LUT(half, LOG_LEVELS)
    contrast = np.abs(cv2.Laplacian(cv2.GaussianBlur(logs, (5, 5), 1.0), cv2.CV_32F, ksize=3))
    third = np.full((1, 3), 1 / 3, np.float32)
    mean = cv2.transform(contrast, third)
    # The mean square of the three contrasts over their squared mean: 1 when they are equal
    # (grey), up to 3 when one channel carries all the contrast.
    spread = cv2.divide(cv2.transform(cv2.multiply(contrast, contrast), third), cv2.multiply(mean, mean))
    judged = valid & (mean > GREY_PIXEL_CONTRAST)
    greyness = spread[judged]
    if greyness.size < 200:
        return None
    k = max(1, int(greyness.size * GREY_PIXEL_SHARE))
    chosen = judged & (spread <= float(np.partition(greyness, k - 1)[k - 1]))
    return _masked_mean(half, chosen.view(np.uint8))


def part_light(half: np.ndarray, valid: np.ndarray) -> dict[str, tuple[float, float]]:
    """Each part's grey world as log chromaticity (the mean of its valid pixels), for the parts
    with PART_VALID of their pixels valid."""
    rows, cols = PARTS
    h, w = valid.shape
    mask = valid.view(np.uint8)
    out = {}
    for i in range(rows):
        for j in range(cols):
            ys, xs = slice(i * h // rows, (i + 1) * h // rows), slice(j * w // cols, (j + 1) * w // cols)
            part = mask[ys, xs]
            if cv2.countNonZero(part) >= PART_VALID * part.size:
                out[f"{PART}{i},{j}"] = _log_chroma(_masked_mean(half[ys, xs], part))
    return out


def _measure(
    frame: AnalysedFrame, grey: bool, parts: bool = True
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]], tuple[float, float] | None]:
    """`estimates`, and (when `grey`) the grey-pixel estimate as a*b* (None without enough
    contrast), on the same mask of valid pixels; the parts' light only when `parts`."""
    half = frame.half
    lab = frame.lab
    # The brightest and darkest channel of each pixel, by OpenCV on the planes (numpy's
    # reduction over the last axis of an interleaved picture is ten times slower).
    b, g, r_ = cv2.split(half)
    top_channel = np.asarray(cv2.max(cv2.max(b, g), r_))
    light = frame.lightness
    valid = (light > 25) & (light < 245) & (top_channel < 250)
    if int(np.count_nonzero(valid)) < 200:
        valid = np.ones(valid.shape, bool)
    mask = valid.view(np.uint8)
    bgr = half.astype(np.float32)
    smooth = cv2.GaussianBlur(bgr, (0, 0), 1.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    edge_light = np.sqrt(_masked_mean(cv2.add(cv2.multiply(gx, gx), cv2.multiply(gy, gy)), mask))  # Minkowski p = 2
    bright = cv2.transform(bgr, np.ones((1, 3), np.float32))  # B + G + R
    top = valid & (bright >= np.percentile(np.asarray(bright[valid], np.float32), 100 * (1 - WHITE_PATCH_SHARE)))
    chroma = frame.chroma
    neutral = valid & (chroma <= np.percentile(chroma[valid], 10))
    ab = _masked_mean(lab, neutral.view(np.uint8))[1:]  # L, a*, b* (integers: exact sums)
    lights = {
        "grey_world": _masked_mean(half, mask),
        "grey_edge": edge_light,
        "white_patch": _masked_mean(half, top.view(np.uint8)),
    }
    # A gain above 1 pushes bright pixels into clipping in that channel (not in the others):
    # the brightest unclipped pixels are then those the gain raised least, and the white patch
    # under-reads exactly the casts that saturate. When more of the picture than the white
    # patch's own share has a channel clipped, it is left out of the light's gains.
    coloured_clip = (top_channel >= CLIPPED) & (cv2.min(cv2.min(b, g), r_) < CLIPPED)
    gains = GAIN_ESTIMATES if share(coloured_clip) >= WHITE_PATCH_SHARE else (*GAIN_ESTIMATES, "white_patch")
    grey_light = grey_pixel_light(half, valid) if grey else None
    return (
        {**{k: _ab(v) for k, v in lights.items()}, "near_neutral": (float(ab[0]), float(ab[1]))},
        {**{k: _log_chroma(lights[k]) for k in gains}, **(part_light(half, valid) if parts else {})},
        _ab(grey_light) if grey_light is not None else None,
    )


def consensus(vectors: Sequence[tuple[float, float]]) -> float:
    """How far all the vectors go in one common direction: the smallest projection."""
    v = np.asarray(vectors, np.float64)
    mean = v.mean(axis=0)
    norm = float(np.hypot(*mean))
    if norm < 1e-6:
        return 0.0
    return max(0.0, float((v @ (mean / norm)).min()))


def light_moved(
    whole: Sequence[tuple[float, float]], parts: Sequence[tuple[float, float]]
) -> tuple[float, float | None, float]:
    """(how far the light moved, how far three quarters of the parts moved along the parts' mean
    move or None when too few parts are valid, how far every whole-picture estimate moved along
    it), from the shifts of log chromaticity since the baseline (see the module's text)."""
    if len(parts) < MIN_PARTS:
        agree = consensus(whole)
        return agree, None, agree
    p = np.asarray(parts, np.float64)
    mean = p.mean(axis=0)
    norm = float(np.hypot(*mean))
    if norm < 1e-6:
        return 0.0, 0.0, 0.0
    along = np.sort(p @ (mean / norm))
    reach = max(0.0, float(along[len(along) // 4]))
    agree = max(0.0, float((np.asarray(whole, np.float64) @ (mean / norm)).min()))
    return min(reach, WHOLE_AGREES * agree), reach, agree


def across_reach(parts: Sequence[tuple[float, float]], side: float) -> float:
    """How far three quarters of the parts moved off the daylight locus towards `side` (+1:
    green, -1: magenta), in log chromaticity."""
    across = np.sort(np.asarray(parts, np.float64) @ LOG_LOCUS_NORMAL * side)
    return max(0.0, float(across[len(across) // 4]))


def saturation(frame: AnalysedFrame) -> float:
    """Mean chroma of the picture: near 0 for an IR night (grayscale) picture."""
    light = frame.lightness
    mid = (light > 25) & (light < 245)
    chroma = frame.chroma[mid] if np.count_nonzero(mid) >= 200 else frame.chroma
    return float(chroma.mean())


def _against_baseline(
    found: Mapping[str, tuple[float, float]],
    light: Mapping[str, tuple[float, float]],
    grey: tuple[float, float] | None,
    baseline: Mapping[str, Sequence[float]],
    baseline_light: Mapping[str, Sequence[float]] | None,
    t: Thresholds,
    metrics: dict,
) -> dict[str, float]:
    """The colour-cast rules against the camera's baseline (their readings into `metrics`)."""
    # The least saturated pixels are other pixels once the light changes colour, so the
    # near-neutral estimate is compared with neutral, not with the baseline's.
    shifts = [
        (a - float(baseline[k][0]), b - float(baseline[k][1])) for k, (a, b) in found.items() if k != "near_neutral"
    ]
    offset = consensus(shifts)
    off_locus = tint(shifts)
    magenta = None
    if grey is not None and GREY_PIXELS in baseline:
        # Towards magenta, three of the four shifts with the grey pixels' (see the module's text).
        g0 = baseline[GREY_PIXELS]
        magenta = side_tint([*shifts, (grey[0] - float(g0[0]), grey[1] - float(g0[1]))], -1.0)
    moved = (
        {}
        if baseline_light is None
        else {
            k: (a - float(baseline_light[k][0]), b - float(baseline_light[k][1]))
            for k, (a, b) in light.items()
            if k in baseline_light
        }
    )
    parts = [v for k, v in moved.items() if k.startswith(PART)]
    if len(parts) >= MIN_PARTS:
        # Off the locus too, a cast reaches three quarters of the parts (see the module's text).
        side = float(np.sign((np.asarray(shifts, np.float64) @ LOCUS_NORMAL).mean()))
        towards = {1.0: across_reach(parts, 1.0), -1.0: across_reach(parts, -1.0)}
        metrics["cast_parts_green"], metrics["cast_parts_magenta"] = r(towards[1.0], 3), r(towards[-1.0], 3)
        if side and towards[side] < PART_TINT:
            off_locus = 0.0
        if magenta is not None and towards[-1.0] < PART_TINT:
            magenta = 0.0
    metrics["cast_shift"] = r(offset, 2)
    metrics["cast_shift_tint"] = r(off_locus, 2)
    rules = {"cast_shift_tint": ramp(off_locus, clean=0.0, fault=t.cast_shift_tint, severe=t.cast_shift_tint * 2.5)}
    if magenta is not None:
        metrics["cast_shift_magenta"] = r(magenta, 2)
        c_m = t.cast_shift_magenta
        rules["cast_shift_magenta"] = ramp(magenta, clean=0.0, fault=c_m, severe=c_m * 2.5)
    if baseline_light is not None and all(k in baseline_light for k in GAIN_ESTIMATES):
        whole = [v for k, v in moved.items() if not k.startswith(PART)]
        gains, reach, agree = light_moved(whole, parts)
        if reach is not None:
            metrics["cast_light_reach"] = r(reach, 3)
            metrics["cast_light_whole"] = r(agree, 3)
        metrics["cast_light_shift"] = r(gains, 3)
        c_t = t.cast_light_shift
        rules["cast_light_shift"] = ramp(gains, clean=0.0, fault=c_t, severe=c_t * 2.5)
    else:
        rules["cast_shift"] = ramp(offset, clean=0.0, fault=t.cast_shift, severe=t.cast_shift * 2.5)
    return rules


def color_cast(
    frame: AnalysedFrame,
    t: Thresholds,
    baseline: Mapping[str, Sequence[float]] | None = None,
    baseline_light: Mapping[str, Sequence[float]] | None = None,
) -> Measurement:
    """Without a baseline, from neutral; with one, from the baseline's estimates (the light's
    log chromaticity when the baseline kept it, `baseline_light`)."""
    da, db, ma, mb = chroma_stats(frame.lab)
    m = max(float(np.hypot(ma, mb)), 1.0)
    d = float(np.hypot(da, db))
    found, light, grey = _measure(frame, grey=baseline is None or GREY_PIXELS in baseline, parts=baseline is not None)
    metrics: dict = {
        "cast_k": r(d / m),
        "cast_d": r(d, 2),
        "cast_m": r(m, 2),
        "a_mean": r(da, 2),
        "b_mean": r(db, 2),
        "illuminants": {k: [r(a, 2), r(b, 2)] for k, (a, b) in found.items()},
    }
    if baseline is not None:
        rules = _against_baseline(found, light, grey, baseline, baseline_light, t, metrics)
    else:
        offset = consensus(list(found.values()))
        magenta = side_tint(list(found.values()), -1.0)
        # The light by the grey pixels in place of the least saturated ones (see the module's
        # text): the tint is judged on these four.
        if grey is not None:
            metrics["illuminants"]["grey_pixels"] = [r(grey[0], 2), r(grey[1], 2)]
        lights = [v for k, v in found.items() if k != "near_neutral"] + [
            grey if grey is not None else found["near_neutral"]
        ]
        off_locus = tint(lights)
        metrics["cast_offset"] = r(offset, 2)
        metrics["cast_tint"] = r(off_locus, 2)
        metrics["cast_tint_magenta"] = r(magenta, 2)
        rules = {
            "cast_offset": ramp(offset, clean=0.0, fault=t.cast_offset, severe=t.cast_offset * 2.5),
            "cast_tint": ramp(off_locus, clean=0.0, fault=t.cast_tint, severe=t.cast_tint * 2.5),
            "cast_tint_magenta": ramp(magenta, clean=0.0, fault=t.cast_tint_magenta, severe=t.cast_tint_magenta * 2.5),
        }
    decided_by = max(rules, key=lambda k: rules[k])
    metrics["cast_rule"] = decided_by  # the threshold that gave the colour-cast score
    return Measurement({"color_cast": rules[decided_by]}, metrics)
