"""`govops video export|import`: the catalogue as CSV, GeoJSON or GB/T 28181 Catalog XML."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from gateway.cli.output import JsonOpt, console, emit, err_console, written
from gateway.cli.video.common import actor, runtime
from govops.errors import ValidationFailed
from govops.inputs import read_text
from govops.principal import SYSTEM
from video.catalogue.queries import CameraFilter


def export(
    fmt: Annotated[
        str, typer.Option("--format", help="csv, geojson, gb28181 (Catalog XML) or areas (GeoJSON).")
    ] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default stdout).")] = None,
    platform: Annotated[str | None, typer.Option(help="Only what is shared to this platform.")] = None,
    area: Annotated[str | None, typer.Option(help="Only this admin area (and under it).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Export the catalogue."""
    from video.catalogue import io as catalogue_io

    if fmt not in ("csv", "geojson", "gb28181", "areas"):
        raise ValidationFailed("--format must be csv, geojson, gb28181 or areas")
    rt = runtime()
    f = CameraFilter(area=area, platform=platform)
    with rt.sessions() as s:
        chunks: Iterator[str | bytes]
        if fmt == "csv":
            chunks = catalogue_io.export_csv(s, SYSTEM, f)
        elif fmt == "geojson":
            chunks = catalogue_io.export_geojson(s, SYSTEM, f)
        elif fmt == "areas":
            chunks = iter([json.dumps(catalogue_io.export_areas(s), ensure_ascii=False)])
        else:
            chunks = iter([catalogue_io.export_catalog_xml(s, SYSTEM, rt.video, platform=platform)])
        size = 0
        with written(output, "wb") if output else nullcontext(sys.stdout.buffer) as out:
            for chunk in chunks:
                data = chunk.encode() if isinstance(chunk, str) else chunk
                size += len(data)
                out.write(data)
            out.flush()
    if output:
        emit(
            {"format": fmt, "output": str(output), "bytes": size},
            json_out,
            lambda d: err_console.print(f"wrote {d['bytes']} bytes to {d['output']}"),
        )


def import_(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or GeoJSON file.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, geojson (cameras) or areas (GeoJSON admin areas); default from the name."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Validate only.")] = False,
    skip_invalid: Annotated[bool, typer.Option(help="Write the valid rows even if some are not.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Import cameras (CSV, GeoJSON points) or admin areas (GeoJSON polygons).

    Every row is checked (GB/T 28181 code, department, area, position); nothing is written
    unless all pass (or --skip-invalid).
    """
    from video.catalogue import io as catalogue_io

    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "geojson")
    if fmt not in ("csv", "geojson", "areas"):
        raise ValidationFailed("--format must be csv, geojson or areas")
    rt = runtime()
    with rt.transaction() as s:
        if fmt == "csv":  # streamed: a huge broken file fails early with bounded memory
            with _open_text(path) as f:
                report = catalogue_io.import_cameras(
                    s,
                    catalogue_io.read_csv(f),
                    actor=actor(),
                    source=str(path),
                    dry_run=dry_run,
                    skip_invalid=skip_invalid,
                )
        else:
            doc = catalogue_io.load_json(read_text(path, "an import file"))
            if fmt == "areas":
                report = catalogue_io.import_areas(s, doc, actor=actor(), source=str(path), dry_run=dry_run)
            else:
                report = catalogue_io.import_cameras(
                    s,
                    catalogue_io.read_geojson_cameras(doc),
                    actor=actor(),
                    source=str(path),
                    dry_run=dry_run,
                    skip_invalid=skip_invalid,
                )
    emit(report.as_dict(), json_out, _print_report)
    if report.errors and not (skip_invalid and report.written):
        raise typer.Exit(1)


def _open_text(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}: {exc.strerror or exc}", hint="check the path") from None


def _print_report(d: dict[str, Any]) -> None:
    console.print(
        f"{d['rows']} rows: {d['created']} created, {d['updated']} updated, "
        f"{d['skipped']} skipped" + (" (dry run)" if d["dry_run"] else "")
    )
    for e in d["errors"][:50]:
        err_console.print(f"[red]row {e['row']}[/] {e['field']}: {e['message']}")
