"""`govops video share …`: the "1+2+X" platforms and share grants, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from gateway.cli.output import JsonOpt, console, emit, id_arg, table
from gateway.cli.video.common import actor, runtime
from govops.errors import ValidationFailed
from govops.localtime import TYPED, shown, typed


def share_platforms(json_out: JsonOpt = False) -> None:
    """The platforms: the district master (1), 综治 and 公安 (2), and X others."""
    from video.catalogue import sharing

    rt = runtime()
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

    rt = runtime()
    with rt.transaction() as s:
        p = sharing.save_platform(
            s, code=code, name=name, kind=kind, parent_code=parent, gb_id=gb_id, actor=actor()
        ).as_dict()
    emit(p, json_out, lambda d: console.print(f"platform {d['code']} ({d['kind']}) saved"))


def _expiry(expires: str | None, days: int | None) -> datetime | None:
    if days is not None:
        return datetime.now(UTC) + timedelta(days=days)
    return typed(expires, end=True, what="--expires") if expires else None


def share_grant(
    platform: Annotated[str, typer.Option(help="Platform code, e.g. zongzhi or gongan.")],
    reason: Annotated[str, typer.Option(help="Why (who asked, for what).")],
    camera: Annotated[str | None, typer.Option(help="A camera ID.")] = None,
    group: Annotated[str | None, typer.Option(help="A group ID (with its subtree).")] = None,
    area: Annotated[str | None, typer.Option(help="An admin area (with everything under it).")] = None,
    expires: Annotated[
        str | None, typer.Option(help=f"Ends at: {TYPED}; a date ends when its day ends.", metavar="WHEN")
    ] = None,
    days: Annotated[int | None, typer.Option(min=1, max=3650, help="Expire after this many days.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Share a camera, a group or an area to a platform."""
    from video.catalogue import sharing

    subjects = [(k, v) for k, v in (("camera", camera), ("group", group), ("area", area)) if v]
    if len(subjects) != 1:
        raise ValidationFailed("give exactly one of --camera, --group, --area")
    rt = runtime()
    with rt.transaction() as s:
        g = sharing.grant(
            s,
            platform=platform,
            subject_kind=subjects[0][0],
            subject_id=subjects[0][1],
            reason=reason,
            actor=actor(),
            expires_at=_expiry(expires, days),
        ).as_dict()
    emit(
        g,
        json_out,
        lambda d: console.print(
            f"grant {d['id']}: {d['subject_kind']} {d['subject_id']} → {d['platform']}"
            + (f" until {shown(d['expires_at'])}" if d["expires_at"] else "")
        ),
    )


def share_revoke(
    grant_id: Annotated[int, id_arg("The grant's ID (see `share list`).")],
    reason: Annotated[str, typer.Option(help="Why it is revoked.")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke a share grant (it stays in the history, and in the audit log)."""
    from video.catalogue import sharing

    rt = runtime()
    with rt.transaction() as s:
        g = sharing.revoke(s, grant_id, reason=reason, actor=actor()).as_dict()
    emit(g, json_out, lambda d: console.print(f"grant {d['id']} revoked"))


def share_list(
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include revoked and expired grants.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Share grants in force (or all of them)."""
    from video.catalogue import sharing

    rt = runtime()
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
