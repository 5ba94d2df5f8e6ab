"""The OSD: the date, time and name that a camera (or the NVR behind it) draws over its picture.

Almost every camera of a video network shows one, by default the date and time at the top left
and the channel name at the bottom right. It is drawn after the lens, the sensor and the white
balance, so it tells nothing about them, and it misleads every check:
- its strokes are the sharpest edges in the picture, so a defocused camera reads sharp;
- it is pure white, so a colour cast has neutral pixels to hide behind;
- on a dead sensor's black picture its edges read as a scene, so signal loss reads as too dark;
- it stays where it was when the camera is turned away, so part of the view seems kept;
- its clock ticks, so a frozen picture seems to change.

So the OSD lines are found and filled in before any check reads the picture: on the judged
pictures, on every picture of the window after them and on the commissioning picture alike.
- Glyphs: white, grey-neutral strokes, thin against what is behind them (a white top-hat),
  between `MIN_HEIGHT` and `MAX_HEIGHT` tall on a 360-line picture, not much wider than tall.
- Lines: at least `MIN_GLYPHS` glyphs of about one height, on one baseline, each close to the
  one before; words of one row join; a line is widened over glyphs the white strokes missed
  (faint, or only their dark outline left over a bright sky).
- Steady: the line's box looks the same in the window's last picture (correlation): a scene
  that pans, or snow new in every picture, does not; the OSD does, but for a clock digit.
- Fill: each box is painted in from the picture around it (a Coons patch, which meets the
  picture on all four sides) with the picture's noise added back. Every picture of the window
  is filled from its own surroundings with the same noise, so a ticking clock is no motion and
  a filled box is no still patch on a moving picture (which would read as something on the lens).
  The picture shown to the operator keeps its OSD.

White text is found, as cameras draw it by default, in any script. Black text (a camera set to
draw it black, or one that inverts its text over a bright sky, 黑白自动) is found as the white
text of the picture's negative, with black ink's darker cores (`BLACKEST`), and only with its
clock: a row of `CLOCK_GLYPHS` glyphs at least at the top or bottom of the picture, where the
date and time stand. A scene has many more dark thin strokes than white ones, and rows of them
(roof tiles, railings) look like glyphs; none is that long where the clock stands. A line of
fewer than `MIN_GLYPHS` glyphs is not found.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from video.diagnosis.checks.noise import KERNEL, MEAN_SCALE
from video.diagnosis.frame import AnalysedFrame, Window

STROKE_CONTRAST = 60  # grey levels above the picture just around the stroke (white top-hat)
FAINT = 35  # grey levels: a stroke that the white strokes missed, next to a line found
STROKE_BRIGHT = 150  # OSD text is white, or near it after the encoder
MIN_HEIGHT, MAX_HEIGHT = 6, 40  # pixels of a glyph on a 360-line picture
MIN_GLYPHS = 4
# Black text is taken with its clock only: a row of this many dark glyphs at least (the date and
# time, 2026-12-06 星期日 17:30:05, has 18 at 640 wide) in the top or bottom CLOCK_BAND of the
# picture, where cameras put it. The dark rows of a scene (roof tiles, a railing, windows) are
# shorter, or stand inside the view.
CLOCK_GLYPHS = 12
CLOCK_BAND = 0.15
STEADY = 0.6  # correlation of a line's box with the same box in the window's last picture
WHITE = 170  # a stroke pixel's brightest channel: OSD text is white
BRIGHTEST = 230  # the brightest tenth of a line's stroke pixels: their cores are white
BLACKEST = 25  # and of a black line's, the darkest tenth: black ink
NEUTRAL = 40  # a stroke pixel's spread of channels: and has no colour of its own
GLYPH_WIDTH = 1.5  # a glyph is at most this many times as wide as it is tall
SAME_HEIGHT = 0.35  # glyphs of a line differ in height by at most this share
BASELINE = 0.2  # of a glyph's height: how far its foot may stand off the one before it
GAP = 1.2  # of a glyph's height: the widest gap between two glyphs of a word
WORD_GAP = 3.0  # of a line's height: the widest gap between two words of a line
LONGEST = 6  # of a line's height: how far a line is widened over faint glyphs
# Pixels around the strokes filled too: the outline, and the encoder's ringing (half an 8x8
# transform block at 640 wide; set on the fit scenes with their OSD, 3, 5 and 8 tried).
MARGIN = 5
EDGE = 3  # rows (columns) beyond a box that give the picture along its side
SMOOTH = 5  # pixels along a side that its values are smoothed over

Box = tuple[int, int, int, int]  # x, y, width, height in pixels of the picture searched
Share = tuple[float, float, float, float]  # the same as shares of the picture (or a Box)


def _odd(n: float) -> int:
    return max(3, round(n) | 1)


def _strokes(gray: np.ndarray, bgr: np.ndarray, scale: float) -> np.ndarray:
    """Thin white strokes: bright against what is just around them, and without a colour."""
    k = _odd(7 * scale)
    tophat = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    b, g, r = cv2.split(bgr)
    brightest, darkest = cv2.max(cv2.max(b, g), r), cv2.min(cv2.min(b, g), r)
    on = (tophat >= STROKE_CONTRAST) & (gray >= STROKE_BRIGHT) & (brightest >= WHITE)
    on &= cv2.subtract(brightest, darkest) <= NEUTRAL
    # A thin stroke, anti-aliased and downscaled, breaks where it runs along a pixel row: mend
    # it across rows only, so that glyphs side by side stay apart.
    return cv2.morphologyEx(on.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 1), np.uint8))


def _lines(glyphs: np.ndarray) -> list[list[int]]:
    """Rows of glyphs (x, y, w, h): about as tall as each other, standing on one baseline, each
    close to the one before it."""
    bottoms = glyphs[:, 1] + glyphs[:, 3]
    order = np.argsort(glyphs[:, 0], kind="stable")  # left to right: feet differ by a pixel or two
    lines: list[list[int]] = []
    open_at: dict[int, list[int]] = {}  # a line's last foot → the lines ending there
    for i in order:
        x, _, _, h = (int(v) for v in glyphs[i])
        foot = int(bottoms[i])
        reach = int(BASELINE * h) + 1
        chosen = None
        for at in range(foot - reach, foot + reach + 1):
            for k in open_at.get(at, ()):
                px, _, pw, ph = (int(v) for v in glyphs[lines[k][-1]])
                aligned = abs(foot - at) <= BASELINE * ph and abs(h - ph) <= SAME_HEIGHT * ph
                if aligned and 0 <= x - (px + pw) <= GAP * ph:
                    chosen = k
                    break
            if chosen is not None:
                open_at[at].remove(chosen)
                break
        if chosen is None:
            chosen = len(lines)
            lines.append([])
        lines[chosen].append(int(i))
        open_at.setdefault(foot, []).append(chosen)
    return [line for line in lines if len(line) >= MIN_GLYPHS]


def _likeness(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two grey patches: the OSD is the same in both (but for a digit or
    two of the clock); a scene that pans, or snow new in every picture, is not."""
    a, b = a.astype(np.float32).ravel(), b.astype(np.float32).ravel()
    a -= a.mean()
    b -= b.mean()
    norm = float(np.sqrt((a @ a) * (b @ b)))
    return float(a @ b) / norm if norm > 0 else 0.0


def find_lines(bgr: np.ndarray, gray: np.ndarray, later: np.ndarray | None = None) -> list[Box]:
    """The OSD lines of a picture (BGR and its grey), each a box with half its height to spare
    at either end (a colon, a dash); with `later` (the grey of a later picture of the same
    stream, any size), only those that look the same there. White lines anywhere, and black
    ones (the white lines of the picture's negative) where the clock stands, with a clock."""
    h, w = gray.shape
    if later is not None and later.shape != gray.shape:
        later = cv2.resize(later, (w, h), interpolation=cv2.INTER_LINEAR)
    scale = h / 360
    white, _ = _white_lines(bgr, gray, later, scale)
    band = round(CLOCK_BAND * h)
    black: list[Box] = []
    longest = 0
    for top in (0, h - band) if band else ():
        rows = slice(top, top + band)
        negative = None if later is None else cv2.bitwise_not(later[rows])
        lines, most = _white_lines(
            cv2.bitwise_not(bgr[rows]), cv2.bitwise_not(gray[rows]), negative, scale, 255 - BLACKEST
        )
        black += [(x, y + top, bw, bh) for x, y, bw, bh in lines]
        longest = max(longest, most)
    if longest < CLOCK_GLYPHS:
        return white  # no black clock: dark rows of a scene (roof tiles, a railing) are no OSD
    return _joined(white + black)


def _white_lines(
    bgr: np.ndarray, gray: np.ndarray, later: np.ndarray | None, scale: float, brightest: int = BRIGHTEST
) -> tuple[list[Box], int]:
    """The white lines (the brightest tenth of their strokes at least `brightest`) of a picture
    or a band of one (`later`: the same band of a later picture, or None), and the most glyphs
    in one of them; `scale`: the picture's height / 360."""
    strokes = _strokes(gray, bgr, scale)
    n, _, stats, _ = cv2.connectedComponentsWithStats(strokes, connectivity=8)
    tall = stats[1:n, cv2.CC_STAT_HEIGHT]
    wide = stats[1:n, cv2.CC_STAT_WIDTH]
    glyphs = stats[1:n, :4][(tall >= MIN_HEIGHT * scale) & (tall <= MAX_HEIGHT * scale) & (wide <= GLYPH_WIDTH * tall)]
    if len(glyphs) < MIN_GLYPHS:
        return [], 0
    boxes: list[Box] = []
    counts: list[int] = []
    for line in _lines(glyphs):
        g = glyphs[line]
        x0, y0 = int(g[:, 0].min()), int(g[:, 1].min())
        x1, y1 = int((g[:, 0] + g[:, 2]).max()), int((g[:, 1] + g[:, 3]).max())
        on = strokes[y0:y1, x0:x1].astype(bool)
        if np.percentile(bgr[y0:y1, x0:x1][on].max(axis=1), 90) < brightest:
            continue  # pale strokes: a scene's (the OSD's cores are white even when thin)
        if later is not None and _likeness(gray[y0:y1, x0:x1], later[y0:y1, x0:x1]) < STEADY:
            continue
        boxes.append((x0, y0, x1 - x0, y1 - y0))
        counts.append(len(line))
    rows = _joined(boxes)
    longest = max(
        (sum(n for box, n in zip(boxes, counts, strict=True) if _overlap(box, row)) for row in rows), default=0
    )
    lines = _joined([_extended(bgr, gray, box, scale) for box in rows])
    return [(max(0, lx - lh // 2), ly, lw + 2 * (lh // 2), lh) for lx, ly, lw, lh in lines], longest


def _extended(bgr: np.ndarray, gray: np.ndarray, box: Box, scale: float) -> Box:
    """The line's box, widened along its row over the glyphs that the white strokes missed
    (a glyph over a bright sky has little contrast left): columns with a faint stroke, a few
    apart at most, as far as a line of `LONGEST` glyphs reaches or the line's own width."""
    x, y, w, h = box
    k = _odd(7 * scale)
    band = gray[y : y + h]
    square = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    white = (cv2.morphologyEx(band, cv2.MORPH_TOPHAT, square) >= FAINT) & (band >= STROKE_BRIGHT - 20)
    outline = cv2.morphologyEx(band, cv2.MORPH_BLACKHAT, square) >= 2 * FAINT  # over a bright sky
    grey = np.ptp(bgr[y : y + h].astype(np.int16), axis=2) <= NEUTRAL
    marked = ((white | outline) & grey).any(axis=0)
    gap, longest = int(WORD_GAP * h), max(w, LONGEST * h)

    def reach(columns: np.ndarray) -> int:
        last = 0
        for i in np.flatnonzero(columns[:longest]):
            if i - last > gap:
                break
            last = int(i)
        return last

    left = reach(marked[:x][::-1])
    right = reach(marked[x + w :])
    x0 = x - left
    return (x0, y, w + left + right, h)


def _joined(boxes: list[Box]) -> list[Box]:
    """The words of one line as one box: boxes side by side on one row, a few glyphs apart."""
    out: list[Box] = []
    for x, y, w, h in sorted(boxes):
        if out:
            px, py, pw, ph = out[-1]
            overlap = min(y + h, py + ph) - max(y, py)
            if overlap >= 0.5 * min(h, ph) and x - (px + pw) <= WORD_GAP * max(h, ph):
                x0, y0 = min(px, x), min(py, y)
                out[-1] = (x0, y0, max(px + pw, x + w) - x0, max(py + ph, y + h) - y0)
                continue
        out.append((x, y, w, h))
    return out


def scaled(boxes: Sequence[Box], of: tuple[int, int], to: tuple[int, int]) -> list[Box]:
    """`boxes` found on a picture of size `of` (h, w), with their margin, on one of size `to`."""
    (h, w), (th, tw) = of, to
    fy, fx = th / h, tw / w
    pad = MARGIN * h / 360
    out = []
    for x, y, bw, bh in boxes:
        x0, y0 = max(0, int((x - pad) * fx)), max(0, int((y - pad) * fy))
        x1, y1 = min(tw, int(np.ceil((x + bw + pad) * fx))), min(th, int(np.ceil((y + bh + pad) * fy)))
        if x1 > x0 and y1 > y0:
            out.append((x0, y0, x1 - x0, y1 - y0))
    return out


def _noise(image: np.ndarray, x: int, y: int, w: int, h: int) -> float:
    """The sensor noise just above and below a box (Immerkær's estimate on the grey)."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    bands = [gray[max(0, y - 6) : y, x : x + w], gray[y + h : y + h + 6, x : x + w]]
    responses = [
        np.abs(cv2.filter2D(b.astype(np.float32), cv2.CV_32F, KERNEL))[1:-1, 1:-1].ravel()
        for b in bands
        if min(b.shape) >= 3
    ]
    return float(np.median(np.concatenate(responses))) * MEAN_SCALE if responses else 0.0


def _edge(strip: np.ndarray, axis: int) -> np.ndarray | None:
    """The picture along one side of a box, from the strip of pixels beyond it: averaged across
    the strip and smoothed along it, so that one noisy pixel does not tint the whole fill."""
    if strip.shape[axis] == 0 or strip.size == 0:
        return None
    line = strip.astype(np.float32).mean(axis=axis)
    n = line.shape[0]
    k = min(SMOOTH, n)
    return cv2.blur(line.reshape(n, 1, -1), (1, k)).reshape(line.shape) if k > 1 else line


def fill(image: np.ndarray, boxes: Sequence[Box], noise: Sequence[float] | None = None) -> np.ndarray:
    """A copy of `image` (BGR or grey) with each box painted in from the pixels around it (a
    Coons patch: it meets the picture on all four sides, so a fill across a boundary leaves no
    step), and the picture's noise there added back (`noise`: each box's sigma, when known; the
    same noise each call, so a fill moves only with the picture around it)."""
    out = image.copy()
    rng = np.random.default_rng(0)
    for i, (x, y, w, h) in enumerate(boxes):
        above = _edge(out[max(0, y - EDGE) : y, x : x + w], axis=0)
        below = _edge(out[y + h : y + h + EDGE, x : x + w], axis=0)
        if above is None or below is None:
            above = below = above if above is not None else below
        if above is None or below is None:
            continue  # a box the picture's whole height: no OSD line
        top, bottom = above, below
        shape = (h, 1, *([1] * (image.ndim - 2)))
        v = ((np.arange(h, dtype=np.float32) + 1) / (h + 1)).reshape(shape)
        painted = top[None] * (1 - v) + bottom[None] * v
        left = _edge(out[y : y + h, max(0, x - EDGE) : x], axis=1)
        right = _edge(out[y : y + h, x + w : x + w + EDGE], axis=1)
        if left is None or right is None:
            left = right = left if left is not None else right
        if left is not None and right is not None:
            u = ((np.arange(w, dtype=np.float32) + 1) / (w + 1)).reshape(1, w, *([1] * (image.ndim - 2)))
            # The sides' own values along the box, less what the top and bottom already give
            # there (the corners), ramp in from each end.
            painted += (left[:, None] - (top[:1][None] * (1 - v) + bottom[:1][None] * v)) * (1 - u)
            painted += (right[:, None] - (top[-1:][None] * (1 - v) + bottom[-1:][None] * v)) * u
        sigma = noise[i] if noise is not None else _noise(image, x, y, w, h)
        if sigma > 0:
            grain = rng.standard_normal((h, w), dtype=np.float32) * np.float32(sigma)
            painted += grain if image.ndim == 2 else grain[..., None]
        out[y : y + h, x : x + w] = np.clip(np.rint(painted), 0, 255).astype(np.uint8)
    return out


def _overlap(a: Share, b: Share) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def merged(boxes: Sequence[Share]) -> list[Share]:
    """Boxes that overlap as one box (their bounds)."""
    out: list[Share] = []
    for box in sorted(boxes):
        x, y, w, h = box
        for i, (ox, oy, ow, oh) in enumerate(out):
            if _overlap(box, out[i]):
                x0, y0 = min(x, ox), min(y, oy)
                out[i] = (x0, y0, max(x + w, ox + ow) - x0, max(y + h, oy + oh) - y0)
                break
        else:
            out.append(box)
    return out if len(out) == len(boxes) else merged(out)


def without_osd(
    frame: AnalysedFrame, later: np.ndarray | None = None, known: Sequence[Sequence[float]] = ()
) -> AnalysedFrame:
    """The picture with its OSD lines filled in (`osd` says where they were, on the picture);
    the picture itself when it has none, or was cleaned already. `known`: where the camera's
    OSD was at commissioning (shares of the picture, as `where` gives them), filled in where no
    line of this picture is: the OSD does not move, and a line over fog or a bright sky is not
    found in every picture."""
    if frame.osd is not None:
        return frame
    h, w = frame.gray.shape
    found = find_lines(frame.bgr, frame.gray, later)
    places = [(round(x * w), round(y * h), round(bw * w), round(bh * h)) for x, y, bw, bh in known]
    boxes = found + [box for box in places if not any(_overlap(box, other) for other in found)]
    if boxes:
        return without_osd_at(frame, boxes, frame.gray.shape)
    frame.osd = []
    return frame


def without_osd_at(frame: AnalysedFrame, boxes: Sequence[Box], of: tuple[int, int]) -> AnalysedFrame:
    """The picture with the OSD lines found on another picture of the stream filled in."""
    shape = frame.gray.shape
    clean = AnalysedFrame(fill(frame.bgr, scaled(boxes, of, shape)), frame.source_size)
    clean.osd = list(boxes)
    return clean


def filled_window(lumas: Window, boxes: Sequence[Box], of: tuple[int, int]) -> Window:
    """The window with the OSD lines (found on a picture of size `of`) filled in every picture
    from that picture's own rows around them: the clock's ticks are gone, the scene's motion
    around the lines stays (a fill held still would look like something on the lens)."""
    if not boxes or not lumas:
        return lumas
    first = lumas[0]
    places = scaled(boxes, of, first.shape)
    sigmas = [_noise(first, *box) for box in places]
    return Window(fill(luma, places, sigmas) if luma.shape == first.shape else luma for luma in lumas)


def where(boxes: Sequence[Box], of: tuple[int, int]) -> list[list[float]]:
    """The boxes as shares of the picture (x, y, width, height), for the verdict's metrics."""
    h, w = of
    return [[round(x / w, 3), round(y / h, 3), round(bw / w, 3), round(bh / h, 3)] for x, y, bw, bh in boxes]
