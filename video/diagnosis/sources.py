"""Where pictures come from: a file, an rtsp:// stream or an http(s):// snapshot URL."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import httpx
import numpy as np

from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.sampling import Sample, SourceError, sample_container
from video.diagnosis.thresholds import Thresholds

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def redact(source: str) -> str:
    """The source with any password in its URL replaced, for logs and printed results."""
    return re.sub(r"(?<=://)([^:/@]+):[^@/]*@", r"\1:***@", source)


def source_kind(source: str) -> str:
    lower = source.lower()
    if lower.startswith(("rtsp://", "rtsps://")):
        return "rtsp stream"
    if lower.startswith(("http://", "https://")):
        return "snapshot URL"
    return "file"


def image_sample(image: np.ndarray, t: Thresholds, kind: str = "image") -> Sample:
    h, w = image.shape[:2]
    frame = AnalysedFrame.from_bgr(image, t.analysis_width)
    return Sample([frame], info={"codec": kind, "width": w, "height": h, "frames_decoded": 1})


def read_rtsp(url: str, t: Thresholds) -> Sample:
    # TCP: no UDP ports to open through firewalls, no lost packets. FFmpeg ≥ 5 calls the socket
    # timeout `timeout` (µs); older builds called it `stimeout`.
    micros = str(int(t.read_timeout_s * 1_000_000))
    options = {"rtsp_transport": "tcp", "timeout": micros, "stimeout": micros}
    return sample_container(url, "rtsp stream", t, options)


def read_snapshot(url: str, t: Thresholds) -> Sample:
    timeout = httpx.Timeout(t.read_timeout_s, connect=t.open_timeout_s)
    ctype = ""
    body = bytearray()
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=3) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise SourceError(f"the snapshot URL answered HTTP {response.status_code}")
            ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype in ("text/html", "application/xhtml+xml"):
                raise SourceError(
                    f"the snapshot URL returned an HTML page ({ctype}), not an image; "
                    "check the URL and the camera's login"
                )
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > t.snapshot_max_bytes:
                    mib = t.snapshot_max_bytes // (1024 * 1024)
                    raise SourceError(f"the snapshot is larger than {mib} MiB; refused")
    except httpx.TimeoutException:
        raise SourceError("the snapshot URL did not answer in time") from None
    except httpx.HTTPError as exc:
        reason = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)) or type(exc).__name__
        raise SourceError(f"cannot fetch the snapshot: {reason}") from None
    if body[:512].lstrip().lower().startswith((b"<!doctype html", b"<html")):
        raise SourceError("the snapshot URL returned an HTML page, not an image")
    image = cv2.imdecode(np.frombuffer(bytes(body), np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(f"the snapshot URL did not return a readable image ({ctype or 'no type'})")
    return image_sample(image, t, "snapshot")


def read_file(source: str, t: Thresholds) -> Sample:
    path = Path(source[len("file://") :] if source.startswith("file://") else source)
    if not path.exists():
        raise SourceError(f"no such file: {path}")
    if path.is_dir():
        raise SourceError(f"{path} is a directory, not a video file")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError(f"{path.name} is not a readable image")
        return image_sample(image, t)
    return sample_container(str(path), "file", t)


def read_source(source: str, t: Thresholds) -> Sample:
    kind = source_kind(source)
    if kind == "rtsp stream":
        return read_rtsp(source, t)
    if kind == "snapshot URL":
        return read_snapshot(source, t)
    return read_file(source, t)
