"""`govops video …`: ONVIF discovery and onboarding, the catalogue, sharing, KPIs, diagnosis.

Every command has --json; long work shows a progress bar on a terminal. Exit 0 success, 1 the
operation failed (for onboard/probe: at least one device failed; the others were still done),
2 usage error. Camera passwords are read from an environment variable, a file or a prompt,
never from the command line (where `ps` would show them).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.output import console, emit, err_console, progress_bar, table
from gateway.runtime import Runtime
from govops.errors import ValidationFailed
from govops.principal import SYSTEM
from video.catalogue.queries import CameraFilter, list_cameras

app = typer.Typer(help="Sharp Eyes video network: ONVIF, catalogue, sharing, KPIs, diagnosis.", no_args_is_help=True)
share_app = typer.Typer(help='"1+2+X" sharing: platforms and share grants.', no_args_is_help=True)
group_app = typer.Typer(help="Business groups (215) and virtual organisations (216).", no_args_is_help=True)
app.add_typer(share_app, name="share")
app.add_typer(group_app, name="group")
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
PasswordEnv = Annotated[str, typer.Option(help="Environment variable holding the camera password.")]
PASSWORD_ENV = "GOVOPS_CAMERA_PASSWORD"  # noqa: S105 - the name of a variable, not a password
PasswordFile = Annotated[
    Path | None, typer.Option(help="File holding the camera password.", exists=True, dir_okay=False)
]


def _runtime() -> Runtime:
    rt = Runtime.build()
    rt.migrate()  # idempotent; the embedded default needs no separate step
    return rt


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _password(env: str, file: Path | None, user: str | None) -> str | None:
    if file is not None:
        return file.read_text().rstrip("\n")
    if os.environ.get(env):
        return os.environ[env]
    if user and sys.stdin.isatty():
        return getpass.getpass(f"password for {user}: ")
    return None


def _progress(total: int, label: str, enabled: bool) -> tuple[Callable[[Any], None], Any]:
    """A progress bar over device results (only on a terminal); returns (on_result, context)."""
    progress = progress_bar(label, enabled)
    task = progress.add_task(label, total=total, last="")

    def on_result(r: Any) -> None:
        mark = "[green]✓[/]" if r.ok else f"[red]✗ {r.error.kind}[/]"
        progress.update(task, advance=1, last=f"{r.target} {mark}")

    return on_result, progress


@app.command("list")
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
    rt = _runtime()
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


@app.command("discover")
def discover(
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            help="Hosts or ranges for a unicast probe: 10.1.2.7, 10.1.2.0/28, 10.1.2.10-40; "
            "UDP 3702 unless a port or port range is given: 127.0.0.1:40001-40003."
        ),
    ] = None,
    multicast: Annotated[bool, typer.Option(help="Also send a multicast probe (239.255.255.250).")] = False,
    interface: Annotated[str | None, typer.Option(help="Local IPv4 address to probe from.")] = None,
    timeout: Annotated[float, typer.Option(min=0.1, max=60, help="Seconds to listen for answers.")] = 2.0,
    json_out: JsonOpt = False,
) -> None:
    """WS-Discovery: find ONVIF devices (unicast to hosts/ranges, and/or multicast)."""
    from video.catalogue import control

    if not targets and not multicast:
        raise ValidationFailed(
            "give hosts/ranges to probe, or --multicast", hint="e.g. govops video discover 10.1.2.0/28 --multicast"
        )
    with console.status(f"probing for {timeout:g} s…") if not json_out and console.is_terminal else nullcontext():
        found = control.discover(targets or [], multicast=multicast, interface=interface, timeout_s=timeout)
    emit(
        found,
        json_out,
        lambda d: (
            table(
                f"ONVIF devices ({len(d['devices'])} found, {d['probed']} probed)",
                ["xaddr", "name", "hardware", "responder"],
                [[", ".join(x["xaddrs"]), x["name"], x["hardware"], x["responder"]] for x in d["devices"]],
            ),
            [err_console.print(f"[yellow]rejected[/] {r['responder']}: {r['reason']}") for r in d["rejected"]],
        ),
    )


def _onboard_targets(
    targets: list[str] | None, discover_ranges: list[str] | None, multicast: bool, interface: str | None
) -> tuple[list[str], dict[str, str]]:
    """Addresses to onboard, and the names discovery found for them (its `name` scope)."""
    from video.catalogue import control

    out = list(targets or [])
    names: dict[str, str] = {}
    if discover_ranges or multicast:
        found = control.discover(discover_ranges or [], multicast=multicast, interface=interface, timeout_s=2.0)
        for d in found["devices"]:
            out.append(d["xaddrs"][0])
            if d.get("name"):
                names[d["xaddrs"][0]] = d["name"]
    if not out:
        raise ValidationFailed("no device to work on", hint="give addresses, or --discover RANGE / --multicast")
    return list(dict.fromkeys(out)), names


@app.command("onboard")
def onboard(
    targets: Annotated[list[str] | None, typer.Argument(help="host:port or device service URLs.")] = None,
    department: Annotated[str, typer.Option(help="Owner department code.")] = ...,  # type: ignore[assignment]
    user: Annotated[str | None, typer.Option(help="ONVIF user (WS-Security).")] = None,
    password_env: PasswordEnv = PASSWORD_ENV,
    password_file: PasswordFile = None,
    area: Annotated[str | None, typer.Option(help="Admin area (usually a grid) of the cameras.")] = None,
    group: Annotated[str | None, typer.Option(help="Virtual organisation (216) for the cameras.")] = None,
    key_place: Annotated[bool, typer.Option(help="The cameras watch a key public area.")] = False,
    discover_range: Annotated[
        list[str] | None, typer.Option("--discover", help="Probe this host/range first and onboard what answers.")
    ] = None,
    multicast: Annotated[bool, typer.Option(help="Multicast probe first and onboard what answers.")] = False,
    interface: Annotated[str | None, typer.Option(help="Local IPv4 address to probe from.")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, max=512, help="Devices at a time.")] = None,
    timeout: Annotated[float | None, typer.Option(min=0.5, max=600, help="Seconds per device.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Onboard ONVIF devices into the catalogue; a failing device says why, the others go on.

    Order: xaddrs → capabilities → clock → device info → profiles → stream URIs → snapshot
    URI → PTZ → events. Identified by MAC, else serial; the password is stored encrypted.
    """
    from video.catalogue import control
    from video.catalogue.registry import Placement

    rt = _runtime()
    addresses, names = _onboard_targets(targets, discover_range, multicast, interface)
    password = _password(password_env, password_file, user)
    on_result, ctx = _progress(len(addresses), "onboarding", not json_out)
    with rt.transaction() as s, ctx:
        report = control.onboard(
            s,
            addresses,
            user=user,
            password=password,
            placement=Placement(department=department, area=area, group=group, key_place=key_place),
            box=rt.box,
            settings=rt.video,
            actor=_actor(),
            concurrency=concurrency,
            device_timeout_s=timeout,
            on_result=on_result,
            names=names,
        )
    _emit_device_results(report, json_out, "onboarded")
    if report["failed"]:
        raise typer.Exit(1)


def _emit_device_results(report: dict[str, Any], json_out: bool, verb: str) -> None:
    if json_out:
        for r in report["results"]:
            sys.stdout.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
        return
    rows = []
    for r in report["results"]:
        err = r.get("error") or {}
        what = r.get("camera") or ""
        if r["ok"]:
            detail = f"{r.get('action', 'ok')}" + (f" ({len(r['warnings'])} warnings)" if r.get("warnings") else "")
        else:
            detail = f"{err.get('kind')} at {err.get('step')}: {err.get('message')}"
        rows.append([r["target"], "✓" if r["ok"] else "✗", what, detail])
    done = report.get("onboarded", report.get("online", 0))
    table(f"{done} of {report.get('total', report.get('probed', 0))} {verb}", ["target", "", "camera", "result"], rows)


@app.command("probe")
def probe(
    targets: Annotated[list[str] | None, typer.Argument(help="host:port or device service URLs.")] = None,
    user: Annotated[str | None, typer.Option(help="ONVIF user (WS-Security).")] = None,
    password_env: PasswordEnv = PASSWORD_ENV,
    password_file: PasswordFile = None,
    catalogue: Annotated[
        bool, typer.Option("--catalogue", help="Probe every ONVIF camera in the catalogue and refresh its status.")
    ] = False,
    timeout: Annotated[float | None, typer.Option(min=0.5, max=600, help="Seconds per device.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Ask devices what they offer, without adding them (or --catalogue: refresh status).

    Shows profiles, stream and snapshot URIs, PTZ and events. With --catalogue, every ONVIF
    camera in the catalogue is checked and its online status updated.
    """
    from video.catalogue import control

    rt = _runtime()
    if catalogue:
        with rt.transaction() as s:
            from sqlalchemy import func, select

            from video.catalogue.models import Camera

            n = s.scalar(select(func.count()).where(Camera.onvif_address.is_not(None))) or 0
            on_result, ctx = _progress(n, "probing", not json_out)
            with ctx:
                report = control.probe_catalogue(s, rt.box, rt.video, on_result=on_result)
        _emit_device_results(report, json_out, "answered")
        if report["online"] < report["probed"]:
            raise typer.Exit(1)
        return
    if not targets:
        raise ValidationFailed("give device addresses, or --catalogue")
    password = _password(password_env, password_file, user)
    on_result, ctx = _progress(len(targets), "probing", not json_out)
    with ctx:
        results = control.inspect(targets, user, password, rt.video, device_timeout_s=timeout, on_result=on_result)
    if json_out:
        for r in results:
            sys.stdout.write(json.dumps(r.as_dict(), ensure_ascii=False, default=str) + "\n")
    else:
        for r in results:
            if r.facts is None:
                err_console.print(f"[red]✗[/] {r.target}: {r.error.kind} at {r.error.step}: {r.error.message}")
                continue
            f = r.facts
            console.print(
                f"[green]✓[/] {r.target}: {f.manufacturer} {f.model} fw {f.firmware} "
                f"({f.identity}), clock skew {f.clock_skew_s} s, "
                f"capabilities: {', '.join(k for k, v in f.capabilities.items() if v) or 'none'}"
            )
            table(
                "profiles",
                ["token", "encoding", "size", "stream URI", "snapshot URI", "PTZ"],
                [
                    [p.token, p.encoding, f"{p.width}x{p.height}", p.stream_uri, p.snapshot_uri, "yes" if p.ptz else ""]
                    for p in f.profiles
                ],
            )
            for w in f.warnings:
                err_console.print(f"  [yellow]warning[/] {w}")
    if any(not r.ok for r in results):
        raise typer.Exit(1)


# --- sharing ----------------------------------------------------------------------------------


@share_app.command("platforms")
def share_platforms(json_out: JsonOpt = False) -> None:
    """The platforms: the district master (1), 综治 and 公安 (2), and X others."""
    from video.catalogue import sharing

    rt = _runtime()
    with rt.sessions() as s:
        rows = [p.as_dict() for p in sharing.platforms(s)]
    emit(
        rows,
        json_out,
        lambda rs: table(
            "platforms",
            ["code", "name", "kind", "parent"],
            [[r["code"], r["name"], r["kind"], r["parent"]] for r in rs],
        ),
    )


@share_app.command("platform-add")
def share_platform_add(
    code: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Argument()],
    kind: Annotated[str, typer.Option(help="master, sub or x.")] = "x",
    parent: Annotated[str | None, typer.Option(help="Parent platform (default: the master).")] = None,
    gb_id: Annotated[str | None, typer.Option(help="The platform's GB/T 28181 code (type 200).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Add or change a platform (e.g. an X platform: 环保, 应急)."""
    from video.catalogue import sharing

    rt = _runtime()
    with rt.transaction() as s:
        p = sharing.save_platform(
            s, code=code, name=name, kind=kind, parent_code=parent, gb_id=gb_id, actor=_actor()
        ).as_dict()
    emit(p, json_out, lambda d: console.print(f"platform {d['code']} ({d['kind']}) saved"))


def _expiry(expires: str | None, days: int | None) -> datetime | None:
    if days is not None:
        return datetime.now(UTC) + timedelta(days=days)
    if expires:
        try:
            d = datetime.fromisoformat(expires)
        except ValueError:
            raise ValidationFailed(f"--expires {expires!r} is not an ISO date (2027-01-31)") from None
        return d if d.tzinfo else d.replace(tzinfo=UTC)
    return None


@share_app.command("grant")
def share_grant(
    platform: Annotated[str, typer.Option(help="Platform code, e.g. zongzhi or gongan.")],
    reason: Annotated[str, typer.Option(help="Why (who asked, for what).")],
    camera: Annotated[str | None, typer.Option(help="A camera ID.")] = None,
    group: Annotated[str | None, typer.Option(help="A group ID (with its subtree).")] = None,
    area: Annotated[str | None, typer.Option(help="An admin area (with everything under it).")] = None,
    expires: Annotated[str | None, typer.Option(help="Expiry date/time, ISO 8601.")] = None,
    days: Annotated[int | None, typer.Option(min=1, max=3650, help="Expire after this many days.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Share a camera, a group or an area to a platform."""
    from video.catalogue import sharing

    subjects = [(k, v) for k, v in (("camera", camera), ("group", group), ("area", area)) if v]
    if len(subjects) != 1:
        raise ValidationFailed("give exactly one of --camera, --group, --area")
    rt = _runtime()
    with rt.transaction() as s:
        g = sharing.grant(
            s,
            platform=platform,
            subject_kind=subjects[0][0],
            subject_id=subjects[0][1],
            reason=reason,
            actor=_actor(),
            expires_at=_expiry(expires, days),
        ).as_dict()
    emit(
        g,
        json_out,
        lambda d: console.print(
            f"grant {d['id']}: {d['subject_kind']} {d['subject_id']} → {d['platform']}"
            + (f" until {d['expires_at']}" if d["expires_at"] else "")
        ),
    )


@share_app.command("revoke")
def share_revoke(
    grant_id: Annotated[int, typer.Argument(help="The grant's ID (see `share list`).")],
    reason: Annotated[str, typer.Option(help="Why it is revoked.")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke a share grant (it stays in the history, and in the audit log)."""
    from video.catalogue import sharing

    rt = _runtime()
    with rt.transaction() as s:
        g = sharing.revoke(s, grant_id, reason=reason, actor=_actor()).as_dict()
    emit(g, json_out, lambda d: console.print(f"grant {d['id']} revoked"))


@share_app.command("list")
def share_list(
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include revoked and expired grants.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Share grants in force (or all of them)."""
    from video.catalogue import sharing

    rt = _runtime()
    with rt.sessions() as s:
        rows = [g.as_dict() for g in sharing.list_grants(s, platform=platform, include_inactive=all_)]
    columns = ["id", "platform", "subject", "reason", "expires", "revoked"]
    emit(
        rows,
        json_out,
        lambda rs: table(
            "share grants",
            columns,
            [
                [
                    r["id"],
                    r["platform"],
                    f"{r['subject_kind']}:{r['subject_id']}",
                    r["reason"],
                    r["expires_at"],
                    r["revoked_at"],
                ]
                for r in rs
            ],
        ),
    )


# --- groups ------------------------------------------------------------------------------------


@group_app.command("add")
def group_add(
    group_id: Annotated[str, typer.Argument(help="20-digit code with type 215 or 216.")],
    name: Annotated[str, typer.Argument()],
    parent: Annotated[str | None, typer.Option(help="Parent group (216 only).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Add or move a business group (215) or virtual organisation (216)."""
    from video.catalogue import tree

    rt = _runtime()
    with rt.transaction() as s:
        g = tree.save_group(s, group_id=group_id, name=name, parent_id=parent, actor=_actor()).as_dict()
    emit(g, json_out, lambda d: console.print(f"group {d['id']} saved"))


@group_app.command("list")
def group_list(json_out: JsonOpt = False) -> None:
    from sqlalchemy import select

    from video.catalogue.models import CatalogueGroup

    rt = _runtime()
    with rt.sessions() as s:
        rows = [g.as_dict() for g in s.scalars(select(CatalogueGroup).order_by(CatalogueGroup.id))]
    emit(
        rows,
        json_out,
        lambda rs: table(
            "groups", ["id", "name", "type", "parent"], [[r["id"], r["name"], r["type"], r["parent"]] for r in rs]
        ),
    )


# --- import / export / KPIs --------------------------------------------------------------------


@app.command("export")
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
    rt = _runtime()
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
        out = output.open("wb") if output else sys.stdout.buffer
        try:
            for chunk in chunks:
                data = chunk.encode() if isinstance(chunk, str) else chunk
                size += len(data)
                out.write(data)
        finally:
            if output:
                out.close()
            else:
                out.flush()
    if output:
        emit(
            {"format": fmt, "output": str(output), "bytes": size},
            json_out,
            lambda d: err_console.print(f"wrote {d['bytes']} bytes to {d['output']}"),
        )


@app.command("import")
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
    rt = _runtime()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(f"{path} is not UTF-8", hint="save it as UTF-8 (not GBK)") from None
    with rt.transaction() as s:
        if fmt == "areas":
            report = catalogue_io.import_areas(s, _load_json(text), actor=_actor(), source=str(path), dry_run=dry_run)
        else:
            rows = catalogue_io.read_csv(text) if fmt == "csv" else catalogue_io.read_geojson_cameras(_load_json(text))
            report = catalogue_io.import_cameras(
                s, rows, actor=_actor(), source=str(path), dry_run=dry_run, skip_invalid=skip_invalid
            )
    emit(
        report.as_dict(),
        json_out,
        lambda d: (
            console.print(
                f"{d['rows']} rows: {d['created']} created, {d['updated']} updated, "
                f"{d['skipped']} skipped" + (" (dry run)" if d["dry_run"] else "")
            ),
            [err_console.print(f"[red]row {e['row']}[/] {e['field']}: {e['message']}") for e in d["errors"][:50]],
        ),
    )
    if report.errors and not (skip_invalid and report.written):
        raise typer.Exit(1)


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"not JSON: {exc}") from None


@app.command("kpi")
def kpi(
    by: Annotated[str, typer.Option(help="area or platform.")] = "area",
    level: Annotated[str | None, typer.Option(help="street, community or grid (for --by area).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """在线率, 完好率, 联网率, key-place coverage and density against their targets."""
    from video.coverage import Coverage

    if by not in ("area", "platform"):
        raise ValidationFailed("--by must be area or platform")
    rt = _runtime()
    with rt.sessions() as s:
        cov = Coverage(s, rt.video)
        items = cov.by_platform() if by == "platform" else cov.by_area(level)
        data = {"targets": cov.targets(), "items": [k.as_dict() for k in items]}

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:.1%}"

    emit(
        data,
        json_out,
        lambda d: table(
            f"KPIs by {by}",
            ["key", "name", "cameras", "在线率", "完好率(重点)", "完好率(其他)", "联网率", "重点覆盖", "密度/km²"],
            [
                [
                    k["key"],
                    k["name"],
                    k["cameras"],
                    pct(k["online_rate"]),
                    pct(k["intact_rate_key_place"]),
                    pct(k["intact_rate_other"]),
                    pct(k["networking_rate"]),
                    pct(k["key_place_coverage"]),
                    "—" if k["density_per_km2"] is None else f"{k['density_per_km2']:.2f}",
                ]
                for k in d["items"]
            ],
        ),
    )


@app.command("diagnose")
def diagnose(
    sources: Annotated[list[str], typer.Argument(help="File paths, rtsp:// URLs or http(s):// snapshot URLs.")],
    reference: Annotated[str | None, typer.Option(help="Reference image for scene_change.")] = None,
    camera: Annotated[str | None, typer.Option(help="Judge with this camera's baselines and thresholds.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Video quality diagnosis (视频质量诊断): one result per SOURCE."""
    from gateway.cli.diagnosis import run_diagnose

    run_diagnose(sources, reference, json_out, camera)
