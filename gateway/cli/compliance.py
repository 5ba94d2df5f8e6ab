"""`govops compliance report`: MLPS 2.0 Level 3 evidence, per host and per subsystem."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.output import console, emit, progress_bar, table, written
from govops.localtime import SECOND, shown

app = typer.Typer(help="等保合规 MLPS 2.0 compliance evidence.", no_args_is_help=True)
STYLE = {"pass": "green", "fail": "red", "configured, not applied": "yellow", "not configured": "dim"}


def render_html(report: dict[str, Any], site: str) -> str:
    """The console's printable page, from the console's own templates (its filters too)."""
    from gateway.templating import templates

    return templates.env.get_template("compliance_print.html").render(report=report, site=site)


@app.command("report")
def report(
    html: Annotated[Path | None, typer.Option("--html", help="Also write the printable HTML for the assessor.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Each MLPS control the platform touches: pass, fail, configured-not-applied, with evidence."""
    from gateway.runtime import Runtime
    from monitoring.compliance.report import build

    rt = Runtime.build()
    rt.migrate()
    with progress_bar("等保取证 evidence", enabled=not json_out) as bar:
        bar.add_task("evidence", total=None, last="hosts, identity, TLS, audit, backups, tenants")
        with rt.transaction() as session:
            data = build(session, rt.settings, rt.keycloak if rt.keycloak_admin_configured else None)
    if html is not None:
        with written(html, encoding="utf-8") as f:
            f.write(render_html(data, rt.settings.public_url or "govops"))
    emit(data, json_out, _render)


def _render(r: dict[str, Any]) -> None:
    table(
        f"{r['standard']} · {shown(r['generated_at'], fmt=SECOND)}",
        ["clause", "control", "subject", "reading", "evidence"],
        [
            [
                c["clause"],
                c["title"],
                c["subject"],
                f"[{STYLE.get(c['status'], '')}]{c['reading']}[/]",
                c["evidence"][:90],
            ]
            for c in r["controls"]
        ],
    )
    console.print(", ".join(f"{k}: {v}" for k, v in r["summary"].items()))
