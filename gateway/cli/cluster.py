"""`govops cluster …`: build and harden the data-centre cluster with the Ansible playbooks, keep
the run history, and back up and restore what the platform cannot lose."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.output import JsonOpt, console, emit, id_arg, output_dir, progress_bar, table, written
from govops.db import MAX_ID
from govops.errors import ValidationFailed
from govops.localtime import shown
from govops.principal import cli_principal
from govops.settings import KEEP_DAYS_MAX, KEEP_MAX
from infra.cluster import PLAYBOOKS

if TYPE_CHECKING:
    from gateway.runtime import Runtime

app = typer.Typer(
    help="Data-centre cluster (数据中心集群): Ansible baseline, run history, backups.", no_args_is_help=True
)
SAMPLE = PLAYBOOKS / "inventory" / "sample" / "hosts.yml"
InventoryOpt = Annotated[Path, typer.Option(help="Inventory file (YAML or INI).")]
LimitOpt = Annotated[str | None, typer.Option(help="Only these hosts or groups.")]
PlaybookOpt = Annotated[str, typer.Option(help="Playbook in playbooks/ (site.yml, runtime.yml, …).")]
RootOpt = Annotated[Path | None, typer.Option(help="Manage files under this directory instead of /.")]
STYLE = {"ok": "green", "changed": "yellow", "failed": "red", "unreachable": "magenta"}


def _runtime() -> Runtime:
    from gateway.runtime import Runtime

    rt = Runtime.build()
    rt.migrate()
    return rt


def _run(
    kind: str,
    inventory: Path,
    playbook: str,
    limit: str | None,
    root: Path | None,
    json_out: bool,
    extravars: dict[str, Any] | None = None,
) -> None:
    from infra.cluster import history

    rt = _runtime()
    with rt.transaction() as session:
        run_id = history.start_run(session, cli_principal(), inventory, kind=kind, playbook=playbook, limit=limit)
    extravars = {**(extravars or {}), **({"govops_root": str(root)} if root else {})}
    with progress_bar(f"cluster {kind} #{run_id}", enabled=not json_out) as bar:
        rows: dict[str, Any] = {}

        def on_event(host: str, task: str, what: str) -> None:
            if host not in rows:
                rows[host] = bar.add_task(host, total=None, last="")
            if what == "start":
                bar.update(rows[host], last=f"{host}: {task}")
            else:
                bar.update(rows[host], advance=1, last=f"{host}: [{STYLE.get(what, 'dim')}]{what}[/] {task}")

        result = history.execute(rt.sessions, run_id, extravars=extravars, on_event=on_event)
    emit(result, json_out, _render_run)
    if result["status"] != "succeeded":
        raise typer.Exit(1)


@app.command("check")
def check(
    inventory: InventoryOpt = SAMPLE,
    playbook: PlaybookOpt = "site.yml",
    limit: LimitOpt = None,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Dry run (--check --diff): what would change, per host and task. Stored and audited."""
    _run("check", inventory, playbook, limit, root, json_out)


@app.command("apply")
def apply(
    inventory: InventoryOpt = SAMPLE,
    playbook: PlaybookOpt = "site.yml",
    limit: LimitOpt = None,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Apply the playbook (site.yml: the MLPS 2.0 baseline). A second run reports changed=0."""
    _run("apply", inventory, playbook, limit, root, json_out)


@app.command("harden", hidden=True)
def harden(
    inventory: InventoryOpt = SAMPLE,
    limit: LimitOpt = None,
    check: Annotated[bool, typer.Option("--check", help="Dry run: report what would change.")] = False,
    root: RootOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The old name of `apply` (and of `check` with --check)."""
    _run("check" if check else "apply", inventory, "site.yml", limit, root, json_out)


@app.command("runs")
def runs(
    run_id: Annotated[int | None, id_arg("Show this run with its hosts.")] = None,
    after: Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="Cursor: runs older than this id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    json_out: JsonOpt = False,
) -> None:
    """The stored run history, newest first, or one run per host."""
    from infra.cluster import history

    with _runtime().transaction() as session:
        if run_id is not None:
            emit(history.get_run(session, run_id), json_out, _render_run)
            return
        page = history.list_runs(session, after=after, limit=limit)
    emit(page, json_out, _render_runs)


@app.command("report")
def report(json_out: JsonOpt = False) -> None:
    """Each host's latest run: status, failure, and the baseline controls it reported."""
    from infra.cluster import history

    with _runtime().transaction() as session:
        hosts = [
            {
                **history.host_dict(h),
                "run": r.id,
                "kind": r.kind,
                "at": r.finished_at.isoformat() if r.finished_at else None,
            }
            for h, r in history.latest_per_host(session)
        ]
    emit({"hosts": hosts}, json_out, _render_report)


# -- backups ------------------------------------------------------------------------------------


def _read(path: Path | None, what: str, hint: str) -> bytes:
    if path is None:
        raise ValidationFailed(f"no {what} given", hint=hint)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValidationFailed(f"cannot read {what} {path}: {exc.strerror}", hint=hint) from None


@app.command("backup")
def backup(
    recipient: Annotated[Path | None, typer.Option(help="Operator public key (PEM); GOVOPS_BACKUP_RECIPIENT.")] = None,
    target: Annotated[Path | None, typer.Option(help="Backup directory; GOVOPS_BACKUP_DIR.")] = None,
    keep: Annotated[int | None, typer.Option(min=1, max=KEEP_MAX, help="Archives to keep; GOVOPS_BACKUP_KEEP.")] = None,
    keep_days: Annotated[
        int | None,
        typer.Option(min=1, max=KEEP_DAYS_MAX, help="Also drop archives older than this; GOVOPS_BACKUP_KEEP_DAYS."),
    ] = None,
    etcd: Annotated[str | None, typer.Option(help="etcd endpoints to snapshot; GOVOPS_ETCD_ENDPOINTS.")] = None,
    etcd_cacert: Annotated[
        Path | None, typer.Option(envvar="GOVOPS_ETCD_CACERT", help="CA of etcd's TLS (the cluster CA's ca.crt).")
    ] = None,
    etcd_cert: Annotated[
        Path | None, typer.Option(envvar="GOVOPS_ETCD_CERT", help="The backup's etcd client certificate (PEM).")
    ] = None,
    etcd_key: Annotated[
        Path | None, typer.Option(envvar="GOVOPS_ETCD_KEY", help="Its private key (PEM, 0600; passed as a path).")
    ] = None,
    ship_to: Annotated[
        str | None, typer.Option(help="Also copy to a backup host, user@host:/dir; GOVOPS_BACKUP_SHIP_TO.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """One encrypted archive: the database, the CA and secret-box keys, the Pulumi state, etcd.
    Audited; the `backup` role's systemd timer runs exactly this command on schedule."""
    import os

    from infra.cluster import backup_jobs
    from infra.cluster.backup import target_dir_of
    from infra.cluster.backup_etcd import EtcdClientTLS

    tls = EtcdClientTLS.from_options(etcd_cacert, etcd_cert, etcd_key)
    settings = _runtime().settings
    pem = _read(
        recipient or settings.backup_recipient, "recipient key", "make one with `govops cluster backup-key -o FILE`"
    )
    with progress_bar("备份 backup", enabled=not json_out) as bar:
        bar.add_task(
            "backup", total=None, last="database, keys, pulumi" + (", etcd" if etcd or settings.etcd_endpoints else "")
        )
        result = backup_jobs.backup(
            settings,
            cli_principal().subject,
            pem,
            target or target_dir_of(settings),
            etcd_endpoints=etcd or settings.etcd_endpoints,
            etcd_tls=tls,
            keep=keep or settings.backup_keep,
            keep_days=keep_days or settings.backup_keep_days,
            via="systemd" if os.environ.get("INVOCATION_ID") else "cli",  # systemd sets it for a service
            ship_to=ship_to or settings.backup_ship_to,
        )
    emit(
        result.as_dict(),
        json_out,
        lambda r: console.print(
            f"wrote {r['path']} ({r['size']} bytes), pruned {len(r['pruned'])}"
            + (f"; copied to {r['shipped_to']}, pruned {len(r['remote_pruned'])} there" if r["shipped_to"] else "")
        ),
    )


@app.command("backups")
def backups(
    target: Annotated[Path | None, typer.Option(help="Backup directory; GOVOPS_BACKUP_DIR.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """The archives in the backup directory, newest first, and the last successful restore drill."""
    from infra.cluster.backup import describe, list_backups, target_dir_of
    from infra.cluster.backup_jobs import last_drill

    rt = _runtime()
    where = target or target_dir_of(rt.settings)
    with rt.transaction() as session:
        drilled = last_drill(session, where)
    data = {"target": str(where), "items": [describe(p) for p in list_backups(where)], "last_drill": drilled}

    def render(d: dict[str, Any]) -> None:
        table("backups", ["created", "size", "path"], [[b["created"], b["size"], b["path"]] for b in d["items"]])
        drill = d["last_drill"]
        console.print(f"last successful restore drill: {shown(drill['at']) if drill else 'never'}")

    emit(data, json_out, render)


@app.command("backup-key")
def backup_key(
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Private key file to create (0600); .pub written next to it.")
    ],
    json_out: JsonOpt = False,
) -> None:
    """A new operator key pair: keep the private key offline; give the public key to GOVOPS_BACKUP_RECIPIENT."""
    from govops.files import write_private
    from infra.cluster.envelope import new_operator_key

    if out.is_dir():
        raise ValidationFailed(f"{out} is a directory", hint="give the private key's file name, e.g. -o operator.key")
    output_dir(out.parent)
    private, public = new_operator_key()
    pub = out.with_name(out.name + ".pub")
    try:
        write_private(out, private, exclusive=True)
    except FileExistsError:
        raise ValidationFailed(
            f"{out} exists", hint="choose another file; an operator key is never overwritten"
        ) from None
    with written(pub, "wb") as f:
        f.write(public)
    emit(
        {"private": str(out), "public": str(pub)},
        json_out,
        lambda d: console.print(f"private {d['private']}, public {d['public']}"),
    )


@app.command("restore")
def restore(
    archive: Annotated[
        str | None,
        typer.Argument(help="The .gvbackup archive (with --inventory: its name on the host; newest if left out)."),
    ] = None,
    key: Annotated[Path | None, typer.Option(help="Operator private key (PEM).")] = None,
    items: Annotated[str, typer.Option(help="Comma-separated: database,keys,pulumi,etcd.")] = "database,keys,pulumi",
    etcd_data_dir: Annotated[Path | None, typer.Option(help="A fresh etcd data directory to restore into.")] = None,
    inventory: Annotated[
        Path | None, typer.Option(help="Restore on the inventory's platform hosts with playbooks/restore.yml.")
    ] = None,
    limit: LimitOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Put an archive back; hashes and row counts are checked, and the restore is audited.
    Here: stop the gateway first. With --inventory: the restore playbook stops the platform's
    services on each host, restores from the host's backup target and starts them again."""
    pem_hint = "pass --key with the operator key `backup-key` made"
    if inventory is not None:
        if key is None or not key.is_file():
            raise ValidationFailed(f"no readable operator key at {key}", hint=pem_hint)
        extravars = {"backup_restore_operator_key_file": str(key.resolve()), "backup_restore_items": items}
        if archive:
            extravars["backup_restore_archive"] = Path(archive).name
        _run("restore", inventory, "restore.yml", limit, None, json_out, extravars)
        return
    from infra.cluster import backup_jobs

    if archive is None:
        raise ValidationFailed("no archive given", hint="name the .gvbackup file, or pass --inventory")
    pem = _read(key, "private key", pem_hint)
    rt = _runtime()
    rt.engine.dispose()  # the database is replaced whole: no connection may hold the old file
    with progress_bar("恢复 restore", enabled=not json_out) as bar:
        bar.add_task("restore", total=None, last=items)
        result = backup_jobs.restore(
            rt.settings,
            cli_principal().subject,
            Path(archive),
            pem,
            items=tuple(i.strip() for i in items.split(",") if i.strip()),
            etcd_data_dir=etcd_data_dir,
        )
    emit(result.as_dict(), json_out, _render_restore)
    if not result.ok:
        raise typer.Exit(1)


@app.command("drill")
def drill(
    key: Annotated[Path, typer.Option(help="Operator private key (PEM).")],
    target: Annotated[Path | None, typer.Option(help="Backup directory; GOVOPS_BACKUP_DIR.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Restore the newest archive into a scratch place, check it, and record the drill (恢复演练)."""
    from infra.cluster import backup_jobs
    from infra.cluster.backup import target_dir_of

    settings = _runtime().settings
    pem = _read(key, "private key", "pass --key with the operator key `backup-key` made")
    with progress_bar("恢复演练 drill", enabled=not json_out) as bar:
        bar.add_task("drill", total=None, last="newest archive")
        result = backup_jobs.drill(settings, cli_principal().subject, target or target_dir_of(settings), pem)
    emit(result.as_dict(), json_out, _render_restore)
    if not result.ok:
        raise typer.Exit(1)


# -- rendering ----------------------------------------------------------------------------------


def _render_restore(r: dict[str, Any]) -> None:
    table("checks", ["check", "result"], list(r["checks"].items()))
    console.print(f"{'ok' if r['ok'] else 'FAILED'}: restored {', '.join(r['restored'])} from {r['archive']}")


def _render_run(r: dict[str, Any]) -> None:
    table(
        f"run #{r['id']} {r['kind']} {r['playbook']}: {r['status']}",
        ["host", "status", "ok", "changed", "failed", "unreachable", "s", "cause"],
        [
            [
                h["host"],
                f"[{STYLE.get(h['status'], 'dim')}]{h['status']}[/]",
                h["ok"],
                h["changed"],
                h["failed"],
                h["unreachable"],
                f"{h['duration_s']:.0f}",
                h["failure"] or "",
            ]
            for h in r.get("hosts", [])
        ],
    )
    for h in r.get("hosts", []):
        for d in h["diffs"]:
            console.print(f"[bold]{h['host']}[/] · {d['task']}", highlight=False)
            console.print(d["diff"], markup=False, highlight=False)
    if r.get("error") and not r.get("hosts"):
        console.print(f"[red]{r['error']}[/]", highlight=False)


def _render_runs(page: dict[str, Any]) -> None:
    table(
        "cluster runs",
        ["id", "kind", "status", "hosts", "actor", "started", "error"],
        [
            [r["id"], r["kind"], r["status"], r["hosts"], r["actor"], r["started_at"], (r["error"] or "")[:80]]
            for r in page["items"]
        ],
    )
    if page["next_cursor"]:
        console.print(f"more: --after {page['next_cursor']}")


def _render_report(d: dict[str, Any]) -> None:
    table(
        "hosts (latest run)",
        ["host", "status", "run", "at", "controls", "cause"],
        [
            [
                h["host"],
                h["status"],
                h["run"],
                h["at"],
                len((h["controls"] or {}).get("controls", [])),
                h["failure"] or "",
            ]
            for h in d["hosts"]
        ],
    )
