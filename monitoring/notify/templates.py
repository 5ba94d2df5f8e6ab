"""One template per channel kind, Chinese first with an English gloss.

A message is about one event (新告警 firing, 已恢复 resolved, 升级 escalated) of one or more
alerts, or it is the daily operations report (运维日报: its lines in `extra`). Robots take
markdown; mail takes plain text; the generic webhook gets JSON with the same text and the alerts
(or the report) themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from govops.localtime import shown

EVENTS = {
    "firing": "新告警 (firing)",
    "resolved": "已恢复 (resolved)",
    "escalated": "告警升级：超时未认领 (escalated: not claimed)",
    "channel": "通知渠道故障 (notification channel failing)",
    "daily_report": "运维日报 (daily operations report)",
}
REPORT = "daily_report"
SEVERITY_ZH = {"critical": "严重", "warning": "警告", "info": "提示"}
MAX_LISTED = 10


@dataclass
class Message:
    event: str
    alerts: list[dict[str, Any]]
    suppressed: int = 0  # messages the rate limit held back before this one
    console_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        if self.event == REPORT:
            return f"[govops] {EVENTS[REPORT]} {self.extra.get('day', '')}"
        worst = min((a.get("severity", "info") for a in self.alerts), key=_rank, default="info")
        return f"[govops {SEVERITY_ZH.get(worst, worst)}] {EVENTS.get(self.event, self.event)} · {len(self.alerts)} 条"


def _rank(severity: str) -> int:
    return {"critical": 0, "warning": 1, "info": 2}.get(severity, 3)


def _line(a: dict[str, Any], md: bool) -> str:
    sev = SEVERITY_ZH.get(a.get("severity", ""), a.get("severity", ""))
    scope = " ".join(f"{k}={a[k]}" for k in ("camera", "area", "department", "platform") if a.get(k))
    text = f"【{sev}】{a.get('summary', '')}"
    if scope:
        text += f"（{scope}）"
    if a.get("starts_at"):  # the duty officer's clock, not UTC's
        text += f" · 始于 since {shown(a['starts_at'], fmt='%m-%d %H:%M')}"
    if a.get("runbook"):
        text += f"\n  处置 (runbook): {a['runbook']}"
    return f"- {text}" if md else text


def _body(m: Message, md: bool) -> str:
    if m.event == REPORT:
        return _report_body(m, md)
    lines = [f"### {m.title}" if md else m.title, ""]
    lines += [_line(a, md) for a in m.alerts[:MAX_LISTED]]
    if len(m.alerts) > MAX_LISTED:
        lines.append(f"…… 另有 {len(m.alerts) - MAX_LISTED} 条 (and {len(m.alerts) - MAX_LISTED} more)")
    if m.suppressed:
        lines.append(f"另有 {m.suppressed} 条通知因限流未单独发送 ({m.suppressed} held back by the rate limit)")
    if m.console_url:
        lines.append(
            f"[告警收件箱 (alert inbox)]({m.console_url})" if md else f"告警收件箱 (alert inbox): {m.console_url}"
        )
    return "\n".join(lines)


def _report_body(m: Message, md: bool) -> str:
    """The report's own lines; a line that starts indented details the one before it."""
    lines = [f"### {m.title}" if md else m.title, ""]
    lines += [f"- {line}" if md and not line.startswith(" ") else line for line in m.extra.get("lines", [])]
    if m.extra.get("url"):
        lines.append(f"[运维日报 (console)]({m.extra['url']})" if md else f"运维日报 (console): {m.extra['url']}")
    return "\n".join(lines)


def wecom(m: Message) -> dict[str, Any]:
    """企业微信群机器人 (also 政务微信): markdown message."""
    return {"msgtype": "markdown", "markdown": {"content": _body(m, md=True)[:4000]}}


def dingtalk(m: Message) -> dict[str, Any]:
    """钉钉自定义机器人 (also 浙政钉): markdown message with a title."""
    return {"msgtype": "markdown", "markdown": {"title": m.title, "text": _body(m, md=True)[:4000]}}


def webhook(m: Message) -> dict[str, Any]:
    return {
        "event": m.event,
        "title": m.title,
        "text": _body(m, md=False),
        "suppressed": m.suppressed,
        "alerts": m.alerts,
        **({"report": m.extra["report"]} if m.event == REPORT else {}),
    }


def mail(m: Message) -> tuple[str, str]:
    return m.title, _body(m, md=False)
