"""Structured logging (key=value) that never writes a secret."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# The request being served (the gateway sets it per request): every log line names it.
request_id: ContextVar[str | None] = ContextVar("govops_request_id", default=None)

SECRET_KEYS = re.compile(r"(password|passwd|secret|token|authorization|api_key|private_key)", re.I)
_PAIR = re.compile(r"((?:password|passwd|secret|token|authorization|api_key|client_secret)\s*[=:]\s*)([^\s,&;]+)", re.I)
_URL_CREDS = re.compile(r"(\w+://[^:/\s]+:)([^@/\s]+)(@)")


def redact(text: str) -> str:
    text = _URL_CREDS.sub(r"\1***\3", text)
    return _PAIR.sub(r"\1***", text)


def _fmt(value: Any) -> str:
    s = str(value)
    return f'"{s}"' if (" " in s or "=" in s) else s


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {}) or {}
        parts = [
            f"ts={self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={_fmt(record.getMessage())}",
        ]
        rid = request_id.get()
        if rid:
            parts.append(f"request_id={rid}")
        for key, value in fields.items():
            parts.append(f"{key}={'***' if SECRET_KEYS.search(key) else _fmt(value)}")
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(f"error={_fmt(record.exc_info[1].__class__.__name__)}")
        return redact(" ".join(parts))


def _stderr() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    return handler


def setup_cli_logging() -> None:
    """A command's log records (warnings and worse, the default level) through the redacting
    formatter, unless something configured logging already (a test runner, `govops serve`)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(_stderr())


@contextmanager
def root_logging_kept() -> Iterator[None]:
    """Undo what an import does to the root logger. onvif-zeep-async calls
    `logging.basicConfig(level=INFO)` when imported: every library's INFO records would then
    reach stderr unredacted, httpx's request lines with a camera's password in the URL among
    them."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    root.handlers[:] = [_stderr()]
    root.setLevel(level.upper())


def log(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, msg, extra={"fields": fields})
