"""`govops video …`: ONVIF discovery and onboarding, the catalogue, sharing, KPIs, diagnosis, patrol.

Every command has --json; long work shows a progress bar on a terminal. Exit 0 success, 1 the
operation failed (for onboard/probe: at least one device failed; the others were still done),
2 usage error. Each command is registered here, by name, from the module that holds it; the
modules import the heavy libraries (OpenCV, PyAV, zeep, onvif) inside the commands that need
them, so `govops --help` loads none of them.
"""

from __future__ import annotations

import typer

from gateway.cli.video import catalogue, diagnose, groups, io, kpi, onvif, patrol, sharing

app = typer.Typer(help="Sharp Eyes video network: ONVIF, catalogue, sharing, KPIs, diagnosis.", no_args_is_help=True)
share_app = typer.Typer(help='"1+2+X" sharing: platforms and share grants.', no_args_is_help=True)
group_app = typer.Typer(help="Business groups (215) and virtual organisations (216).", no_args_is_help=True)
app.add_typer(share_app, name="share")
app.add_typer(group_app, name="group")

app.command("list")(catalogue.list_)
app.command("edit")(catalogue.edit)
app.command("discover")(onvif.discover)
app.command("onboard")(onvif.onboard)
app.command("probe")(onvif.probe)
app.command("export")(io.export)
app.command("import")(io.import_)
app.command("kpi")(kpi.kpi)
app.command("diagnose")(diagnose.diagnose)

share_app.command("platforms")(sharing.share_platforms)
share_app.command("platform-add")(sharing.share_platform_add)
share_app.command("grant")(sharing.share_grant)
share_app.command("revoke")(sharing.share_revoke)
share_app.command("list")(sharing.share_list)

group_app.command("add")(groups.group_add)
group_app.command("list")(groups.group_list)

# 巡检: the patrol and a camera's diagnosis history.
app.command("patrol")(patrol.patrol)
app.command("faults")(patrol.faults)
app.command("history")(patrol.history)
app.command("rediagnose")(patrol.rediagnose)
app.command("reference")(patrol.reference)
app.command("accept")(patrol.accept)
app.command("thresholds")(patrol.thresholds)
app.command("rounds")(patrol.rounds)

__all__ = ["app"]
