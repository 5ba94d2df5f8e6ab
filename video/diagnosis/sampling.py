"""Decode only what the diagnosis needs from a file or a live stream.

The first keyframe is the judged picture; the few frames right after it form the window for
freeze. Packets before that keyframe are not decoded at all, and any later keyframes (when
more than one is asked for) are decoded with `skip_frame = "NONKEY"`, so the decoder never
spends time on pictures nobody looks at. Only when the window reads freeze is the stream decoded
on for `freeze_confirm_s`, keeping a picture every `freeze_confirm_gap_s` (checks/motion.py).
One decoder thread per source: the patrol runs many sources side by side, which uses the cores
better than threads inside one decoder.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import av
import numpy as np
from av.video.reformatter import Interpolation

from video.diagnosis.checks.motion import looks_frozen
from video.diagnosis.frame import AnalysedFrame, Window, analysis_size, luma_thumb
from video.diagnosis.thresholds import Thresholds

PICTURE_SCALING = Interpolation.AREA | Interpolation.FULL_CHR_H_INT
PLANAR_LUMA = {
    "yuv420p",
    "yuvj420p",
    "yuv422p",
    "yuvj422p",
    "yuv444p",
    "yuvj444p",
    "nv12",
    "nv21",
    "yuv411p",
    "yuv410p",
    "gray",
}


# Decoding holds a decoder's picture buffers (about 8 MB at 720p, more at 1080p) and is
# CPU-bound. The patrol opens hundreds of streams at once, so that the network waits overlap;
# their decodes take turns here, a few per core, and a stream waiting for its turn holds only
# its connection (its packets wait in the socket).
DECODE_SLOTS = threading.BoundedSemaphore(4 * max(1, os.cpu_count() or 1))

# Opening a container probes its streams, and FFmpeg's probe decodes the first picture to learn
# its format (about 7 ms of CPU at 1080p), which the decode below does again anyway. Probing
# with the decoder told to skip every picture reads the format from the container and the
# bitstream's headers only. Files only: a live stream probed that way waits for more of the
# stream instead (seconds of latency), and a format that names its streams only while probing
# (MPEG-TS) is probed the usual way.
PROBE = {"skip_frame": "all", "threads": "1"}
# The frames of the freeze window are compared as thumbnails: the deblocking filter on them (a
# sixth of H.264 decoding) changes nothing the comparison sees. The judged keyframe is deblocked.
WINDOW_DECODER = {"skip_loop_filter": "nokey"}


class SourceError(Exception):
    """The source gave no usable picture; the message says why, for a person to act on."""


@dataclass
class Sample:
    frames: list[AnalysedFrame]  # judged pictures: the first keyframe, then later keyframes
    lumas: Window = field(default_factory=Window)  # the window, in display order
    window_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    taken_at: datetime = field(default_factory=lambda: datetime.now(UTC))  # when it was read
    later: Window = field(default_factory=Window)  # pictures confirming a freeze, after the window
    later_s: float | None = None


def _luma(frame: av.VideoFrame) -> np.ndarray:
    """The luma plane as a 2-D view, without a colour conversion when the format is planar."""
    if frame.format.name in PLANAR_LUMA:
        plane = frame.planes[0]
        flat = np.frombuffer(memoryview(plane), np.uint8)[: plane.line_size * plane.height]
        return flat.reshape(plane.height, plane.line_size)[:, : plane.width]
    return frame.to_ndarray(format="gray")


def _picture(frame: av.VideoFrame, t: Thresholds) -> AnalysedFrame:
    """The picture at the analysis size, in BGR. The colour conversion interpolates the chroma
    to every pixel (FULL_CHR_H_INT): swscale's default path reads 4:2:0 chroma a pixel pair at
    a time, which on a picture with known colours gave errors of 3.9 grey levels on average
    and a green 1.6 levels low, against 0.4 and 0.1 (and about 0.1 ms more at 720p). The frame's
    own colour space (BT.601 or BT.709) is honoured."""
    aw, ah = analysis_size(frame.width, frame.height, t.analysis_width)
    small = frame.reformat(width=aw, height=ah, format="bgr24", interpolation=PICTURE_SCALING)
    return AnalysedFrame(small.to_ndarray(), (frame.width, frame.height))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, av.error.ExitError):
        return "no answer in time"
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(": '")[0] if text else type(exc).__name__


def open_error(kind: str, exc: BaseException) -> SourceError:
    if kind == "file" and isinstance(exc, av.error.InvalidDataError):
        return SourceError(f"not a video file, or a damaged or truncated one ({_describe(exc)})")
    return SourceError(f"cannot open the {kind}: {_describe(exc)}")


def sample_container(target: str, kind: str, t: Thresholds, options: dict[str, str] | None = None) -> Sample:
    """Decode the first keyframe, a window of frames after it and up to `t.keyframes - 1`
    later keyframes, within `t.max_stream_seconds` of stream time."""
    started = time.monotonic()
    deadline = started + t.open_timeout_s + t.read_timeout_s + t.max_stream_seconds
    timeout = (t.open_timeout_s, t.read_timeout_s)
    try:
        try:
            # PyAV takes one dict of options per stream (its stub says list[str]).
            probe: Any = [PROBE] if kind == "file" else []
            container = av.open(target, options=options or {}, stream_options=probe, timeout=timeout)
        except ValueError:  # the format has no streams before probing
            container = av.open(target, options=options or {}, timeout=timeout)
    except (av.error.FFmpegError, OSError) as exc:
        waited = time.monotonic() - started
        if waited >= 0.9 * min(t.open_timeout_s, t.read_timeout_s):
            # A server that accepts and stays silent ends in whatever error the demuxer
            # makes of no data; what the user needs to know is that nothing came.
            raise SourceError(f"the {kind} did not answer within {waited:.0f} s") from None
        raise open_error(kind, exc) from None
    try:
        queued = time.monotonic()
        with DECODE_SLOTS:
            # Waiting for a turn is not the source's fault: the deadline moves by the wait.
            return _decode(container, kind, t, deadline + time.monotonic() - queued)
    finally:
        container.close()


def _decode(container: Any, kind: str, t: Thresholds, deadline: float) -> Sample:
    if not container.streams.video:
        raise SourceError(f"the {kind} has no video stream")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    ctx.thread_count = 1
    ctx.skip_frame = "NONKEY"
    ctx.options = dict(WINDOW_DECODER)
    tb = float(stream.time_base) if stream.time_base else 0.0
    frames: list[AnalysedFrame] = []
    lumas: list[np.ndarray] = []
    window = Window()  # the lumas, once complete: the freeze check reuses what looks_frozen measured
    pts: list[float] = []
    later: list[np.ndarray] = []
    later_pts: list[float] = []
    started = window_done = confirming = False
    first_ts: float | None = None
    decoded = packets = 0

    def confirm(frame: av.VideoFrame) -> None:
        """Keep a picture every freeze_confirm_gap_s until freeze_confirm_s past the window."""
        nonlocal confirming
        at = frame.pts * tb if frame.pts is not None and tb else None
        if at is None or at > pts[-1] + t.freeze_confirm_s:
            confirming = False
            ctx.skip_frame = "NONKEY"
        elif at >= (later_pts or pts)[-1] + t.freeze_confirm_gap_s:
            later.append(luma_thumb(_luma(frame), t.analysis_width))
            later_pts.append(at)

    def take(frame: av.VideoFrame) -> None:
        nonlocal window, window_done, confirming, decoded
        decoded += 1
        if not frames:
            frames.append(_picture(frame, t))
        elif window_done:
            if frame.key_frame and len(frames) < t.keyframes:  # a decoder may hand over two at once
                frames.append(_picture(frame, t))
            if confirming:
                confirm(frame)
            return
        lumas.append(luma_thumb(_luma(frame), t.analysis_width))
        if frame.pts is not None:
            pts.append(frame.pts * tb)
        if len(lumas) >= t.window_frames:
            window_done = True
            window = Window(lumas)
            confirming = bool(pts) and tb > 0 and looks_frozen(window, t)
            ctx.skip_frame = "DEFAULT" if confirming else "NONKEY"

    def done() -> bool:
        return window_done and not confirming and len(frames) >= t.keyframes

    try:
        for packet in container.demux(stream):
            if time.monotonic() > deadline:
                if frames:
                    break
                raise SourceError(f"no picture from the {kind} in time")
            packets += 1
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is not None and tb:
                first_ts = ts * tb if first_ts is None else first_ts
                if ts * tb - first_ts > t.max_stream_seconds:
                    break
            if packet.size == 0:
                continue  # the end-of-stream marker; flushed below
            if not started:
                if not packet.is_keyframe:
                    continue  # nothing before the first keyframe is decodable anyway
                started = True
                ctx.skip_frame = "DEFAULT"
            elif window_done and not confirming and not packet.is_keyframe:
                continue
            try:
                for frame in ctx.decode(packet):
                    take(frame)
            except av.error.InvalidDataError:
                continue  # a damaged packet; the next keyframe repairs it
            if done():
                break
        else:
            try:
                for frame in ctx.decode(None):
                    take(frame)
            except av.error.FFmpegError:
                pass
    except av.error.FFmpegError as exc:
        if not frames:
            raise SourceError(f"the {kind} broke off: {_describe(exc)}") from None
    if not frames:
        reason = "no keyframe" if packets and not started else "no decodable picture"
        raise SourceError(f"{reason} in the {kind} ({packets} packets read)")
    window_s = (max(pts) - min(pts)) if len(pts) >= 2 else None
    info = {
        "codec": ctx.name,
        "width": ctx.width,
        "height": ctx.height,
        "frames_decoded": decoded,
        "packets_read": packets,
    }
    later_s = later_pts[-1] - pts[-1] if later_pts else None
    window = window if len(window) == len(lumas) else Window(lumas)  # a stream that ended early
    return Sample(frames, window, window_s, info, later=Window(later), later_s=later_s)
