"""Quota requests that a person reads: a department admin asks; an ops engineer previews the
change (the diff of that tenant's objects), then approves exactly what was previewed, which starts
an `up` (in the background for the API); a failed run leaves the request approvable again.
Every step is audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import CursorResult, select, update

from govops import audit
from govops.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from govops.principal import DEPT_ADMIN, OPS_ENGINEER, Principal
from infra.model import CloudSpec, Quota
from infra.provisioning.contract import Watch
from infra.provisioning.models import QuotaRequest
from infra.provisioning.runs import Run
from infra.provisioning.service import Provisioning, spec_digest

PENDING, APPLYING, APPLIED, REJECTED = "pending", "applying", "applied", "rejected"


class QuotaDesk:
    def __init__(self, provisioning: Provisioning) -> None:
        self.p = provisioning
        self.sessions = provisioning.sessions

    def request(self, principal: Principal, department: str, quota: dict[str, Any], reason: str) -> dict[str, Any]:
        if not principal.has(OPS_ENGINEER) and not (principal.has(DEPT_ADMIN) and principal.department == department):
            raise PermissionDenied(f"you may request quota only for your own department ({principal.department})")
        if not reason.strip():
            raise ValidationFailed("a quota request needs a reason", hint="say what the quota is for")
        unknown = set(quota) - set(Quota.model_fields)
        if unknown:
            raise ValidationFailed(
                f"unknown quota field(s): {', '.join(sorted(unknown))}", hint=f"use {', '.join(Quota.model_fields)}"
            )
        try:
            clean = Quota.model_validate({**self._current(department), **quota}).model_dump()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValidationFailed(
                f"requested quota is not valid: {where}: {first['msg'].removeprefix('Value error, ')}",
                hint="quantities look like 4, 500m, 8Gi; pods is a whole number",
            ) from None
        with self.sessions.begin() as s:
            req = QuotaRequest(
                department=department,
                quota=clean,
                reason=reason.strip()[:1000],
                status=PENDING,
                requested_by=principal.subject,
                requested_at=datetime.now(UTC),
            )
            s.add(req)
            s.flush()
            audit.append(
                s,
                actor=principal.subject,
                action="cloud.quota.request",
                target=department,
                detail={"request": req.id, "quota": clean},
            )
            return req.as_dict()

    def _current(self, department: str) -> dict[str, Any]:
        for d in self.p.declared().departments:
            if d.code == department:
                return d.quota.model_dump()
        raise NotFound(f"no tenant {department!r} is declared", hint="see `govops cloud tenants`")

    def _get(self, request_id: int) -> QuotaRequest:
        with self.sessions() as s:
            req = s.get(QuotaRequest, request_id)
        if req is None:
            raise NotFound(f"quota request {request_id} not found", hint="see `govops cloud quota-requests`")
        return req

    def _pending(self, request_id: int) -> QuotaRequest:
        req = self._get(request_id)
        if req.status != PENDING:
            raise Conflict(f"quota request {request_id} is {req.status}, not pending")
        return req

    def _candidate(self, req: QuotaRequest) -> CloudSpec:
        return self.p.with_quota(req.department, req.quota)

    def list(self, principal: Principal) -> list[dict[str, Any]]:
        with self.sessions() as s:
            stmt = select(QuotaRequest).order_by(QuotaRequest.id.desc()).limit(200)
            if not principal.has(OPS_ENGINEER):
                stmt = stmt.where(QuotaRequest.department == (principal.department or ""))
            return [r.as_dict() for r in s.scalars(stmt)]

    def show(self, principal: Principal, request_id: int) -> dict[str, Any]:
        """The request with the diff of its preview, if one ran, and whether it is still current."""
        req = self._get(request_id)
        if not principal.has(OPS_ENGINEER) and req.department != principal.department:
            raise NotFound(f"quota request {request_id} not found")
        out = req.as_dict()
        out["preview"] = self.p.get_run(req.preview_run_id).as_dict() if req.preview_run_id else None
        out["preview_current"] = self._preview_current(req)
        if out["preview"]:
            out["preview"].pop("log", None)
        return out

    def _preview_current(self, req: QuotaRequest) -> bool:
        if req.preview_run_id is None or req.status != PENDING:
            return False
        try:
            return req.preview_digest == spec_digest(self._candidate(req))
        except (NotFound, ValidationFailed):
            return False

    def preview(self, principal: Principal, request_id: int, *, watch: Watch | None = None, wait: bool = True) -> Run:
        """Preview the requested change: the diff the approver reads before approving."""
        req = self._pending(request_id)
        candidate = self._candidate(req)
        digest = spec_digest(candidate)

        def remember(run: Run) -> None:
            with self.sessions.begin() as s:
                row = s.get(QuotaRequest, request_id)
                assert row is not None
                if run.ok:
                    row.preview_run_id, row.preview_digest = run.id, digest
                audit.append(
                    s,
                    actor=principal.subject,
                    action="cloud.quota.preview",
                    target=row.department,
                    result="success" if run.ok else "failure",
                    detail={"request": request_id, "run": run.id, "changes": len(run.changes)},
                )

        return self.p.preview(
            principal.subject, candidate=candidate, target=req.department, watch=watch, wait=wait, after=remember
        )

    def approve(
        self, principal: Principal, request_id: int, *, watch: Watch | None = None, wait: bool = True
    ) -> tuple[dict[str, Any], Run]:
        """Apply exactly the previewed change. Returns the request (now applying) and the `up` run
        (running when wait=False, finished otherwise)."""
        req = self._pending(request_id)
        candidate = self._candidate(req)
        if req.preview_run_id is None or req.preview_digest != spec_digest(candidate):
            raise Conflict(
                f"quota request {request_id} has no current preview: read the change before approving it",
                hint=f"run `govops cloud quota-preview {request_id}` (API: POST …/quota-requests/{request_id}/preview)",
            )
        with self.sessions.begin() as s:
            claimed = cast(
                CursorResult[Any],
                s.execute(
                    update(QuotaRequest)
                    .where(QuotaRequest.id == request_id, QuotaRequest.status == PENDING)
                    .values(status=APPLYING, decided_by=principal.subject, decided_at=datetime.now(UTC))
                ),
            ).rowcount
            if not claimed:
                raise Conflict(f"quota request {request_id} is no longer pending")
            audit.append(
                s,
                actor=principal.subject,
                action="cloud.quota.approve",
                target=req.department,
                detail={"request": request_id, "preview_run": req.preview_run_id},
            )
        try:
            run = self.p.up(
                principal.subject,
                candidate=candidate,
                target=req.department,
                watch=watch,
                wait=wait,
                after=self._applied(principal, request_id),
            )
        except Exception:
            self._reopen(request_id, "the run could not start")
            raise
        return self._get(request_id).as_dict(), run

    def _applied(self, principal: Principal, request_id: int) -> Callable[[Run], None]:
        def done(run: Run) -> None:
            with self.sessions.begin() as s:
                row = s.get(QuotaRequest, request_id)
                assert row is not None
                row.run_id = run.id
                if run.ok:
                    row.status = APPLIED
                else:  # approvable again once the cause is fixed
                    row.status, row.decision_note = PENDING, f"run #{run.id} failed: {run.error or ''}"[:1000]
                audit.append(
                    s,
                    actor=principal.subject,
                    action="cloud.quota.apply",
                    target=row.department,
                    result="success" if run.ok else "failure",
                    detail={"request": request_id, "run": run.id},
                )

        return done

    def _reopen(self, request_id: int, note: str) -> None:
        with self.sessions.begin() as s:
            row = s.get(QuotaRequest, request_id)
            if row is not None and row.status == APPLYING:
                row.status, row.decision_note = PENDING, note

    def reject(self, principal: Principal, request_id: int, note: str) -> dict[str, Any]:
        self._pending(request_id)
        with self.sessions.begin() as s:
            req = s.get(QuotaRequest, request_id)
            assert req is not None
            req.status, req.decided_by, req.decided_at, req.decision_note = (
                REJECTED,
                principal.subject,
                datetime.now(UTC),
                note[:1000],
            )
            audit.append(
                s,
                actor=principal.subject,
                action="cloud.quota.reject",
                target=req.department,
                detail={"request": req.id, "note": note[:200]},
            )
            return req.as_dict()
