"""Camera snapshots: the ONVIF snapshot URI first, one decoded frame of the stream as fallback.

Snapshots are cached on disk per camera with their age, so the camera wall does not hammer the
devices; a stale snapshot is served (with its age) when the camera cannot be reached.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import httpx
import numpy as np

from govops.errors import ServiceUnavailable
from video.catalogue.models import Camera

MAX_AGE = 60.0
WIDTH = 640
MAX_BYTES = 5 * 1024 * 1024


def _encode(frame: np.ndarray) -> bytes:
    h, w = frame.shape[:2]
    if w > WIDTH:
        frame = cv2.resize(frame, (WIDTH, int(h * WIDTH / w)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ServiceUnavailable("could not encode the snapshot")
    return buf.tobytes()


def frame_from_stream(url: str, timeout_s: float = 8.0) -> np.ndarray:
    os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG,
                           [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(timeout_s * 1000),
                            cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(timeout_s * 1000)])
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
    finally:
        cap.release()
    if not ok or frame is None:
        raise ServiceUnavailable("the stream gave no picture", hint="check the camera is online")
    return frame


def fetch_snapshot(url: str, user: str | None, password: str | None, timeout_s: float = 5.0) -> np.ndarray:
    auth = httpx.DigestAuth(user, password) if user and password else None
    with httpx.Client(timeout=timeout_s, auth=auth, follow_redirects=False) as client, \
            client.stream("GET", url) as r:
        r.raise_for_status()
        body = bytearray()
        for chunk in r.iter_bytes():
            body += chunk
            if len(body) > MAX_BYTES:
                raise ServiceUnavailable("the snapshot is larger than 5 MB; refused")
    img = cv2.imdecode(np.frombuffer(bytes(body), np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ServiceUnavailable("the snapshot URL did not return an image")
    return img


def snapshot_jpeg(cam: Camera, cache_dir: Path, password: str | None = None,
                  max_age: float = MAX_AGE) -> tuple[bytes, float]:
    """(JPEG bytes, age in seconds) for a camera, refreshed when older than max_age."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = cache_dir / f"{cam.id}.jpg"
    age = time.time() - cached.stat().st_mtime if cached.exists() else float("inf")
    if age <= max_age:
        return cached.read_bytes(), age
    try:
        if cam.snapshot_url:
            frame = fetch_snapshot(cam.snapshot_url, cam.username, password)
        elif cam.stream_url:
            frame = frame_from_stream(cam.stream_url)
        else:
            raise ServiceUnavailable(f"camera {cam.id} has neither a snapshot URI nor a stream")
    except (ServiceUnavailable, httpx.HTTPError, OSError) as exc:
        if cached.exists():
            return cached.read_bytes(), age
        raise ServiceUnavailable(f"no snapshot for camera {cam.id}: {exc}") from None
    jpeg = _encode(frame)
    tmp = cached.with_suffix(".tmp")
    tmp.write_bytes(jpeg)
    tmp.replace(cached)
    return jpeg, 0.0
