"""Smoke: OpenCV (FFmpeg backend, RTSP over TCP) reads frames from the lab RTSP server."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tools.lab.rtsp import RtspHandle

pytestmark = pytest.mark.integration

# OpenCV reads this when it opens a capture: force RTP over the RTSP TCP connection.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")

import cv2  # noqa: E402


def read_frames(url: str, n: int = 10) -> list[np.ndarray]:
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    try:
        assert cap.isOpened(), f"OpenCV could not open {url}"
        frames = []
        for _ in range(n):
            ok, frame = cap.read()
            assert ok, f"read failed after {len(frames)} frames from {url}"
            frames.append(frame)
        return frames
    finally:
        cap.release()


def test_live_test_pattern_moves(rtsp_server: RtspHandle) -> None:
    frames = read_frames(rtsp_server.urls["live"])
    assert all(f.shape == (360, 640, 3) and f.dtype == np.uint8 for f in frames)
    assert len({f.tobytes() for f in frames}) > 1, "test pattern frames are all identical"
    assert max(float(np.abs(f.astype(int) - frames[0]).mean()) for f in frames[1:]) > 0.1


def test_smpte_bars_are_colourful(rtsp_server: RtspHandle) -> None:
    frame = read_frames(rtsp_server.urls["smpte"], n=3)[-1]
    assert frame.shape == (360, 640, 3)
    assert frame.std() > 30  # bars, not a blank picture


def test_file_mount_loops(rtsp_server: RtspHandle) -> None:
    # The clip is 3 s at 10 fps, served at 15 fps: 60 frames is past its end, so it looped.
    frames = read_frames(rtsp_server.urls["clip"], n=60)
    assert all(f.shape == (360, 640, 3) for f in frames)
    assert len({f.tobytes() for f in frames}) > 1
