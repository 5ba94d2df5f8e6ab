"""Errors that carry a message a person can act on.

The CLI prints them as one line (exit 1, or 2 for usage and configuration mistakes); the API
returns them as JSON with the matching HTTP status. Neither shows a traceback.
"""

from __future__ import annotations


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


class ConfigError(GovopsError):
    """Settings that cannot work: a bad database URL, an unwritable data directory."""

    http_status = 500
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
