"""The one snapshot fetcher: redirects only on the URL's own origin (#11, #15 item 7)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from video.fetcher import FetchError, SnapshotFetcher

JPEG = b"\xff\xd8\xff\xe0 a picture"


def _server(routes: dict[str, tuple[int, dict[str, str], bytes]]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = routes.get(self.path, (404, {}, b"no"))
            self.send_response(status)
            for k, v in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(k, v.format(port=self.server.server_address[1]))
            self.end_headers()
            self.wfile.write(body)
            self.server.hits.append(self.path)  # type: ignore[attr-defined]

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.hits = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers() -> Iterator[tuple[ThreadingHTTPServer, ThreadingHTTPServer]]:
    other = _server({"/snap.jpg": (200, {"Content-Type": "image/jpeg"}, JPEG)})
    camera = _server(
        {
            "/snap.jpg": (200, {"Content-Type": "image/jpeg"}, JPEG),
            "/moved.jpg": (302, {"Location": "/snap.jpg"}, b""),
            "/away.jpg": (307, {"Location": f"http://127.0.0.1:{other.server_address[1]}/snap.jpg"}, b""),
            "/loop.jpg": (302, {"Location": "/loop.jpg"}, b""),
            "/login.jpg": (200, {"Content-Type": "text/html"}, b"<html>login</html>"),
        }
    )
    yield camera, other
    for s in (camera, other):
        s.shutdown()
        s.server_close()


def test_redirects_stay_on_the_cameras_own_origin(servers):
    camera, other = servers
    base = f"http://127.0.0.1:{camera.server_address[1]}"
    fetcher = SnapshotFetcher(timeout_s=5)
    assert fetcher.get(f"{base}/moved.jpg").body == JPEG
    with pytest.raises(FetchError, match="another host; not followed"):
        fetcher.get(f"{base}/away.jpg")
    assert other.hits == []  # nothing reached the other host
    with pytest.raises(FetchError, match="more than 3 times"):
        fetcher.get(f"{base}/loop.jpg")
    with pytest.raises(FetchError, match="HTML page"):
        fetcher.get(f"{base}/login.jpg")
    with pytest.raises(FetchError, match="HTTP 404"):
        fetcher.get(f"{base}/nothing.jpg")
