"""`govops apps …`: department app onboarding to single sign-on (OIDC clients)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gateway.cli.operator import migrated_runtime, operator
from gateway.cli.output import JsonOpt, console, emit, id_arg, table

apps_app = typer.Typer(help="Department app onboarding to single sign-on (OIDC clients).", no_args_is_help=True)


def _app_rows(rows: list[dict[str, Any]]) -> None:
    table(
        "apps",
        ["id", "client", "name", "department", "status", "secret"],
        [[r["id"], r["client_id"], r["name"], r["department"], r["status"], r["secret"] or ""] for r in rows],
    )


@apps_app.command("request")
def apps_request(
    name: Annotated[str, typer.Option(help="The app's name.")],
    department: Annotated[str, typer.Option(help="Department code (e.g. gaj).")],
    home_url: Annotated[str, typer.Option(help="The app's home page (https).")],
    redirect_uri: Annotated[list[str], typer.Option(help="Redirect URI (repeat).")],
    role: Annotated[list[str] | None, typer.Option(help="App role NAME[:description] (repeat).")] = None,
    department_role: Annotated[
        list[str] | None, typer.Option(help="Role the whole department gets (default: the first role).")
    ] = None,
    client_id: Annotated[str | None, typer.Option(help="Client ID (default <dept>-<name>).")] = None,
    description: Annotated[str, typer.Option()] = "",
    json_out: JsonOpt = False,
) -> None:
    """Request an OIDC client for a department's app."""
    from identity import apps

    roles = []
    for r in role or []:
        rname, _, rdesc = r.partition(":")
        roles.append({"name": rname, "description": rdesc})
    rt = migrated_runtime()
    with rt.transaction() as s:
        app = apps.request_app(
            s,
            operator(),
            apps.AppRequest(
                name=name,
                department=department,
                home_url=home_url,
                redirect_uris=redirect_uri,
                roles=roles,
                department_roles=department_role,
                client_id=client_id,
                description=description,
            ),
        )
        data = app.as_dict()
    emit(
        data,
        json_out,
        lambda d: console.print(
            f"requested app {d['id']} ({d['client_id']}); an ops engineer approves it with "
            f"`govops apps approve {d['id']}`"
        ),
    )


@apps_app.command("approve")
def apps_approve(
    app_id: Annotated[int, id_arg("App request ID.")],
    note: Annotated[str, typer.Option(help="Note for the record.")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Approve: create the client in Keycloak (roles, department mapping); secret awaits pickup."""
    from identity import apps

    rt = migrated_runtime()
    with rt.transaction() as s:
        data = apps.approve_app(s, operator(), app_id, rt.keycloak, rt.box, note).as_dict()
    emit(
        data,
        json_out,
        lambda d: console.print(
            f"[green]approved[/] {d['client_id']}; the department collects the secret once with "
            f"`govops apps secret {d['id']}` or the API"
        ),
    )


@apps_app.command("reject")
def apps_reject(
    app_id: Annotated[int, id_arg("App request ID.")],
    reason: Annotated[str, typer.Option(help="Why (recorded and shown to the requester).")],
    json_out: JsonOpt = False,
) -> None:
    """Reject a request, with the reason."""
    from identity import apps

    rt = migrated_runtime()
    with rt.transaction() as s:
        data = apps.reject_app(s, operator(), app_id, reason).as_dict()
    emit(data, json_out, lambda d: console.print(f"[yellow]rejected[/] {d['client_id']}: {reason}"))


@apps_app.command("list")
def apps_list(
    status: Annotated[str | None, typer.Option(help="requested, approved or rejected.")] = None,
    department: Annotated[str | None, typer.Option(help="Department code.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """App requests and onboarded apps."""
    from identity import apps

    rt = migrated_runtime()
    with rt.sessions() as s:
        rows = [a.as_dict() for a in apps.list_apps(s, operator(), status=status, department=department)]
    emit(rows, json_out, _app_rows)


@apps_app.command("rotate-secret")
def apps_rotate(
    app_id: Annotated[int, id_arg("App ID.")],
    json_out: JsonOpt = False,
) -> None:
    """Make a new client secret in Keycloak; it awaits pickup like the first one."""
    from identity import apps

    rt = migrated_runtime()
    with rt.transaction() as s:
        data = apps.rotate_secret(s, operator(), app_id, rt.keycloak, rt.box).as_dict()
    emit(
        data,
        json_out,
        lambda d: console.print(
            f"rotated the secret of {d['client_id']} (version {d['secret_version']}); collect it "
            f"with `govops apps secret {d['id']}`"
        ),
    )


@apps_app.command("secret")
def apps_secret(
    app_id: Annotated[int, id_arg("App ID.")],
    json_out: JsonOpt = False,
) -> None:
    """Collect the client secret — it is shown exactly once."""
    from identity import apps

    rt = migrated_runtime()
    with rt.transaction() as s:
        data = apps.collect_secret(s, operator(), app_id, rt.box, local_operator=True)
    emit(
        data,
        json_out,
        lambda d: console.print(
            f"client_id     {d['client_id']}\nclient_secret [bold]{d['client_secret']}[/]\n{d['note']}"
        ),
    )
