"""统一运维 总览 — the state of every subsystem and since when, in one call.

`StatusBoard.snapshot()` is the one domain function behind `GET /api/v1/status`, the `/status`
page and the command-centre screen. Each probe runs in its own thread with its own timeout; the
board waits a short budget and answers with what it has, so a dead subsystem cannot stall it.
"""

from monitoring.status.board import StatusBoard, StatusContext
from monitoring.status.model import Check, State

__all__ = ["Check", "State", "StatusBoard", "StatusContext"]
