"""`govops video discover|onboard|probe`: ONVIF devices, through the device service.

Exit 1 when at least one device failed (the others were still done). Camera passwords come from
an environment variable, a file or a prompt, never from the command line.
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from typing import Annotated, Any

import typer

from gateway.cli.output import JsonOpt, console, emit, err_console, finite, table
from gateway.cli.video.common import (
    PASSWORD_ENV,
    PasswordEnv,
    PasswordFile,
    actor,
    device_progress,
    password,
    runtime,
)
from govops.errors import ValidationFailed


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
    timeout: Annotated[
        float, typer.Option(min=0.1, max=60, help="Seconds to listen for answers.", callback=finite)
    ] = 2.0,
    json_out: JsonOpt = False,
) -> None:
    """WS-Discovery: find ONVIF devices (unicast to hosts/ranges, and/or multicast)."""
    from video.onvif import service as device_service

    if not targets and not multicast:
        raise ValidationFailed(
            "give hosts/ranges to probe, or --multicast", hint="e.g. govops video discover 10.1.2.0/28 --multicast"
        )
    with console.status(f"probing for {timeout:g} s…") if not json_out and console.is_terminal else nullcontext():
        found = device_service.discover(targets or [], multicast=multicast, interface=interface, timeout_s=timeout)
    emit(found, json_out, _print_found)


def _print_found(d: dict[str, Any]) -> None:
    table(
        f"ONVIF devices ({len(d['devices'])} found, {d['probed']} probed)",
        ["xaddr", "name", "hardware", "responder"],
        [[", ".join(x["xaddrs"]), x["name"], x["hardware"], x["responder"]] for x in d["devices"]],
    )
    for r in d["rejected"]:
        err_console.print(f"[yellow]rejected[/] {r['responder']}: {r['reason']}")


def _onboard_targets(
    targets: list[str] | None, discover_ranges: list[str] | None, multicast: bool, interface: str | None
) -> tuple[list[str], dict[str, str]]:
    """Addresses to onboard, and the names discovery found for them (its `name` scope)."""
    from video.onvif import service as device_service

    out = list(targets or [])
    names: dict[str, str] = {}
    if discover_ranges or multicast:
        found = device_service.discover(discover_ranges or [], multicast=multicast, interface=interface, timeout_s=2.0)
        for d in found["devices"]:
            out.append(d["xaddrs"][0])
            if d.get("name"):
                names[d["xaddrs"][0]] = d["name"]
    if not out:
        raise ValidationFailed("no device to work on", hint="give addresses, or --discover RANGE / --multicast")
    return list(dict.fromkeys(out)), names


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
    timeout: Annotated[
        float | None, typer.Option(min=0.5, max=600, help="Seconds per device.", callback=finite)
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="HOST[:PORT] other than the device's own that it may send us to (an NVR's media server).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Onboard ONVIF devices into the catalogue; a failing device says why, the others go on.

    Order: xaddrs → capabilities → clock → device info → profiles → stream URIs → snapshot
    URI → PTZ → events. Identified by MAC, else serial; the password is stored encrypted.
    """
    from video.catalogue.registry import Placement
    from video.onvif import service as device_service

    rt = runtime()
    addresses, names = _onboard_targets(targets, discover_range, multicast, interface)
    secret = password(password_env, password_file, user)
    on_result, ctx = device_progress(len(addresses), "onboarding", not json_out)
    with rt.transaction() as s, ctx:
        report = device_service.onboard(
            s,
            addresses,
            user=user,
            password=secret,
            placement=Placement(department=department, area=area, group=group, key_place=key_place),
            box=rt.box,
            settings=rt.video,
            actor=actor(),
            concurrency=concurrency,
            device_timeout_s=timeout,
            on_result=on_result,
            names=names,
            allow_hosts=allow_host or (),
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


def probe(
    targets: Annotated[list[str] | None, typer.Argument(help="host:port or device service URLs.")] = None,
    user: Annotated[str | None, typer.Option(help="ONVIF user (WS-Security).")] = None,
    password_env: PasswordEnv = PASSWORD_ENV,
    password_file: PasswordFile = None,
    catalogue: Annotated[
        bool, typer.Option("--catalogue", help="Probe every ONVIF camera in the catalogue and refresh its status.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(min=0.5, max=600, help="Seconds per device.", callback=finite)
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Ask devices what they offer, without adding them (or --catalogue: refresh status).

    Shows profiles, stream and snapshot URIs, PTZ and events. With --catalogue, every ONVIF
    camera in the catalogue is checked and its online status updated.
    """
    from video.onvif import service as device_service

    rt = runtime()
    if catalogue:
        with rt.transaction() as s:
            n = device_service.onvif_camera_count(s)
            on_result, ctx = device_progress(n, "probing", not json_out)
            with ctx:
                report = device_service.probe_catalogue(s, rt.box, rt.video, on_result=on_result)
        _emit_device_results(report, json_out, "answered")
        if report["online"] < report["probed"]:
            raise typer.Exit(1)
        return
    if not targets:
        raise ValidationFailed("give device addresses, or --catalogue")
    secret = password(password_env, password_file, user)
    on_result, ctx = device_progress(len(targets), "probing", not json_out)
    with ctx:
        results = device_service.inspect(targets, user, secret, rt.video, device_timeout_s=timeout, on_result=on_result)
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
