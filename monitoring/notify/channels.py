"""Channels: where a message goes, each with a per-channel rate limit.

A channel's URL (a robot key sits in its query) and its SMTP password are secrets: they are
never logged and never shown by the API; a channel is named by its `name` everywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator

from govops.errors import ConfigError
from govops.inputs import UTF8_HINT
from monitoring.notify import templates
from monitoring.notify.templates import Message

KINDS = ("webhook", "wecom", "dingtalk", "smtp")


class ChannelConfig(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: str
    url: SecretStr | None = None  # webhook, wecom, dingtalk
    secret: SecretStr | None = None  # DingTalk 加签 secret
    severities: list[str] = Field(default_factory=lambda: ["critical", "warning"])
    # "daily_report" (运维日报) only where a channel lists it: the duty group's robot, not the pager.
    events: list[str] = Field(default_factory=lambda: ["firing", "resolved", "escalated", "channel"])
    rate_per_minute: int = Field(default=20, ge=1, le=10_000)
    # SMTP
    host: str | None = None
    port: int = 25
    sender: str | None = None
    to: list[str] = Field(default_factory=list)
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False

    @model_validator(mode="after")
    def _complete(self) -> ChannelConfig:
        if self.kind not in KINDS:
            raise ValueError(f"channel kind must be one of {', '.join(KINDS)}")
        unknown = [e for e in self.events if e not in templates.EVENTS]
        if unknown:
            raise ValueError(f"unknown event(s) {', '.join(unknown)}: events are among {', '.join(templates.EVENTS)}")
        if self.kind == "smtp" and not (self.host and self.sender and self.to):
            raise ValueError("an smtp channel needs host, sender and to")
        if self.kind != "smtp" and self.url is None:
            raise ValueError(f"a {self.kind} channel needs url")
        return self


class DeliveryFailed(Exception):
    """One attempt failed; the message says why without the channel's secrets."""


class RateLimiter:
    """A token bucket: `rate` messages a minute, bursts up to `rate`."""

    def __init__(self, rate_per_minute: int, clock: Any = time.monotonic) -> None:
        self.capacity = float(rate_per_minute)
        self.tokens = float(rate_per_minute)
        self.per_second = rate_per_minute / 60.0
        self.clock = clock
        self.last = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.per_second)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass
class Channel:
    config: ChannelConfig
    limiter: RateLimiter = field(init=False)
    suppressed: int = 0
    consecutive_failures: int = 0

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.config.rate_per_minute)

    @property
    def name(self) -> str:
        return self.config.name

    def wants(self, m: Message) -> bool:
        if m.event not in self.config.events:
            return False
        if m.event == templates.REPORT:  # a report has no severity: the channel opted in by name
            return True
        return any(a.get("severity") in self.config.severities for a in m.alerts)

    def _url(self) -> str:
        assert self.config.url is not None
        url = self.config.url.get_secret_value()
        if self.config.kind == "dingtalk" and self.config.secret is not None:
            ts = str(int(time.time() * 1000))
            secret = self.config.secret.get_secret_value()
            digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
            sign = urllib.parse.quote_plus(base64.b64encode(digest))
            url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={sign}"
        return url

    def deliver(self, m: Message, timeout: float = 10.0) -> None:
        kind = self.config.kind
        if kind == "smtp":
            self._mail(m, timeout)
            return
        body = {"wecom": templates.wecom, "dingtalk": templates.dingtalk, "webhook": templates.webhook}[kind](m)
        try:
            r = httpx.post(self._url(), json=body, timeout=timeout)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}") from None
        if r.status_code >= 300:
            raise DeliveryFailed(f"HTTP {r.status_code}")
        if kind in ("wecom", "dingtalk"):
            # The robots answer 200 with an error code in the body (e.g. a bad key, too fast).
            try:
                code = r.json().get("errcode", 0)
            except ValueError:
                code = 0
            if code:
                raise DeliveryFailed(f"robot errcode {code}")

    def _mail(self, m: Message, timeout: float) -> None:
        c = self.config
        subject, text = templates.mail(m)
        msg = EmailMessage()
        msg["Subject"], msg["From"], msg["To"] = subject, c.sender, ", ".join(c.to)
        msg.set_content(text)
        try:
            with smtplib.SMTP(c.host or "", c.port, timeout=timeout) as smtp:
                if c.starttls:
                    smtp.starttls()
                if c.username and c.password is not None:
                    smtp.login(c.username, c.password.get_secret_value())
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(type(exc).__name__) from None


def load_channels(path: Path | None) -> list[Channel]:
    if path is None:
        return []
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise ConfigError(
            f"the channels file {path} is not UTF-8 text", hint=f"{UTF8_HINT}; GOVOPS_ALERTS_CHANNELS_FILE names it"
        ) from None
    except (OSError, yaml.YAMLError, RecursionError) as exc:
        raise ConfigError(
            f"cannot read the channels file {path}: {type(exc).__name__}",
            hint="fix GOVOPS_ALERTS_CHANNELS_FILE",
        ) from None
    try:
        configs = [ChannelConfig.model_validate(c) for c in data.get("channels", [])]
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(
            f"channels file {path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}",
            hint="see monitoring/notify/channels.example.yml",
        ) from None
    names = [c.name for c in configs]
    if len(names) != len(set(names)):
        raise ConfigError(f"channels file {path}: channel names must be unique")
    return [Channel(c) for c in configs]
