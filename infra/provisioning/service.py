"""Provisioning: preview, up, refresh, drift and tenant removal, each stored as a run.

The declared departments live in <data_dir>/cloud/departments.yaml (seeded from the repo's
sample). A change (a quota approval, a tenant removal) is written to a candidate file first; the
declared file is replaced only after `up` succeeds, so a failed run loses nothing and the next
run converges.

One run per stack at a time, across processes (the gateway and a CLI): `_begin` takes the stack's
lock, and is the one busy check. A run starts in the caller's thread (`wait=True`, the CLI) or in
the background (`wait=False`, the API answers 202 with the run), holding the lock until it ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from govops import alerts, audit
from govops.errors import Conflict, GovopsError, NotFound, ServiceUnavailable, ValidationFailed
from govops.settings import Settings
from infra.model import CloudSpec, DepartmentsInvalid, WorkloadInvalid, load_cloud, load_workloads, parse_cloud
from infra.provisioning.apiserver import Apiserver
from infra.provisioning.binaries import PulumiBinaries
from infra.provisioning.contract import Engine, EngineConfig, EngineResult, Watch
from infra.provisioning.models import CloudRun
from infra.provisioning.runs import Run, RunKind, RunStatus

log = logging.getLogger(__name__)
SAMPLE = Path(__file__).resolve().parents[1] / "departments.yaml"
LOG_LIMIT = 256 * 1024
DRIFT_FINGERPRINT = "cloud-drift-{stack}"
Operation = Callable[[Engine, Watch], EngineResult]
AfterRun = Callable[[Run], None]


def spec_yaml(cloud: CloudSpec) -> str:
    return yaml.safe_dump(cloud.model_dump(mode="json"), allow_unicode=True, sort_keys=False)


def spec_digest(cloud: CloudSpec) -> str:
    return hashlib.sha256(spec_yaml(cloud).encode()).hexdigest()


def _pulumi_engine(cfg: EngineConfig) -> Engine:
    from infra.provisioning.engine import PulumiEngine  # the Automation API loads only for a run

    return PulumiEngine(cfg)


class _Progress:
    """Passes the engine's output and events on, and writes the log so far and the resources
    started/done to the run row every couple of seconds, so the API can follow a run still going."""

    def __init__(self, sessions: sessionmaker[Session], run_id: int, watch: Watch) -> None:
        self.sessions, self.run_id, self.watch = sessions, run_id, watch
        self.buf: list[str] = []
        self.started: set[str] = set()
        self.done: set[str] = set()
        self.flushed = 0.0  # the first line or event shows at once

    def output(self, line: str) -> None:
        self.buf.append(line)
        if self.watch.on_output:
            self.watch.on_output(line)
        self._flush()

    def event(self, kind: str, data: dict[str, Any]) -> None:
        (self.started if kind == "resource_pre" else self.done).add(data.get("urn", ""))
        if self.watch.on_event:
            self.watch.on_event(kind, data)
        self._flush()

    def _flush(self) -> None:
        if time.monotonic() - self.flushed <= 2:
            return
        self.flushed = time.monotonic()
        with self.sessions.begin() as s:
            row = s.get(CloudRun, self.run_id)
            if row is not None:
                row.log = "".join(self.buf)[-LOG_LIMIT:]
                row.summary = {"resources_started": len(self.started), "resources_done": len(self.done)}


@dataclass
class _Started:
    """A run whose row exists and whose stack lock is held, not yet executed."""

    run_id: int
    lock: IO[str]
    departments: Path
    candidate: bool


class Provisioning:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        binaries: PulumiBinaries | None = None,
        engine_factory: Callable[[EngineConfig], Engine] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.binaries = binaries
        self.engine_factory = engine_factory
        self.dir = settings.ensure_data_dir() / "cloud"
        self.dir.mkdir(exist_ok=True)
        self.declared_file = self.dir / "departments.yaml"
        self.workloads_dir = self.dir / "workloads"  # <code>/*.yaml: departments' own applications
        if not self.declared_file.exists():
            shutil.copyfile(SAMPLE, self.declared_file)

    @property
    def stack(self) -> str:
        return self.settings.pulumi_stack

    def declared(self) -> CloudSpec:
        try:
            return load_cloud(self.declared_file)
        except DepartmentsInvalid as exc:
            raise ValidationFailed(str(exc), hint=f"fix {self.declared_file}") from None

    # --- the operations -------------------------------------------------------------------------

    def preview(
        self,
        actor: str,
        *,
        candidate: CloudSpec | None = None,
        target: str | None = None,
        watch: Watch | None = None,
        wait: bool = True,
        after: AfterRun | None = None,
    ) -> Run:
        """What `up` would change (the policy pack runs too), resource by resource."""
        return self._start(
            RunKind.PREVIEW,
            actor,
            lambda e, w: e.preview(w),
            candidate=candidate,
            target=target,
            watch=watch,
            wait=wait,
            after=after,
        )

    def up(
        self,
        actor: str,
        *,
        candidate: CloudSpec | None = None,
        target: str | None = None,
        watch: Watch | None = None,
        wait: bool = True,
        after: AfterRun | None = None,
        revert_drift: bool = False,
    ) -> Run:
        """Make the cloud match the declared departments (or the candidate, which becomes declared).
        With revert_drift, the live objects are read first, so changes made outside Pulumi are
        put back too (a plain up compares the program with the recorded state only). The run is
        an up; its audit record is `cloud.revert-drift`, naming what was put back."""
        return self._start(
            RunKind.UP,
            actor,
            lambda e, w: e.up(w, refresh=revert_drift),
            candidate=candidate,
            target=target,
            watch=watch,
            wait=wait,
            after=after,
            audit_action="cloud.revert-drift" if revert_drift else None,
        )

    def refresh(self, actor: str, *, watch: Watch | None = None, wait: bool = True) -> Run:
        """Read the live objects back into the state: accepts drift (an audited action)."""
        return self._start(RunKind.REFRESH, actor, lambda e, w: e.refresh(w), watch=watch, wait=wait)

    def drift(self, actor: str, *, watch: Watch | None = None, wait: bool = True) -> Run:
        """Report what was changed outside Pulumi (a refresh preview); nothing is written. A drift
        alert is raised while drift exists, and resolved by a check that finds none."""
        return self._start(
            RunKind.DRIFT, actor, lambda e, w: e.drift(w), watch=watch, wait=wait, after=self._alert_drift
        )

    def destroy_tenant(self, code: str, actor: str, *, watch: Watch | None = None, wait: bool = True) -> Run:
        """Remove one department's tenant (only its objects)."""
        cloud = self.declared()
        if code not in {d.code for d in cloud.departments}:
            raise NotFound(f"no tenant {code!r} is declared", hint="see `govops cloud tenants`")
        remaining = cloud.model_dump(mode="json")
        remaining["departments"] = [d for d in remaining["departments"] if d["code"] != code]
        return self._start(
            RunKind.DESTROY_TENANT,
            actor,
            lambda e, w: e.up(w),
            candidate=parse_cloud(remaining),
            target=code,
            watch=watch,
            wait=wait,
        )

    def with_quota(self, code: str, quota: dict[str, Any]) -> CloudSpec:
        raw = self.declared().model_dump(mode="json")
        for d in raw["departments"]:
            if d["code"] == code:
                d["quota"] = {**d["quota"], **quota}
                break
        else:
            raise NotFound(f"no tenant {code!r} is declared", hint="see `govops cloud tenants`")
        try:
            return parse_cloud(raw, "requested quota")
        except DepartmentsInvalid as exc:
            raise ValidationFailed(str(exc)) from None

    # --- reading --------------------------------------------------------------------------------

    def runs(self, limit: int = 20) -> list[Run]:
        with self.sessions() as s:
            return [Run.of(r) for r in s.scalars(select(CloudRun).order_by(CloudRun.id.desc()).limit(limit))]

    def get_run(self, run_id: int) -> Run:
        with self.sessions() as s:
            row = s.get(CloudRun, run_id)
            if row is None:
                raise NotFound(f"run {run_id} not found", hint="see `govops cloud runs`")
            return Run.of(row, with_log=True)

    def tenants(self) -> list[dict[str, Any]]:
        cloud = self.declared()
        return [
            {
                "code": d.code,
                "name": d.name,
                "namespace": d.namespace,
                "zone": d.zone,
                "mlps_level": d.mlps_level,
                "sso_group": cloud.group_of(d),
                "quota": d.quota.model_dump(),
            }
            for d in cloud.departments
        ]

    def usage(self) -> list[dict[str, Any]]:
        """Each declared tenant's quota against its use now, read from the apiserver, the tenants
        nearest a limit first. A tenant not provisioned yet has no usage."""
        live = Apiserver(self._kubeconfig()).quota_usage()
        rows = []
        for t in self.tenants():
            use = live.get(t["namespace"])
            rows.append({**t, "usage": use.as_dict() if use else None})
        return sorted(rows, key=lambda r: -(r["usage"] or {}).get("highest_ratio", -1))

    # --- the run machinery ----------------------------------------------------------------------

    def _engine_config(self, departments_file: Path) -> EngineConfig:
        s = self.settings
        if s.pulumi_passphrase is None and s.environment == "production":
            raise ServiceUnavailable("GOVOPS_PULUMI_PASSPHRASE is not set", hint="set it; it encrypts stack secrets")
        kubeconfig = self._kubeconfig()
        backend = s.pulumi_backend_url or f"file://{s.data_dir / 'pulumi'}"
        if backend.startswith("file://"):
            Path(backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        return EngineConfig(
            stack=self.stack,
            backend_url=backend,
            passphrase=s.pulumi_passphrase.get_secret_value() if s.pulumi_passphrase else "govops-lab",
            kubeconfig=kubeconfig,
            departments_file=departments_file,
            pulumi_home=s.data_dir / "pulumi-home",
            bin_dirs=(self.binaries or PulumiBinaries.from_settings(s)).dirs(),
            registry=self.declared().registry,
            workloads_dir=self.workloads_dir,
        )

    def _kubeconfig(self) -> Path:
        s = self.settings
        kubeconfig = Path(s.kubeconfig or (s.data_dir / "lab" / "kube" / "kubeconfig"))
        if not kubeconfig.exists():
            raise ServiceUnavailable(
                f"kubeconfig {kubeconfig} does not exist",
                hint="set GOVOPS_KUBECONFIG, or start the lab cluster with `govops lab up kube`",
            )
        return kubeconfig

    def _lock(self, kind: RunKind) -> IO[str]:
        """The one busy check: an exclusive lock on the stack, held for the whole run."""
        lock = (self.dir / f"{self.stack}.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            with self.sessions() as s:
                running = s.scalar(
                    select(CloudRun)
                    .where(CloudRun.stack == self.stack, CloudRun.status == RunStatus.RUNNING.value)
                    .order_by(CloudRun.id.desc())
                    .limit(1)
                )
            who = f" (run #{running.id}, {running.kind} by {running.actor})" if running else ""
            raise Conflict(
                f"stack {self.stack} is busy: another run is in progress{who}; {kind.value} refused",
                hint="wait for it to finish; follow it with `govops cloud runs` or /api/cloud/runs/{id}",
            ) from None
        return lock

    def _begin(self, kind: RunKind, actor: str, candidate: CloudSpec | None, target: str | None) -> _Started:
        lock = self._lock(kind)
        try:
            self._engine_config(self.declared_file)  # refuse now, not in a background thread
            for d in (candidate or self.declared()).departments:
                try:
                    load_workloads(self.workloads_dir, d.code)
                except WorkloadInvalid as exc:
                    raise ValidationFailed(str(exc), hint="fix or remove that manifest") from None
            with self.sessions.begin() as s:
                # Holding the lock, any row still "running" belongs to a process that ended mid-run.
                s.execute(
                    update(CloudRun)
                    .where(CloudRun.stack == self.stack, CloudRun.status == RunStatus.RUNNING.value)
                    .values(
                        status=RunStatus.FAILED.value,
                        finished_at=datetime.now(UTC),
                        error="interrupted: the process running it ended",
                    )
                )
                row = CloudRun(
                    stack=self.stack,
                    kind=kind.value,
                    target=target,
                    status=RunStatus.RUNNING.value,
                    actor=actor,
                    started_at=datetime.now(UTC),
                    summary={},
                    log="",
                )
                s.add(row)
                s.flush()
                run_id = row.id
            departments = self.declared_file
            if candidate is not None:
                departments = self.dir / f"departments.candidate-{run_id}.yaml"
                departments.write_text(spec_yaml(candidate), encoding="utf-8")
        except BaseException:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()
            raise
        return _Started(run_id, lock, departments, candidate is not None)

    def _start(
        self,
        kind: RunKind,
        actor: str,
        operation: Operation,
        *,
        candidate: CloudSpec | None = None,
        target: str | None = None,
        watch: Watch | None = None,
        wait: bool = True,
        after: AfterRun | None = None,
        audit_action: str | None = None,
    ) -> Run:
        started = self._begin(kind, actor, candidate, target)
        action = audit_action or f"cloud.{kind.value}"

        def execute() -> Run:
            run = self._execute(kind, action, actor, target, operation, started, watch or Watch())
            if after is not None:
                try:
                    after(run)
                except Exception:  # the run itself is recorded; its follow-up must not kill the thread silently
                    log.exception("cloud run follow-up failed run=%s kind=%s", run.id, kind.value)
                    if wait:
                        raise
            return run

        if wait:
            return execute()
        threading.Thread(target=execute, daemon=True, name=f"cloud-{kind.value}-{started.run_id}").start()
        return self.get_run(started.run_id)

    def _execute(
        self,
        kind: RunKind,
        action: str,
        actor: str,
        target: str | None,
        operation: Operation,
        started: _Started,
        watch: Watch,
    ) -> Run:
        try:
            progress = _Progress(self.sessions, started.run_id, watch)
            try:
                engine = (self.engine_factory or _pulumi_engine)(self._engine_config(started.departments))
                result = operation(engine, Watch(progress.event, progress.output))
            except GovopsError as exc:
                result = EngineResult(False, {}, "".join(progress.buf), exc.message)
            except Exception as exc:  # a background run must end recorded, whatever happened
                result = EngineResult(False, {}, "".join(progress.buf), f"{type(exc).__name__}: {exc}"[:2000])
            if started.candidate:
                if result.ok and kind in (RunKind.UP, RunKind.DESTROY_TENANT):
                    started.departments.replace(self.declared_file)
                else:
                    started.departments.unlink(missing_ok=True)
            with self.sessions.begin() as s:
                row = s.get(CloudRun, started.run_id)
                assert row is not None
                row.status = (RunStatus.SUCCEEDED if result.ok else RunStatus.FAILED).value
                row.finished_at = datetime.now(UTC)
                row.summary = result.counts
                row.changes = [c.as_dict() for c in result.changes]
                row.log = result.output[-LOG_LIMIT:]
                row.error = result.error
                audit.append(
                    s,
                    actor=actor,
                    action=action,
                    target=target or self.stack,
                    result="success" if result.ok else "failure",
                    detail={
                        "run": started.run_id,
                        "changes": result.counts,
                        # Which objects changed, by name: for a revert, what was put back.
                        "resources": sorted(c.name for c in result.changes)[:50],
                    },
                )
                s.flush()
                return Run.of(row)
        finally:
            fcntl.flock(started.lock, fcntl.LOCK_UN)
            started.lock.close()

    def _alert_drift(self, run: Run) -> None:
        if not run.ok:
            return
        fingerprint = DRIFT_FINGERPRINT.format(stack=self.stack)
        with self.sessions.begin() as s:
            if run.changes:
                names = ", ".join(c.name for c in run.changes[:5]) + (" …" if len(run.changes) > 5 else "")
                alerts.raise_alert(
                    s,
                    fingerprint=fingerprint,
                    source="cloud",
                    severity="warning",
                    summary=f"{len(run.changes)} resource(s) of stack {self.stack} changed outside Pulumi: {names}",
                    labels={"stack": self.stack, "run": str(run.id), "alertname": "CloudDrift"},
                )
            else:
                alerts.resolve_alert(s, fingerprint)
