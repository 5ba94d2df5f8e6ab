"""One way to GET a picture from a camera over HTTP: the snapshot fetcher of the video room.

Used by the camera wall's snapshots, the patrol and `govops video diagnose` alike, with one
redirect policy: a redirect is followed only on the URL's own origin (scheme, host and port),
three times at most, and never to another host. A camera chooses its snapshot URL, so a
redirect elsewhere could make the platform fetch from any machine on its networks (server-side
request forgery), credentials included. A Digest or Basic challenge is answered in the scheme
the device asked for, never volunteered; the body is capped while it is read; a web page in
place of a picture (a login page) is named as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from govops.errors import ServiceUnavailable

MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


class FetchError(ServiceUnavailable):
    code = "snapshot_unavailable"


@dataclass(frozen=True)
class Fetched:
    body: bytes
    content_type: str


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port


@dataclass(frozen=True)
class SnapshotFetcher:
    max_bytes: int = 5 * 1024 * 1024
    timeout_s: float = 5.0
    connect_timeout_s: float | None = None

    def get(self, url: str, user: str | None = None, password: str | None = None) -> Fetched:
        """The picture's bytes; FetchError (a ServiceUnavailable) with a reason otherwise."""
        start = _origin(url)
        if start is None or start[0] not in ("http", "https"):
            raise FetchError("the snapshot URL is not an http(s) URL")
        timeout = httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s or self.timeout_s)
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False) as client:
                return self._get(client, url, start, user, password)
        except httpx.TimeoutException:
            raise FetchError("the snapshot URL did not answer in time") from None
        except httpx.HTTPError as exc:
            reason = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)) or type(exc).__name__
            raise FetchError(f"cannot fetch the snapshot: {reason}") from None

    def _get(
        self, client: httpx.Client, url: str, start: tuple[str, str, int], user: str | None, password: str | None
    ) -> Fetched:
        auth: httpx.Auth | None = None
        hops = 0
        while True:
            with client.stream("GET", url, auth=auth or httpx.USE_CLIENT_DEFAULT) as r:
                if r.status_code in _REDIRECTS:
                    location = r.headers.get("location", "")
                    target = urljoin(url, location)
                    if not location or _origin(target) != start:
                        where = _origin(target)
                        shown = f"{where[1]}:{where[2]}" if where else "an unusable address"
                        raise FetchError(f"the snapshot URL redirects to {shown}, another host; not followed")
                    hops += 1
                    if hops > MAX_REDIRECTS:
                        raise FetchError(f"the snapshot URL redirects more than {MAX_REDIRECTS} times; not followed")
                    url = target
                    continue
                if r.status_code == 401:
                    if auth is not None or not user:
                        raise FetchError("the snapshot URL refused the credentials (HTTP 401)")
                    # Answer in the scheme the device asked for; never volunteer Basic to a Digest one.
                    challenge = r.headers.get("www-authenticate", "")
                    auth = (
                        httpx.BasicAuth(user, password or "")
                        if challenge.lower().startswith("basic")
                        else httpx.DigestAuth(user, password or "")
                    )
                    continue
                if r.status_code >= 400:
                    raise FetchError(f"the snapshot URL answered HTTP {r.status_code}")
                ctype = r.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype in _HTML_TYPES:
                    raise FetchError(
                        f"the snapshot URL returned an HTML page ({ctype}), not an image; "
                        "check the URL and the camera's login"
                    )
                body = bytearray()
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        mib = self.max_bytes / (1024 * 1024)
                        raise FetchError(f"the snapshot is larger than {mib:g} MiB; refused")
            if body[:512].lstrip().lower().startswith((b"<!doctype html", b"<html")):
                raise FetchError("the snapshot URL returned an HTML page, not an image")
            return Fetched(bytes(body), ctype)
