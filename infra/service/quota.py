"""Quota requests: a department admin asks, an ops engineer approves (preview, then up) or
rejects. Every step is audited. Approval applies through the same run path as everything else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from govops import audit
from govops.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from govops.principal import DEPT_ADMIN, OPS_ENGINEER, Principal
from infra.model import Quota
from infra.service.models import QuotaRequest
from infra.service.provisioning import Provisioning


class QuotaDesk:
    def __init__(self, provisioning: Provisioning) -> None:
        self.p = provisioning
        self.sessions = provisioning.sessions

    def request(self, principal: Principal, department: str, quota: dict[str, Any], reason: str) -> dict[str, Any]:
        if not principal.has(OPS_ENGINEER) and not (principal.has(DEPT_ADMIN) and principal.department == department):
            raise PermissionDenied(f"you may request quota only for your own department ({principal.department})")
        if not reason.strip():
            raise ValidationFailed("a quota request needs a reason", hint="say what the quota is for")
        try:
            clean = Quota.model_validate({**self._current(department), **quota}).model_dump()
        except ValueError as exc:
            raise ValidationFailed(f"requested quota is not valid: {exc}") from None
        with self.sessions.begin() as s:
            req = QuotaRequest(
                department=department,
                quota=clean,
                reason=reason.strip()[:1000],
                status="pending",
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

    def _pending(self, request_id: int) -> QuotaRequest:
        with self.sessions() as s:
            req = s.get(QuotaRequest, request_id)
        if req is None:
            raise NotFound(f"quota request {request_id} not found")
        if req.status != "pending":
            raise Conflict(f"quota request {request_id} is already {req.status}")
        return req

    def list(self, principal: Principal, *, before: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """The newest requests first; `before` pages on (requests with a smaller id)."""
        with self.sessions() as s:
            stmt = select(QuotaRequest).order_by(QuotaRequest.id.desc()).limit(limit)
            if before is not None:
                stmt = stmt.where(QuotaRequest.id < before)
            if not principal.has(OPS_ENGINEER):
                stmt = stmt.where(QuotaRequest.department == (principal.department or ""))
            return [r.as_dict() for r in s.scalars(stmt)]

    def reject(self, principal: Principal, request_id: int, note: str) -> dict[str, Any]:
        self._pending(request_id)
        with self.sessions.begin() as s:
            req = s.get(QuotaRequest, request_id)
            assert req is not None
            req.status, req.decided_by, req.decided_at, req.decision_note = (
                "rejected",
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

    def approve(self, principal: Principal, request_id: int, **run_kw: Any) -> dict[str, Any]:
        req = self._pending(request_id)
        candidate = self.p.with_quota(req.department, req.quota)
        with self.sessions.begin() as s:
            row = s.get(QuotaRequest, request_id)
            assert row is not None
            row.status, row.decided_by, row.decided_at = "approved", principal.subject, datetime.now(UTC)
            audit.append(
                s,
                actor=principal.subject,
                action="cloud.quota.approve",
                target=req.department,
                detail={"request": req.id},
            )
        preview = self.p.preview(principal.subject, candidate=candidate, target=req.department, **run_kw)
        run = preview
        if preview["status"] == "succeeded":
            run = self.p.up(principal.subject, candidate=candidate, target=req.department, **run_kw)
        with self.sessions.begin() as s:
            row = s.get(QuotaRequest, request_id)
            assert row is not None
            row.status = "applied" if run["status"] == "succeeded" else "failed"
            row.run_id = run["id"]
            return {**row.as_dict(), "run": run}
