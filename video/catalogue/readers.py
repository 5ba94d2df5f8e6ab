"""Reading an import file into rows: CSV and GeoJSON, with the careless file refused cleanly.

A reader yields one dict per row, or a `RowProblem` for a row it cannot turn into one (a list
where a text is expected, a LineString where a Point is): the importer reports that row with
its number and goes on, as it does for a row whose values are wrong. A file that is not what
it claims (not JSON, nested too deep, `"features"` not a list, a CSV field over the limit)
fails as a whole with a `ValidationFailed`, never with a parser's exception.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

from govops.errors import ValidationFailed
from govops.inputs import UTF8_HINT
from govops.spreadsheet import cell_in

CSV_COLUMNS = [
    "id",
    "name",
    "department",
    "area",
    "group",
    "lat",
    "lon",
    "key_place",
    "status",
    "networked",
    "install_address",
    "manufacturer",
    "model",
    "stream_url",
]
# The csv module's own default limit; said here so the message can name it.
MAX_FIELD_CHARS = 128 * 1024
_TRUE = {"1", "true", "yes", "y", "是", "t"}
_FALSE = {"0", "false", "no", "n", "否", "f", ""}


@dataclass(frozen=True)
class RowProblem:
    """A row the reader could not read; the importer reports it as that row's error."""

    field: str
    message: str


def read_csv(source: str | bytes | IO[str]) -> Iterator[dict[str, str]]:
    """Rows of a camera CSV, read as they come: from a text, the bytes of an upload, or an open
    text file (opened with `newline=""`). A file or bytes are never held as one decoded string,
    so memory stays bounded by a row, whatever the file's size."""
    stream: IO[str]
    if isinstance(source, bytes):
        stream = io.TextIOWrapper(io.BytesIO(source), encoding="utf-8-sig", newline="")
    elif isinstance(source, str):
        stream = io.StringIO(source.lstrip("\ufeff"))
    else:
        stream = source
    reader = csv.DictReader(stream)
    try:
        fieldnames = reader.fieldnames
        missing = {"id", "name", "department"} - set(fieldnames or [])
        if missing:
            raise ValidationFailed(
                f"the CSV lacks the columns {', '.join(sorted(missing))}", hint=f"columns are: {','.join(CSV_COLUMNS)}"
            )
        for row in reader:
            yield {k: cell_in(v) for k, v in row.items() if k and isinstance(v, str)}
    except csv.Error as exc:
        why = f"a field is over {MAX_FIELD_CHARS // 1024} KiB" if "field limit" in str(exc) else str(exc)
        raise ValidationFailed(f"the CSV cannot be read at line {reader.line_num}: {why}") from None
    except UnicodeDecodeError:
        raise ValidationFailed(f"the CSV is not UTF-8 (at line {reader.line_num + 1})", hint=UTF8_HINT) from None


def _point(geom: Any) -> tuple[Any, Any] | RowProblem | None:
    """(lon, lat) of a Point geometry; None when the feature has no geometry."""
    if geom is None:
        return None
    if not isinstance(geom, dict) or geom.get("type") != "Point":
        kind = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
        return RowProblem("geometry", f"a camera is a Point, not {str(kind)[:40]}")
    coords = geom.get("coordinates")
    if not isinstance(coords, list) or len(coords) not in (2, 3):
        return RowProblem("geometry", "a Point has [lon, lat] (or [lon, lat, height]) coordinates")
    if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords):
        return RowProblem("geometry", "the coordinates of a Point are numbers")
    return coords[0], coords[1]


def read_geojson_cameras(doc: Any) -> Iterator[dict[str, Any] | RowProblem]:
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ValidationFailed("the GeoJSON must be a FeatureCollection")
    features = doc.get("features")
    if features is None:
        features = []
    if not isinstance(features, list):
        raise ValidationFailed('the GeoJSON "features" must be a list of Features')
    for feature in features:
        if not isinstance(feature, dict) or not isinstance(feature.get("properties") or {}, dict):
            yield RowProblem("feature", "a feature is an object with an object of properties")
            continue
        props = dict(feature.get("properties") or {})
        bad = next((k for k, v in props.items() if isinstance(v, list | dict)), None)
        if bad is not None:
            yield RowProblem(str(bad)[:40], "must be a single value, not a list or an object")
            continue
        where = _point(feature.get("geometry"))
        if isinstance(where, RowProblem):
            yield where
            continue
        if where is not None:
            props.setdefault("lon", where[0])
            props.setdefault("lat", where[1])
        yield {k: cell_in(v) if isinstance(v, str) else v for k, v in props.items()}


def parse_bool(value: Any, fld: str) -> bool | None:
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower() if value is not None else ""
    if s in _TRUE:
        return True
    if s in _FALSE:
        return None if s == "" else False
    raise ValidationFailed(f"{fld} must be true/false (or 1/0, 是/否), not {value!r}")


def parse_float(value: Any, fld: str, lo: float, hi: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValidationFailed(f"{fld} must be a number, not {str(value)[:40]!r}") from None
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ValidationFailed(f"{fld} {v} is outside {lo:g}..{hi:g}")
    return round(v, 7)


def parse_text(value: Any, fld: str, limit: int, *, required: bool = False) -> str | None:
    """A text cell: at most `limit` characters, no control characters (a NUL would break the
    GB/T 28181 XML export, a newline the CSV one)."""
    text = str(value if value is not None else "").strip()
    if not text:
        if required:
            raise ValidationFailed(f"{fld} must be 1-{limit} characters")
        return None
    if len(text) > limit:
        raise ValidationFailed(f"{fld} is longer than {limit} characters")
    if any(not ch.isprintable() for ch in text):
        raise ValidationFailed(f"{fld} contains control characters (NUL, newline, …)")
    return text


def parse_stream_url(value: Any) -> str | None:
    s = str(value or "").strip()
    if not s:
        return None
    try:
        parts = urlsplit(s)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ValidationFailed(f"stream_url is not a URL: {s[:60]!r}") from None
    if parts.scheme not in ("rtsp", "rtsps", "http", "https") or not parts.hostname:
        raise ValidationFailed(f"stream_url must be an rtsp:// or http(s):// URL, not {s[:60]!r}")
    if "@" in parts.netloc:
        raise ValidationFailed(
            "stream_url must not carry a user:password@ (credentials are never imported; set them by onboarding)"
        )
    if any(not ch.isprintable() for ch in s):
        raise ValidationFailed("stream_url contains control characters")
    return s[:500]
