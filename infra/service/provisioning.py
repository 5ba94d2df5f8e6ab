"""Provisioning: preview, up, refresh and tenant removal, each stored as a run.

The declared departments live in <data_dir>/cloud/departments.yaml (seeded from the repo's
sample). A change (a quota approval, a tenant removal) is written to a candidate file first; the
declared file is replaced only after `up` succeeds, so a failed run loses nothing and the next
run converges. One run per stack at a time: a second one is refused with a clear message.
"""

from __future__ import annotations

import fcntl
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govops import audit
from govops.errors import Conflict, GovopsError, NotFound, ValidationFailed
from govops.settings import Settings
from infra.model import CloudSpec, DepartmentsInvalid, load_cloud, parse_cloud
from infra.service.engine import EngineConfig, EngineResult, EventSink, PulumiEngine
from infra.service.models import CloudRun

SAMPLE = Path(__file__).resolve().parents[1] / "departments.yaml"
LOG_LIMIT = 256 * 1024


def _bin_dirs() -> list[Path]:
    from tools.components import ComponentMissing, component_dir

    try:
        return [
            component_dir("pulumi", "PULUMI_VERSION") / "bin",
            component_dir("pulumi-kubernetes", "PULUMI_KUBERNETES_VERSION") / "bin",
        ]
    except ComponentMissing as exc:
        raise GovopsError(str(exc), hint="run `make tools`") from None


class _LogStream:
    """Passes engine output on, and flushes it to the run row every couple of seconds so the API
    can show progress of a run still going."""

    def __init__(self, sessions: sessionmaker[Session], run_id: int, passthrough: Callable[[str], None] | None) -> None:
        self.sessions, self.run_id, self.passthrough = sessions, run_id, passthrough
        self.buf: list[str] = []
        self.flushed = time.monotonic()

    def __call__(self, line: str) -> None:
        self.buf.append(line)
        if self.passthrough:
            self.passthrough(line)
        if time.monotonic() - self.flushed > 2:
            self.flushed = time.monotonic()
            with self.sessions.begin() as s:
                row = s.get(CloudRun, self.run_id)
                if row is not None:
                    row.log = "".join(self.buf)[-LOG_LIMIT:]


class Provisioning:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        engine_factory: Callable[[EngineConfig], PulumiEngine] = PulumiEngine,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.engine_factory = engine_factory
        self.dir = settings.ensure_data_dir() / "cloud"
        self.dir.mkdir(exist_ok=True)
        self.declared_file = self.dir / "departments.yaml"
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

    def _engine(self, departments_file: Path) -> PulumiEngine:
        s = self.settings
        if s.pulumi_passphrase is None and s.environment == "production":
            raise GovopsError("GOVOPS_PULUMI_PASSPHRASE is not set", hint="set it; it encrypts stack secrets")
        kubeconfig = s.kubeconfig or (s.data_dir / "lab" / "kube" / "kubeconfig")
        backend = s.pulumi_backend_url or f"file://{s.data_dir / 'pulumi'}"
        if backend.startswith("file://"):
            Path(backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        return self.engine_factory(
            EngineConfig(
                stack=self.stack,
                backend_url=backend,
                passphrase=s.pulumi_passphrase.get_secret_value() if s.pulumi_passphrase else "govops-lab",
                kubeconfig=Path(kubeconfig),
                departments_file=departments_file,
                pulumi_home=s.data_dir / "pulumi-home",
                bin_dirs=_bin_dirs(),
                registry=self.declared().registry,
            )
        )

    @contextmanager
    def _exclusive(self, kind: str) -> Iterator[None]:
        lock = (self.dir / f"{self.stack}.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with self.sessions() as s:
                running = s.scalar(
                    select(CloudRun)
                    .where(CloudRun.stack == self.stack, CloudRun.status == "running")
                    .order_by(CloudRun.id.desc())
                    .limit(1)
                )
            who = f" (run #{running.id}, {running.kind} by {running.actor})" if running else ""
            lock.close()
            raise Conflict(
                f"stack {self.stack} is busy: another run is in progress{who}; {kind} refused",
                hint="wait for it to finish; see `govops cloud runs`",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    def run(
        self,
        kind: str,
        actor: str,
        *,
        candidate: CloudSpec | None = None,
        target: str | None = None,
        on_event: EventSink | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        with self._exclusive(kind):
            with self.sessions.begin() as s:
                run = CloudRun(
                    stack=self.stack,
                    kind=kind,
                    target=target,
                    status="running",
                    actor=actor,
                    started_at=datetime.now(UTC),
                    summary={},
                    log="",
                )
                s.add(run)
            departments = self.declared_file
            if candidate is not None:
                departments = self.dir / f"departments.candidate-{run.id}.yaml"
                departments.write_text(
                    yaml.safe_dump(candidate.model_dump(mode="json"), allow_unicode=True, sort_keys=False),
                    encoding="utf-8",
                )
            stream = _LogStream(self.sessions, run.id, on_output)
            try:
                engine = self._engine(departments)
                op = "up" if kind == "destroy-tenant" else kind
                result: EngineResult = getattr(engine, op)(on_event=on_event, on_output=stream)
            except GovopsError as exc:
                result = EngineResult(False, {}, "", exc.message)
            if result.ok and candidate is not None and kind in ("up", "destroy-tenant"):
                departments.replace(self.declared_file)
            elif candidate is not None:
                departments.unlink(missing_ok=True)
            with self.sessions.begin() as s:
                row = s.get(CloudRun, run.id)
                assert row is not None
                row.status = "succeeded" if result.ok else "failed"
                row.finished_at = datetime.now(UTC)
                row.summary = result.changes
                row.log = result.output[-LOG_LIMIT:]
                row.error = result.error
                audit.append(
                    s,
                    actor=actor,
                    action=f"cloud.{kind}",
                    target=target or self.stack,
                    result="success" if result.ok else "failure",
                    detail={"run": run.id, "changes": result.changes},
                )
                return row.as_dict()

    def preview(self, actor: str, candidate: CloudSpec | None = None, **kw: Any) -> dict[str, Any]:
        return self.run("preview", actor, candidate=candidate, **kw)

    def up(self, actor: str, candidate: CloudSpec | None = None, **kw: Any) -> dict[str, Any]:
        return self.run("up", actor, candidate=candidate, **kw)

    def refresh(self, actor: str, **kw: Any) -> dict[str, Any]:
        return self.run("refresh", actor, **kw)

    def destroy_tenant(self, code: str, actor: str, **kw: Any) -> dict[str, Any]:
        cloud = self.declared()
        if code not in {d.code for d in cloud.departments}:
            raise NotFound(f"no tenant {code!r} is declared", hint="see `govops cloud tenants`")
        remaining = cloud.model_dump(mode="json")
        remaining["departments"] = [d for d in remaining["departments"] if d["code"] != code]
        return self.run("destroy-tenant", actor, candidate=parse_cloud(remaining), target=code, **kw)

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

    def runs(self, limit: int = 20, before: int | None = None) -> list[dict[str, Any]]:
        """The newest runs first; `before` pages on (runs with a smaller id)."""
        stmt = select(CloudRun).order_by(CloudRun.id.desc()).limit(limit)
        if before is not None:
            stmt = stmt.where(CloudRun.id < before)
        with self.sessions() as s:
            return [r.as_dict() for r in s.scalars(stmt)]

    def get_run(self, run_id: int) -> dict[str, Any]:
        with self.sessions() as s:
            run = s.get(CloudRun, run_id)
            if run is None:
                raise NotFound(f"run {run_id} not found", hint="see `govops cloud runs`")
            return run.as_dict(with_log=True)

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
