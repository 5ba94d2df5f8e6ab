"""The one adapter over Alertmanager's v2 API: silences (create, list, expire).

A silence lives in Alertmanager, not here: Alertmanager is what stops the notifications, and it
keeps silences across its cluster peers. The inbox only shows them and records who made them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from govops.errors import NotFound, ServiceUnavailable, ValidationFailed

TIMEOUT = 10.0
MAX_DURATION_H = 24 * 30


def _matchers(matchers: dict[str, str]) -> list[dict[str, Any]]:
    if not matchers:
        raise ValidationFailed("a silence needs at least one label matcher", hint="e.g. alertname=CameraFaultRateHigh")
    for name, value in matchers.items():
        if not name or not value:
            raise ValidationFailed(f"matcher {name!r}={value!r} needs a label name and a value")
    return [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(matchers.items())]


class Alertmanager:
    def __init__(self, base_url: str | None, *, transport: httpx.BaseTransport | None = None) -> None:
        if not base_url:
            raise ServiceUnavailable(
                "no Alertmanager is configured for silences",
                hint="set GOVOPS_ALERTS_ALERTMANAGER_URL (e.g. from `govops lab status`)",
            )
        self.base_url = base_url.rstrip("/")
        self._transport = transport

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            with httpx.Client(base_url=self.base_url, timeout=TIMEOUT, transport=self._transport) as client:
                r = client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"Alertmanager at {self.base_url} did not answer: {type(exc).__name__}",
                hint="check `govops lab status` or GOVOPS_ALERTS_ALERTMANAGER_URL",
            ) from None
        if r.status_code == 404:
            raise NotFound("Alertmanager does not know that silence", hint="govops alerts silences")
        if r.status_code == 400:
            raise ValidationFailed(f"Alertmanager refused the silence: {r.text.strip()[:200]}")
        if r.status_code >= 300:
            raise ServiceUnavailable(f"Alertmanager answered {r.status_code}", hint="see Alertmanager's log")
        return r

    def create_silence(self, matchers: dict[str, str], *, hours: float, created_by: str, comment: str) -> str:
        if not 0 < hours <= MAX_DURATION_H:
            raise ValidationFailed(f"a silence lasts more than 0 and at most {MAX_DURATION_H} hours")
        if not comment.strip():
            raise ValidationFailed("a silence needs a comment (why it is silenced)")
        now = datetime.now(UTC)
        body = {
            "matchers": _matchers(matchers),
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=hours)).isoformat(),
            "createdBy": created_by,
            "comment": comment.strip()[:1000],
        }
        return str(self._request("POST", "/api/v2/silences", json=body).json()["silenceID"])

    def silences(self, *, include_expired: bool = False) -> list[dict[str, Any]]:
        rows = []
        for s in self._request("GET", "/api/v2/silences").json():
            state = s.get("status", {}).get("state")
            if state == "expired" and not include_expired:
                continue
            rows.append(
                {
                    "id": s["id"],
                    "state": state,
                    "matchers": {m["name"]: m["value"] for m in s.get("matchers", [])},
                    "created_by": s.get("createdBy"),
                    "comment": s.get("comment"),
                    "starts_at": s.get("startsAt"),
                    "ends_at": s.get("endsAt"),
                    "updated_at": s.get("updatedAt"),
                }
            )
        rows.sort(key=lambda r: r["starts_at"] or "", reverse=True)
        return rows

    def expire_silence(self, silence_id: str) -> None:
        if not silence_id or not all(c.isalnum() or c == "-" for c in silence_id) or len(silence_id) > 64:
            raise ValidationFailed("a silence id is a UUID", hint="govops alerts silences")
        self._request("DELETE", f"/api/v2/silence/{silence_id}")
