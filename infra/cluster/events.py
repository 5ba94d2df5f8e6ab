"""What one ansible-runner event says about a host, as a person reads it: the cause of a failure in
one line, and the diff a `--check --diff` task would apply."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

MAX_LINE = 300
MAX_DIFF = 4000
# What the ssh client itself adds to a command's stderr, never the command's own words.
SSH_NOISE = re.compile(r"^(ControlSocket .* already exists, disabling multiplexing|Shared connection to .* closed\.?)$")


@dataclass
class HostOutcome:
    host: str
    status: str = "ok"  # ok | changed | failed | unreachable
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    duration_s: float = 0.0
    failure: str | None = None
    diffs: list[dict[str, str]] = field(default_factory=list)
    controls: dict[str, Any] | None = None

    def count(self, stats: dict[str, int]) -> None:
        self.ok = stats.get("ok", 0)
        self.changed = stats.get("changed", 0)
        self.failed = stats.get("failures", 0)
        self.unreachable = stats.get("dark", 0)
        self.skipped = stats.get("skipped", 0)
        if self.unreachable:
            self.status = "unreachable"
        elif self.failed:
            self.status = "failed"
        elif self.changed:
            self.status = "changed"
        else:
            self.status = "ok"


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())[:MAX_LINE]


def _cause(res: dict[str, Any]) -> str:
    """The words that explain a failed or unreachable result, digging into loop items."""
    msg = str(res.get("msg") or "")
    items = res.get("results")
    if isinstance(items, list):  # a loop: "All items completed" hides the item that failed
        for item in items:
            if isinstance(item, dict) and (item.get("failed") or item.get("unreachable")):
                return _cause(item)
    stderr = str(res.get("module_stderr") or "").strip()
    if stderr and ("interpreter" in msg or "MODULE FAILURE" in msg or not msg):
        # a target without Python: the shell's own message says which interpreter is missing
        last = [ln for ln in stderr.splitlines() if ln.strip()][-1:]
        return f"{msg.splitlines()[0] if msg else 'module failure'}: {last[0] if last else stderr}"
    if not msg and res.get("stderr"):
        return str(res["stderr"])
    if "rc" in res and (res.get("stderr") or res.get("stdout")):
        # a command: "non-zero return code" says nothing; its own error line does
        lines = [ln for ln in _said(res.get("stderr")) if not SSH_NOISE.match(ln)] or _said(res.get("stdout"))
        said = next((ln for ln in lines if "error" in ln.lower()), lines[-1] if lines else "")
        return f"{msg or 'failed'} (rc {res['rc']}): {said}"
    return msg or "failed without a message"


def _said(text: Any) -> list[str]:
    return [ln.strip() for ln in str(text or "").splitlines() if ln.strip()]


def failure_line(what: str, task: str, res: dict[str, Any]) -> str:
    cause = _cause(res)
    if what == "unreachable":
        # "Failed to connect to the host via ssh: ssh: connect to host … Connection refused"
        cause = cause.removeprefix("Failed to connect to the host via ssh: ")
        return _one_line(f"unreachable: {cause}")
    return _one_line(f"{task}: {cause}")


def diff_text(res: dict[str, Any]) -> str:
    """The unified diff of a task result (`--diff`), items of a loop included."""
    diffs: list[Any] = []
    for holder in [res, *[r for r in res.get("results") or [] if isinstance(r, dict)]]:
        d = holder.get("diff")
        if isinstance(d, list):
            diffs += d
        elif isinstance(d, dict):
            diffs.append(d)
    out: list[str] = []
    for d in diffs:
        if not isinstance(d, dict):
            continue
        if d.get("prepared"):
            out.append(str(d["prepared"]))
            continue
        before, after = d.get("before"), d.get("after")
        if (before is None and after is None) or before == after:
            continue
        if isinstance(before, dict) or isinstance(after, dict):  # file state: path, mode, owner
            out.append(f"{d.get('before_header') or 'state'}: {before} → {after}")
            continue
        out += difflib.unified_diff(
            str(before or "").splitlines(),
            str(after or "").splitlines(),
            str(d.get("before_header") or "before"),
            str(d.get("after_header") or "after"),
            lineterm="",
        )
    return "\n".join(out)[:MAX_DIFF]
