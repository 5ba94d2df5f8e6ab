"""Where pictures come from: a file, an rtsp:// stream or an http(s):// snapshot URL."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from video import pictures
from video.diagnosis.frame import AnalysedFrame
from video.diagnosis.sampling import Sample, SourceError, sample_container
from video.diagnosis.thresholds import Thresholds
from video.fetcher import FetchError, SnapshotFetcher

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


def redact(source: str) -> str:
    """The source with any password in its URL replaced, for logs and printed results."""
    return re.sub(r"(?<=://)([^:/@]+):[^@/]*@", r"\1:***@", source)


SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def source_kind(source: str) -> str:
    lower = source.lower()
    if lower.startswith(("rtsp://", "rtsps://")):
        return "rtsp stream"
    if lower.startswith(("http://", "https://")):
        return "snapshot URL"
    if SCHEME.match(source) and not lower.startswith("file://"):
        return "unsupported URL"  # a mistyped scheme, or a protocol cameras are not read over
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
    fetcher = SnapshotFetcher(
        max_bytes=t.snapshot_max_bytes, timeout_s=t.read_timeout_s, connect_timeout_s=t.open_timeout_s
    )
    try:
        fetched = fetcher.get(url)
    except FetchError as exc:
        raise SourceError(exc.message) from None
    try:
        image = pictures.decode(fetched.body)
    except pictures.PictureTooLarge as exc:
        raise SourceError(f"the snapshot URL returned no camera picture: {exc}") from None
    if image is None:
        raise SourceError(f"the snapshot URL did not return a readable image ({fetched.content_type or 'no type'})")
    return image_sample(image, t, "snapshot")


def read_file(source: str, t: Thresholds) -> Sample:
    if not source.strip():
        raise SourceError("an empty source: give a file path, an rtsp:// URL or an http(s):// snapshot URL")
    path = Path(source[len("file://") :] if source.startswith("file://") else source)
    if not path.exists():
        raise SourceError(f"no such file: {path}")
    if path.is_dir():
        raise SourceError(f"{path} is a directory, not a video file")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        try:
            image = pictures.read(path)
        except pictures.PictureTooLarge as exc:
            raise SourceError(f"{path.name}: {exc}") from None
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
    if kind == "unsupported URL":
        scheme = source.split("://", 1)[0]
        hint = "give a file path, an rtsp:// stream or an http(s):// snapshot URL"
        raise SourceError(f"{scheme}:// is no source to read: {hint}")
    return read_file(source, t)
