"""A camera's OSD over a clip's pictures: the date, weekday and time at the top left, ticking,
and the channel name at the bottom right, white with a black outline, as cameras draw them by
default. Chinese ("zh", the default: 2026-12-06 星期日 17:30:05, 雪亮-03 …) in the WenQuanYi font
that the project installs for the console (fonts-wqy-microhei); or ASCII in OpenCV's Hershey
font ("en"), a second typeface. Cameras can also draw it black ("zh-black": black with a white
outline, 字体颜色 黑色), or choose per line by what is behind it ("zh-auto": 黑白自动, black over
a bright picture, white over a dark one).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tests.support.natural import Clip, condition_frames
from tests.support.synthetic import write_frames

START = datetime.datetime(2026, 12, 6, 17, 30, 0)
TICK = 5  # pictures per second of the clock (a clip has 10 pictures: the clock ticks in it)
FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
WEEKDAYS = "一二三四五六日"
HERSHEY = cv2.FONT_HERSHEY_SIMPLEX
OUTLINE = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_FILE), size)


def _clock(when: datetime.datetime, language: str) -> str:
    if language == "zh":
        return when.strftime("%Y-%m-%d ") + "星期" + WEEKDAYS[when.weekday()] + when.strftime(" %H:%M:%S")
    return when.strftime("%Y-%m-%d %a %H:%M:%S")


STYLES = ("zh", "en", "zh-black", "zh-auto")
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
AUTO_BRIGHT = 150  # zh-auto: the mean grey behind a line above which it is drawn black


def _draw_zh(frame: np.ndarray, lines: Sequence[str], colour: str = "white") -> np.ndarray:
    h, w = frame.shape[:2]
    face = font(max(10, round(h / 24)))
    image = Image.fromarray(frame[..., ::-1])
    pen = ImageDraw.Draw(image)
    clock, name = lines
    width = pen.textlength(name, font=face)
    margin = round(w * 0.02)
    for text, at in ((clock, (margin, round(h * 0.03))), (name, (w - width - margin, round(h * 0.92)))):
        black = colour == "black"
        if colour == "auto":
            x0, y0, x1, y1 = (int(v) for v in pen.textbbox(at, text, font=face))
            black = float(cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).mean()) > AUTO_BRIGHT
        ink, edge = (BLACK, WHITE) if black else (WHITE, BLACK)
        pen.text(at, text, font=face, fill=ink, stroke_width=1, stroke_fill=edge)
    return np.ascontiguousarray(np.asarray(image)[..., ::-1])


def _draw_en(frame: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    frame = frame.copy()
    h, w = frame.shape[:2]
    scale, thick = w / 1100, max(1, round(w / 640))
    clock, name = lines
    (tw, _), _ = cv2.getTextSize(name, HERSHEY, scale, thick)
    corners = (round(w * 0.02), round(h * 0.07)), (w - tw - round(w * 0.02), round(h * 0.96))
    for text, (x, y) in zip((clock, name), corners, strict=True):
        for dx, dy in OUTLINE:  # a thicker stroke would also space the glyphs wider
            cv2.putText(frame, text, (x + dx, y + dy), HERSHEY, scale, (0, 0, 0), thick, cv2.LINE_AA)
        cv2.putText(frame, text, (x, y), HERSHEY, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return frame


def draw(
    frames: Iterable[np.ndarray], name: str, start: datetime.datetime = START, language: str = "zh"
) -> Iterator[np.ndarray]:
    """The pictures with the OSD of `language`, one of STYLES."""
    script, _, colour = language.partition("-")
    for i, frame in enumerate(frames):
        lines = (_clock(start + datetime.timedelta(seconds=i // TICK), script), name)
        yield _draw_zh(frame, lines, colour or "white") if script == "zh" else _draw_en(frame, lines)


def channel(clip: Clip, language: str = "zh") -> str:
    return f"{'CAM' if language == 'en' else '雪亮'}-{clip.seed:02d} {clip.scene.upper()}"


def osd_frames(clip: Clip, language: str = "zh") -> list[np.ndarray]:
    """The clip's pictures with its camera's OSD; commissioning views (another `t0`) show
    another time."""
    start = START + datetime.timedelta(seconds=7 * clip.t0)
    return list(draw(condition_frames(clip), channel(clip, language), start, language))


def write_osd_clip(path: Path, clip: Clip, language: str = "zh") -> Path:
    return write_frames(path, osd_frames(clip, language), fps=12, codec="libx264", max_kbps=clip.max_kbps)
