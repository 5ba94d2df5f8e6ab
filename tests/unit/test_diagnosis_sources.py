"""Bad and odd inputs: every one gives a clear per-source error and signal_loss, never a raise."""

from __future__ import annotations

import http.server
import json
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import av
import cv2
import numpy as np
import pytest

from govops.errors import ValidationFailed
from tests.support.synthetic import ClipSpec, condition_frames, write_condition_clip
from video import pictures
from video.diagnosis import CameraSettings, Thresholds, diagnose_source, load_reference, thresholds_for
from video.diagnosis.sampling import _picture

FAST = Thresholds(open_timeout_s=1.0, read_timeout_s=1.0)


def assert_lost(result, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert result.codes == ["signal_loss"]
    assert result.error
    for fragment in fragments:
        assert fragment in result.error, result.error
    body = result.as_dict()
    assert body["faults"] == [{"code": "signal_loss", "score": 1.0}]
    assert body["error"] == result.error


@pytest.fixture(scope="module")
def healthy_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = ClipSpec("healthy", "crossroad", seconds=1.0)
    return write_condition_clip(tmp_path_factory.mktemp("clips") / "healthy.mp4", spec)


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, str, bytes]]] = {}

    def do_GET(self) -> None:
        status, ctype, body = self.routes.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    picture = next(iter(condition_frames(ClipSpec("healthy", "gate"))))
    ok, jpeg = cv2.imencode(".jpg", picture)
    assert ok
    _Handler.routes = {
        "/snapshot.jpg": (200, "image/jpeg", jpeg.tobytes()),
        "/login.html": (
            200,
            "text/html; charset=utf-8",
            b"<!DOCTYPE html><html><body><form>login</form></body></html>",
        ),
        "/untyped": (200, "application/octet-stream", b"<html><body>camera</body></html>"),
        "/big.jpg": (200, "image/jpeg", b"\xff" * (2 * 1024 * 1024)),
        "/garbage.jpg": (200, "image/jpeg", b"not really a jpeg"),
        "/bomb.png": (200, "image/png", png_claiming(30000, 30000)),
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture()
def silent_rtsp() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"rtsp://127.0.0.1:{listener.getsockname()[1]}/stream1"
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    listener.close()


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims `width` x `height` pixels (a decompression bomb's header,
    without its pixels: the guard must refuse it from the header alone)."""
    ok, buf = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    assert ok
    data = bytearray(buf.tobytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_missing_file(tmp_path: Path) -> None:
    assert_lost(diagnose_source(str(tmp_path / "nope.mp4"), CameraSettings(FAST)), "no such file")


@pytest.mark.parametrize("source", ["ftp://cam.local/live.mp4", "rstp://127.0.0.1:554/ch1", "onvif://127.0.0.1"])
def test_a_url_of_another_scheme_says_which_sources_there_are(source: str) -> None:
    assert_lost(diagnose_source(source, CameraSettings(FAST)), "is no source to read: give a file path, an rtsp://")


def test_directory_is_not_a_video(tmp_path: Path) -> None:
    assert_lost(diagnose_source(str(tmp_path), CameraSettings(FAST)), "directory")


def test_an_empty_source_says_what_a_source_is() -> None:
    assert_lost(diagnose_source("", CameraSettings(FAST)), "an empty source: give a file path")
    assert_lost(diagnose_source("  ", CameraSettings(FAST)), "an empty source: give a file path")


def test_a_netpbm_picture_is_an_image_and_its_header_is_checked(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.ppm"
    bomb.write_bytes(b"P6\n99999 99999\n255\n")  # a header claiming 10 gigapixels, no pixels
    assert_lost(diagnose_source(str(bomb), CameraSettings(FAST)), "bomb.ppm: the picture has more than 67 megapixels")


def test_non_video_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("minutes of the camera network meeting\n" * 50)
    assert_lost(diagnose_source(str(path), CameraSettings(FAST)), "not a video file")


def test_truncated_file(tmp_path: Path, healthy_clip: Path) -> None:
    data = healthy_clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])  # the moov box at the end is gone
    result = diagnose_source(str(cut), CameraSettings(FAST))
    assert_lost(result, "truncated")


def test_truncated_stream_without_index_still_judged_or_lost(tmp_path: Path) -> None:
    """An MPEG-TS cut mid-way has no index to lose: what decodes is judged, the rest ignored."""
    spec = ClipSpec("healthy", "road", seconds=1.0)
    ts = write_condition_clip(tmp_path / "clip.ts", spec)
    cut = tmp_path / "cut.ts"
    cut.write_bytes(ts.read_bytes()[: ts.stat().st_size // 2])
    result = diagnose_source(str(cut), CameraSettings(FAST))
    assert result.codes in ([], ["signal_loss"])
    assert result.error is None or "file" in result.error


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    assert_lost(diagnose_source(str(path), CameraSettings(FAST)))


def test_unreadable_image_file(tmp_path: Path) -> None:
    path = tmp_path / "cam.jpg"
    path.write_bytes(b"\x00" * 100)
    assert_lost(diagnose_source(str(path), CameraSettings(FAST)), "not a readable image")


def test_a_damaged_picture_is_reported_once_without_opencvs_own_complaint(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cam.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)  # a PNG signature, no header after it
    assert_lost(diagnose_source(str(path), CameraSettings(FAST)), "not a readable image")
    assert pictures.decode(path.read_bytes()) is None
    assert capfd.readouterr().err == ""


def test_image_file_is_judged(tmp_path: Path) -> None:
    path = tmp_path / "cam.png"
    cv2.imwrite(str(path), next(iter(condition_frames(ClipSpec("healthy", "plaza")))))
    result = diagnose_source(str(path), CameraSettings(FAST))
    assert result.error is None and result.codes == []
    assert result.metrics["freeze_diff"] is None  # one picture: freeze cannot be judged


def test_snapshot_url(web: str) -> None:
    result = diagnose_source(f"{web}/snapshot.jpg", CameraSettings(FAST))
    assert result.error is None
    assert result.codes == []
    assert result.metrics["codec"] == "snapshot"


def test_html_page_at_snapshot_url(web: str) -> None:
    assert_lost(diagnose_source(f"{web}/login.html", CameraSettings(FAST)), "HTML page")


def test_html_page_with_a_wrong_content_type(web: str) -> None:
    assert_lost(diagnose_source(f"{web}/untyped", CameraSettings(FAST)), "HTML page")


def test_snapshot_http_error(web: str) -> None:
    assert_lost(diagnose_source(f"{web}/missing.jpg", CameraSettings(FAST)), "HTTP 404")


def test_snapshot_size_cap(web: str) -> None:
    capped = thresholds_for({"snapshot_max_bytes": 1024 * 1024}, FAST)
    assert_lost(diagnose_source(f"{web}/big.jpg", CameraSettings(capped)), "larger than")


def test_snapshot_not_an_image(web: str) -> None:
    assert_lost(diagnose_source(f"{web}/garbage.jpg", CameraSettings(FAST)), "readable image")


def test_a_picture_larger_than_any_cameras_is_refused_before_it_is_decoded(web: str, tmp_path: Path) -> None:
    """A plain PNG of 30000 x 30000 pixels fits in a snapshot of a few megabytes and would decode
    to 2.7 GB: its header is read first, and the picture refused."""
    assert_lost(diagnose_source(f"{web}/bomb.png", CameraSettings(FAST)), "no camera picture")
    large = tmp_path / "large.png"
    large.write_bytes(png_claiming(9000, 9000))  # under Pillow's own limit, over ours
    result = diagnose_source(str(large), CameraSettings(FAST))
    assert_lost(result, "9000×9000 pixels, larger than any camera's")
    with pytest.raises(pictures.PictureTooLarge):
        pictures.decode(png_claiming(30000, 30000))
    _, small = cv2.imencode(".png", np.full((48, 64, 3), 90, np.uint8))
    picture = pictures.decode(small.tobytes())
    assert picture is not None and picture.shape == (48, 64, 3)


def test_snapshot_nobody_listening() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert_lost(diagnose_source(f"http://127.0.0.1:{port}/snap.jpg", CameraSettings(FAST)), "snapshot")


def test_rtsp_that_never_answers(silent_rtsp: str) -> None:
    result = diagnose_source(silent_rtsp, CameraSettings(FAST))
    assert_lost(result, "rtsp stream did not answer")
    assert result.elapsed_ms < 30_000  # bounded by the timeouts, not hanging


def test_password_in_the_url_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with caplog.at_level("INFO", logger="video.diagnosis"):
        result = diagnose_source(f"rtsp://admin:s3cret@127.0.0.1:{port}/live", CameraSettings(FAST))
    assert result.source == f"rtsp://admin:***@127.0.0.1:{port}/live"
    assert "s3cret" not in json.dumps(result.as_dict()) + caplog.text


def test_rtsp_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert_lost(diagnose_source(f"rtsp://127.0.0.1:{port}/live", CameraSettings(FAST)), "rtsp stream")


def test_unreadable_reference_is_the_callers_mistake(tmp_path: Path, healthy_clip: Path) -> None:
    with pytest.raises(ValidationFailed, match="reference picture"):
        load_reference(str(tmp_path / "missing.jpg"), FAST)


def test_reference_from_a_clip(healthy_clip: Path) -> None:
    result = diagnose_source(str(healthy_clip), CameraSettings(FAST, load_reference(str(healthy_clip), FAST)))
    assert result.codes == []
    assert result.metrics["reference_similarity"] > 0.9


def test_frame_is_kept_for_thumbnails(healthy_clip: Path) -> None:
    result = diagnose_source(str(healthy_clip), CameraSettings(FAST))
    assert isinstance(result.frame, np.ndarray)
    assert result.frame.shape == (360, 640, 3)
    assert result.metrics["frames_decoded"] >= FAST.window_frames


def test_later_keyframes_are_judged_too(tmp_path: Path) -> None:
    """With `keyframes=2` the decoder skips to the next keyframe (skip_frame NONKEY) and the
    per-picture scores are the median over both."""
    clip = write_condition_clip(tmp_path / "long.mp4", ClipSpec("healthy", "gate", seconds=2.5))
    one = diagnose_source(str(clip), CameraSettings(FAST))
    two = diagnose_source(str(clip), CameraSettings(thresholds_for({"keyframes": 2}, FAST)))
    assert one.metrics["keyframes"] == 1 and two.metrics["keyframes"] == 2
    # 30 frames in the clip; the 17 between the window and the second keyframe are skipped.
    assert two.metrics["frames_decoded"] < 15
    assert two.codes == [] and two.error is None


def test_a_stream_picture_is_decoded_to_its_colours() -> None:
    """A 720p 4:2:0 picture of known colours (BT.601, limited range, as H.264 carries it) reaches
    the analysis size with its colours: swscale's default conversion read the chroma a pixel
    pair at a time and was off by 3.9 grey levels on average (green 1.6 low)."""
    rng = np.random.default_rng(0)
    h, w = 720, 1280
    bgr = (rng.uniform(0, 1, (h // 8, w // 8, 3)) * np.array([60, 120, 200]) + 20).astype(np.uint8)
    bgr = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_LINEAR)
    b, g, r = (bgr[..., i].astype(np.float64) for i in range(3))
    planes = (
        16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255,
        128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255,
        128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255,
    )
    frame = av.VideoFrame(w, h, "yuv420p")
    for i, (plane, value) in enumerate(zip(frame.planes, planes, strict=True)):
        if i:  # chroma: one sample per 2 x 2 pixels
            value = value.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        data = np.zeros((plane.height, plane.line_size), np.uint8)
        data[:, : value.shape[1]] = np.round(value).astype(np.uint8)
        plane.update(data.tobytes())
    picture = _picture(frame, Thresholds()).bgr.astype(np.float64)
    truth = cv2.resize(bgr, (picture.shape[1], picture.shape[0]), interpolation=cv2.INTER_AREA).astype(np.float64)
    assert float(np.abs(picture - truth).mean()) < 1.0
    assert np.all(np.abs((picture - truth).reshape(-1, 3).mean(axis=0)) < 0.5)
