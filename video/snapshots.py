"""Camera snapshots: the ONVIF snapshot URI first, one decoded frame of the stream as fallback.

Snapshots are cached on disk per camera with their age, so the camera wall does not hammer the
devices; a stale snapshot is served (with its age) when the camera cannot be reached. One fetch
per camera runs at a time; concurrent viewers wait for it and share the result. The cache and
its locks belong to a `SnapshotCache` that the runtime builds once (a fixed set of lock
stripes, so the locks do not grow with the catalogue).

A device chooses its snapshot and stream URIs, so a hostile one could point them at another
host (server-side request forgery). For an ONVIF-onboarded camera both must stay on the host of
its ONVIF address. Credentials are put into the request for the one fetch, never stored in URLs.
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import cv2
import httpx
import numpy as np

from govops.errors import ServiceUnavailable
from video import pictures
from video.catalogue.models import Camera
from video.fetcher import SnapshotFetcher

MAX_AGE = 60.0
WIDTH = 640
MAX_BYTES = 5 * 1024 * 1024
LOCK_STRIPES = 256


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
    """GET the snapshot (video.fetcher's policy: no redirect to another host) and decode it."""
    body = SnapshotFetcher(max_bytes=MAX_BYTES, timeout_s=timeout_s).get(url, user, password).body
    try:
        img = pictures.decode(body)
    except pictures.PictureTooLarge as exc:
        raise ServiceUnavailable(
            f"the snapshot URL returned no camera picture: {exc}", hint="check the snapshot URL is the camera's"
        ) from None
    if img is None:
        raise ServiceUnavailable("the snapshot URL did not return an image")
    return img


def same_host(url: str, onvif_address: str | None) -> bool:
    if not onvif_address:
        return True
    try:
        return urlsplit(url).hostname == urlsplit(onvif_address).hostname
    except ValueError:
        return False


def _may_fetch(url: str, cam: Camera) -> bool:
    """On the camera's own host, or on a host:port an operator allowed for it at onboarding."""
    if same_host(url, cam.onvif_address):
        return True
    try:
        parts = urlsplit(url)
        origin = f"{(parts.hostname or '').lower()}:{parts.port or {'http': 80, 'https': 443}.get(parts.scheme, 0)}"
    except ValueError:
        return False
    return origin in ((cam.capabilities or {}).get("allowed_hosts") or ())


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


class SnapshotCache:
    """The camera wall's snapshots on disk under `cache_dir`, one fetch per camera at a time."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self._stripes = [threading.Lock() for _ in range(LOCK_STRIPES)]

    def _lock_for(self, camera_id: str) -> threading.Lock:
        return self._stripes[zlib.crc32(camera_id.encode()) % LOCK_STRIPES]

    def age(self, camera_id: str) -> float | None:
        return cached_age(self.cache_dir, camera_id)

    def jpeg(self, cam: Camera, password: str | None = None, max_age: float = MAX_AGE) -> tuple[bytes, float]:
        """(JPEG bytes, age in seconds) for a camera, refreshed when older than max_age."""
        cache_dir = self.cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)
        cached = cache_path(cache_dir, cam.id)
        with self._lock_for(cam.id):
            age = cached_age(cache_dir, cam.id)
            if age is not None and age <= max_age:
                return cached.read_bytes(), age
            try:
                frame = None
                errors = []
                if cam.snapshot_url:
                    if not _may_fetch(cam.snapshot_url, cam):
                        errors.append("the snapshot URI points at another host than the camera; refused")
                    else:
                        try:
                            frame = fetch_snapshot(cam.snapshot_url, cam.username, password)
                        except (ServiceUnavailable, httpx.HTTPError) as exc:
                            errors.append(f"snapshot URI: {exc}")
                if frame is None and cam.stream_url:
                    if "://" in cam.stream_url and not _may_fetch(cam.stream_url, cam):
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
