"""Why a device could not be onboarded, in words an engineer can act on.

Every failure of one device becomes a `DeviceError` with a `kind` (a short stable code for
scripts), the onboarding `step` it happened in, and a message. Nothing a device sends ends up in
a traceback, and the message never carries more than a short, cleaned excerpt of its answer.
"""

from __future__ import annotations

from govops.errors import ServiceUnavailable

KINDS = (
    "unreachable",  # connection refused, no route, DNS
    "timeout",  # no (complete) answer in time
    "auth",  # WS-Security credentials refused
    "soap_fault",  # the device answered with a SOAP fault
    "hostile",  # DTD / entities / oversized answer: refused before parsing
    "malformed",  # not XML, or XML whose values do not fit the ONVIF schema
    "unsupported",  # a required service or profile is missing
    "protocol",  # anything else the client library raised
)


def excerpt(text: object, limit: int = 160) -> str:
    """A short, printable excerpt of something a device sent (never a 50 MB log line)."""
    s = " ".join(str(text).split())
    s = "".join(ch if ch.isprintable() else "?" for ch in s)
    return s if len(s) <= limit else s[: limit - 1] + "…"


class DeviceError(ServiceUnavailable):
    code = "device_error"

    def __init__(self, kind: str, message: str, *, step: str | None = None, hint: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown device error kind {kind!r}")
        super().__init__(message, hint=hint)
        self.kind = kind
        self.step = step

    def at(self, step: str) -> DeviceError:
        if self.step is None:
            self.step = step
        return self

    def as_dict(self) -> dict[str, str]:
        body = super().as_dict()
        body["kind"] = self.kind
        if self.step:
            body["step"] = self.step
        return body


class AnswerRejected(DeviceError):
    """Raised inside the transport, before any XML parser sees the bytes."""

    def __init__(self, message: str) -> None:
        super().__init__("hostile", message)
