"""`govops video list|edit`: the catalogue as the CLI sees it (every camera), and hand edits."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gateway.cli.output import JsonOpt, console, emit, finite, table
from gateway.cli.video.common import actor, runtime
from govops.principal import SYSTEM
from video.catalogue.queries import CameraFilter, list_cameras


def list_(
    department: Annotated[str | None, typer.Option(help="Department code.")] = None,
    area: Annotated[str | None, typer.Option(help="Admin area code; includes everything under it.")] = None,
    status: Annotated[str | None, typer.Option(help="online, offline, faulty or unknown.")] = None,
    platform: Annotated[str | None, typer.Option(help="Only cameras shared to this platform.")] = None,
    key_place: Annotated[bool | None, typer.Option("--key-place/--not-key-place", help="Key public areas.")] = None,
    q: Annotated[str | None, typer.Option(help="Name contains.")] = None,
    after: Annotated[str | None, typer.Option(help="Keyset: the last ID of the previous page.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    json_out: JsonOpt = False,
) -> None:
    """Cameras in the catalogue."""
    rt = runtime()
    with rt.sessions() as s:
        f = CameraFilter(department, area, status, key_place, q, platform)
        rows = [c.as_dict() for c in list_cameras(s, SYSTEM, f, after, limit=limit)]
    emit(
        rows,
        json_out,
        lambda rs: table(
            "cameras",
            ["id", "name", "department", "area", "status"],
            [[r[k] for k in ("id", "name", "department", "area", "status")] for r in rs],
        ),
    )


def edit(
    camera: Annotated[str, typer.Argument(help="The camera's ID.")],
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    area: Annotated[str | None, typer.Option(help="Admin area (usually a grid); '' clears it.")] = None,
    group: Annotated[str | None, typer.Option(help="Virtual organisation (216); '' clears it.")] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude (WGS 84).", callback=finite)] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude (WGS 84).", callback=finite)] = None,
    install_address: Annotated[str | None, typer.Option(help="Where it is mounted (安装地址).")] = None,
    key_place: Annotated[bool | None, typer.Option("--key-place/--not-key-place", help="Key public area.")] = None,
    networked: Annotated[bool | None, typer.Option("--networked/--not-networked", help="联网.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Place or describe a camera (name, area, group, position, flags); audited."""
    from video.catalogue import edits

    given: dict[str, Any] = {
        "name": name,
        "area": area,
        "group": group,
        "lat": lat,
        "lon": lon,
        "install_address": install_address,
        "key_place": key_place,
        "networked": networked,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    rt = runtime()
    with rt.transaction() as s:
        detail = edits.update_camera(s, SYSTEM, camera, changes, actor=actor()).camera.detail_dict()
    emit(detail, json_out, lambda d: console.print(f"camera {d['id']} updated: {', '.join(changes)}"))
