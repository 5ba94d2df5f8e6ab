"""Cluster runs as stored history: start a run, finish it with per-host outcomes, read it back.
Every run is audited; the latest outcome per host feeds the metrics and the compliance report."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from govops import audit
from govops.errors import NotFound, ValidationFailed
from govops.principal import Principal
from infra.cluster.models import ClusterHostResult, ClusterRun

KINDS = {"check": True, "apply": False, "restore": False}  # kind -> ansible --check


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def host_dict(row: ClusterHostResult) -> dict[str, Any]:
    return {
        "host": row.host,
        "status": row.status,
        "ok": row.ok,
        "changed": row.changed,
        "failed": row.failed,
        "unreachable": row.unreachable,
        "skipped": row.skipped,
        "duration_s": row.duration_s,
        "failure": row.failure,
        "diffs": row.diffs or [],
        "controls": row.controls,
    }


def run_dict(row: ClusterRun, hosts: list[ClusterHostResult] | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": row.id,
        "kind": row.kind,
        "playbook": row.playbook,
        "inventory": row.inventory,
        "limit": row.limit,
        "status": row.status,
        "actor": row.actor,
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
        "error": row.error,
    }
    if hosts is not None:
        d["hosts"] = [host_dict(h) for h in hosts]
    return d


def start_run(
    session: Session,
    principal: Principal,
    inventory: Path,
    *,
    kind: str = "apply",
    playbook: str = "site.yml",
    limit: str | None = None,
) -> int:
    """Record a run as running (after the inventory is checked) and return its id."""
    from infra.cluster.runner import check_inventory

    if kind not in KINDS:
        raise ValidationFailed(f"unknown run kind {kind!r}", hint="use check, apply or restore")
    if "/" in playbook or not playbook.endswith(".yml"):
        raise ValidationFailed(f"unknown playbook {playbook!r}", hint="name a playbook in playbooks/, e.g. site.yml")
    check_inventory(inventory)
    row = ClusterRun(
        kind=kind,
        playbook=playbook,
        inventory=str(inventory),
        limit=limit,
        status="running",
        actor=principal.subject,
        started_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row.id


def execute(
    sessions: sessionmaker[Session] | Callable[[], Any],
    run_id: int,
    *,
    extravars: dict[str, Any] | None = None,
    on_task: Callable[[str, str], None] | None = None,
    on_event: Callable[[str, str, str], None] | None = None,
) -> dict[str, Any]:
    """Run a started run to its end and store what each host did; never leaves it `running`."""
    from govops.db import transaction
    from infra.cluster.runner import PlaybookResult, run_playbook

    with transaction(sessions) as session:  # type: ignore[arg-type]
        row = session.get(ClusterRun, run_id)
        if row is None:
            raise NotFound(f"no cluster run {run_id}")
        inventory, playbook, limit, check = Path(row.inventory), row.playbook, row.limit, KINDS[row.kind]
    try:
        result: PlaybookResult = run_playbook(
            inventory, playbook, extravars=extravars, limit=limit, check=check, on_task=on_task, on_event=on_event
        )
        error = None if result.ok else "; ".join(result.failures[:5])[:2000] or f"ansible {result.status}"
    except Exception as exc:  # stored as the run's error, then raised to the caller
        _finish(sessions, run_id, None, f"{type(exc).__name__}: {exc}"[:2000])
        raise
    return _finish(sessions, run_id, result, error)


def _finish(sessions: Any, run_id: int, result: Any, error: str | None) -> dict[str, Any]:
    from govops.db import transaction

    with transaction(sessions) as session:
        row = session.get(ClusterRun, run_id)
        assert row is not None
        row.status = "succeeded" if error is None else "failed"
        row.finished_at = datetime.now(UTC)
        row.error = error
        hosts = []
        for outcome in (result.hosts if result else {}).values():
            fields = asdict(outcome)
            hosts.append(ClusterHostResult(run_id=run_id, **fields))
        session.add_all(hosts)
        summary = {h.host: h.status for h in hosts}
        audit.append(
            session,
            actor=row.actor,
            action=f"cluster.{row.kind}",
            target=f"run:{run_id}",
            result="success" if error is None else "failure",
            detail={"playbook": row.playbook, "inventory": row.inventory, "limit": row.limit, "hosts": summary},
        )
        session.flush()
        return run_dict(row, hosts)


def list_runs(session: Session, *, after: int | None = None, limit: int = 50) -> dict[str, Any]:
    """Newest first; `next_cursor` is the id to pass as `after` for the next page."""
    limit = max(1, min(limit, 200))
    q = select(ClusterRun).order_by(ClusterRun.id.desc()).limit(limit + 1)
    if after is not None:
        q = q.where(ClusterRun.id < after)
    rows = list(session.scalars(q))
    counts = dict(
        session.execute(
            select(ClusterHostResult.run_id, func.count())
            .where(ClusterHostResult.run_id.in_([r.id for r in rows[:limit]]))
            .group_by(ClusterHostResult.run_id)
        ).all()
    )
    items = [{**run_dict(r), "hosts": counts.get(r.id, 0)} for r in rows[:limit]]
    return {"items": items, "next_cursor": rows[limit - 1].id if len(rows) > limit else None}


def get_run(session: Session, run_id: int) -> dict[str, Any]:
    row = session.get(ClusterRun, run_id)
    if row is None:
        raise NotFound(f"no cluster run {run_id}", hint="list runs with `govops cluster runs`")
    hosts = list(
        session.scalars(
            select(ClusterHostResult).where(ClusterHostResult.run_id == run_id).order_by(ClusterHostResult.host)
        )
    )
    return run_dict(row, hosts)


def latest_per_host(session: Session, *, kind: str | None = None) -> list[tuple[ClusterHostResult, ClusterRun]]:
    """Each host's result in its newest finished run (of `kind`, if given)."""
    newest = (
        select(func.max(ClusterHostResult.id).label("id"))
        .join(ClusterRun, ClusterRun.id == ClusterHostResult.run_id)
        .where(ClusterRun.finished_at.is_not(None))
        .group_by(ClusterHostResult.host)
    )
    if kind:
        newest = newest.where(ClusterRun.kind == kind)
    rows = session.execute(
        select(ClusterHostResult, ClusterRun)
        .join(ClusterRun, ClusterRun.id == ClusterHostResult.run_id)
        .where(ClusterHostResult.id.in_(newest.scalar_subquery()))
        .order_by(ClusterHostResult.host)
    ).all()
    return [(h, r) for h, r in rows]


def resolve_inventory(name: str, data_dir: Path) -> Path:
    """An inventory the API may name: `<data_dir>/inventories/<name>.yml`, else the shipped
    `playbooks/inventory/<name>/hosts.yml`. Never an arbitrary path from a request."""
    import re

    from infra.cluster import PLAYBOOKS

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name):
        raise ValidationFailed(f"bad inventory name {name!r}", hint="use a name like sample (letters, digits, - and _)")
    for candidate in (data_dir / "inventories" / f"{name}.yml", PLAYBOOKS / "inventory" / name / "hosts.yml"):
        if candidate.is_file():
            return candidate
    raise ValidationFailed(
        f"no inventory named {name}", hint=f"put it at {data_dir / 'inventories' / (name + '.yml')} or use sample"
    )


def launch(
    sessions: sessionmaker[Session],
    principal: Principal,
    inventory: Path,
    *,
    kind: str = "apply",
    playbook: str = "site.yml",
    limit: str | None = None,
) -> dict[str, Any]:
    """Start a run in a background thread; the answer is the run as stored (status running)."""
    import threading

    from govops.db import transaction

    with transaction(sessions) as session:
        run_id = start_run(session, principal, inventory, kind=kind, playbook=playbook, limit=limit)
        started = run_dict(session.get(ClusterRun, run_id))  # type: ignore[arg-type]

    def work() -> None:
        with contextlib.suppress(Exception):  # execute stored the error on the run already
            execute(sessions, run_id)

    threading.Thread(target=work, name=f"cluster-run-{run_id}", daemon=True).start()
    return started
