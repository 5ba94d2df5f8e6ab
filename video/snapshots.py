"""Camera snapshots: the ONVIF snapshot URI first, one decoded frame of the stream as fallback.

Snapshots are cached on disk per camera with their age, so the camera wall does not hammer the
devices; a stale snapshot is served (with its age) when the camera cannot be reached. One fetch
per camera runs at a time; concurrent viewers wait for it and share the result.

A device chooses its snapshot and stream URIs, so a hostile one could point them at another
host (server-side request forgery). For an ONVIF-onboarded camera both must stay on the host of
its ONVIF address. Credentials are put into the request for the one fetch, never stored in URLs.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import cv2
import httpx
import numpy as np

from govops.errors import ServiceUnavailable
from video.catalogue.models import Camera

MAX_AGE = 60.0
WIDTH = 640
MAX_BYTES = 5 * 1024 * 1024
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(camera_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(camera_id, threading.Lock())


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
    cap = cv2.VideoCapture(
        url,
        cv2.CAP_FFMPEG,
        [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(timeout_s * 1000), cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(timeout_s * 1000)],
    )
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
    finally:
        cap.release()
    if not ok or frame is None:
        raise ServiceUnavailable("the stream gave no picture", hint="check the camera is online")
    return frame


def fetch_snapshot(url: str, user: str | None, password: str | None, timeout_s: float = 5.0) -> np.ndarray:
    """GET the snapshot; answers a Digest or a Basic challenge, whichever the device sends."""
    with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
        body, challenge = _get_capped(client, url, None)
        if body is None and user:
            # Answer in the scheme the device asked for; never volunteer Basic to a Digest one.
            auth: httpx.Auth = (
                httpx.BasicAuth(user, password or "")
                if challenge.lower().startswith("basic")
                else httpx.DigestAuth(user, password or "")
            )
            body, _ = _get_capped(client, url, auth)
        if body is None:
            raise ServiceUnavailable("the snapshot URL refused the credentials (HTTP 401)")
    img = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ServiceUnavailable("the snapshot URL did not return an image")
    return img


def _get_capped(client: httpx.Client, url: str, auth: httpx.Auth | None) -> tuple[bytes | None, str]:
    """(body, "") or (None, the WWW-Authenticate challenge) on a 401."""
    with client.stream("GET", url, auth=auth or httpx.USE_CLIENT_DEFAULT) as r:
        if r.status_code == 401:
            return None, r.headers.get("www-authenticate", "")
        r.raise_for_status()
        body = bytearray()
        for chunk in r.iter_bytes():
            body += chunk
            if len(body) > MAX_BYTES:
                raise ServiceUnavailable("the snapshot is larger than 5 MB; refused")
    return bytes(body), ""


def same_host(url: str, onvif_address: str | None) -> bool:
    if not onvif_address:
        return True
    try:
        return urlsplit(url).hostname == urlsplit(onvif_address).hostname
    except ValueError:
        return False


def with_credentials(url: str, user: str | None, password: str | None) -> str:
    if not user or not url.startswith(("rtsp://", "rtsps://")):
        return url
    parts = urlsplit(url)
    netloc = f"{quote(user, safe='')}:{quote(password or '', safe='')}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def cache_path(cache_dir: Path, camera_id: str) -> Path:
    return cache_dir / f"{camera_id}.jpg"


def cached_age(cache_dir: Path, camera_id: str) -> float | None:
    """Seconds since the cached snapshot was taken, or None when there is none."""
    try:
        return max(0.0, time.time() - cache_path(cache_dir, camera_id).stat().st_mtime)
    except OSError:
        return None


def snapshot_jpeg(
    cam: Camera, cache_dir: Path, password: str | None = None, max_age: float = MAX_AGE
) -> tuple[bytes, float]:
    """(JPEG bytes, age in seconds) for a camera, refreshed when older than max_age."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = cache_path(cache_dir, cam.id)
    with _lock_for(cam.id):
        age = cached_age(cache_dir, cam.id)
        if age is not None and age <= max_age:
            return cached.read_bytes(), age
        try:
            frame = None
            errors = []
            if cam.snapshot_url:
                if not same_host(cam.snapshot_url, cam.onvif_address):
                    errors.append("the snapshot URI points at another host than the camera; refused")
                else:
                    try:
                        frame = fetch_snapshot(cam.snapshot_url, cam.username, password)
                    except (ServiceUnavailable, httpx.HTTPError) as exc:
                        errors.append(f"snapshot URI: {exc}")
            if frame is None and cam.stream_url:
                if "://" in cam.stream_url and not same_host(cam.stream_url, cam.onvif_address):
                    errors.append("the stream URI points at another host than the camera; refused")
                else:
                    frame = frame_from_stream(with_credentials(cam.stream_url, cam.username, password))
            if frame is None:
                raise ServiceUnavailable(
                    "; ".join(errors) or f"camera {cam.id} has neither a snapshot URI nor a stream"
                )
        except (ServiceUnavailable, httpx.HTTPError, OSError) as exc:
            if age is not None:
                return cached.read_bytes(), age
            raise ServiceUnavailable(f"no snapshot for camera {cam.id}: {exc}") from None
        jpeg = _encode(frame)
        tmp = cached.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_bytes(jpeg)
        tmp.replace(cached)
        return jpeg, 0.0
