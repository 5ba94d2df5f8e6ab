"""Errors that carry a message a person can act on.

The CLI prints them as one line (exit 1, or 2 for usage and configuration mistakes); the API
returns them as RFC 9457 problem details (`application/problem+json`) with the matching HTTP
status. Neither shows a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:govops:problem:"


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    hint: str | None = None,
    request_id: str | None = None,
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One RFC 9457 problem object. `error` (the code) and `message` (= detail) stay as extension
    members, so clients written against the earlier `{"error", "message", "hint"}` shape keep working."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "hint": hint,
        "request_id": request_id,
        "error": code,
        "message": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


class GovopsError(Exception):
    http_status = 400
    exit_code = 1
    code = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def as_dict(self) -> dict[str, str]:
        body = {"error": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return body

    def as_problem(self, *, request_id: str | None = None, instance: str | None = None) -> dict[str, Any]:
        return problem(
            self.http_status, self.code, self.message, hint=self.hint, request_id=request_id, instance=instance
        )


class ConfigError(GovopsError):
    """Settings that cannot work: a bad database URL, an unwritable data directory, an outside
    service (Keycloak) that is not configured. To an API client the feature is unavailable (503),
    and the hint says which setting to make."""

    http_status = 503
    exit_code = 2
    code = "config_error"


class ValidationFailed(GovopsError):
    http_status = 422
    exit_code = 2
    code = "validation_failed"


class NotFound(GovopsError):
    http_status = 404
    code = "not_found"


class Conflict(GovopsError):
    http_status = 409
    code = "conflict"


class Unauthenticated(GovopsError):
    http_status = 401
    code = "unauthenticated"


class PermissionDenied(GovopsError):
    http_status = 403
    code = "permission_denied"


class ServiceUnavailable(GovopsError):
    """An outside service (Keycloak, a camera, the apiserver) did not answer."""

    http_status = 503
    code = "service_unavailable"


def did_you_mean(unknown: Iterable[str], known: Iterable[str]) -> str:
    """The start of the hint of an error about a misspelt name: `did you mean X? ` for the known
    names closest to the unknown ones, or nothing when none is close."""
    known = list(known)
    close = [m for name in unknown for m in difflib.get_close_matches(name, known, n=1)]
    return f"did you mean {', '.join(close)}? " if close else ""
