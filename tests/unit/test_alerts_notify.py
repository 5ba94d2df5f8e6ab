"""Notification channels against local receivers on 127.0.0.1 that record what they get."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from govops.alerts import Alert
from monitoring.notify.channels import Channel, ChannelConfig, RateLimiter, load_channels
from monitoring.notify.dispatcher import Notifier, channel_fingerprint
from monitoring.notify.templates import Message

ALERT = {
    "id": 1,
    "severity": "critical",
    "summary": "摄像机 石化街道东村 离线 (camera offline)",
    "camera": "31011600001326000001",
    "area": "310116001",
    "runbook": "govops video faults",
}


class Recorder:
    """An HTTP receiver that records JSON bodies; answers 500 to the first `fail_first` posts."""

    def __init__(self, fail_first: int = 0, reply: dict | None = None) -> None:
        self.bodies: list[dict] = []
        self.paths: list[str] = []
        self.attempts = 0
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                rec.attempts += 1
                if rec.attempts <= fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                rec.bodies.append(json.loads(body))
                rec.paths.append(self.path)
                out = json.dumps(reply or {"errcode": 0, "errmsg": "ok"}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/send?key=secret-key"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpRecorder:
    """The smallest SMTP server that accepts a message and keeps it."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        rec = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 test ESMTP\r\n")
                while line := self.rfile.readline():
                    cmd = line.decode().strip().upper()
                    if cmd.startswith(("EHLO", "HELO")):
                        self.wfile.write(b"250 test\r\n")
                    elif cmd == "DATA":
                        self.wfile.write(b"354 go on\r\n")
                        data = []
                        while (ln := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(ln.decode("utf-8", "replace"))
                        rec.messages.append("".join(data))
                        self.wfile.write(b"250 queued\r\n")
                    elif cmd == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


def _channel(kind: str, url: str, **kw: object) -> Channel:
    return Channel(ChannelConfig(name=f"test-{kind}", kind=kind, url=url, **kw))  # type: ignore[arg-type]


def test_each_robot_format_is_rendered_and_delivered(recorder):
    chans = [_channel(k, recorder.url) for k in ("wecom", "dingtalk", "webhook")]
    chans.append(_channel("dingtalk", recorder.url, secret="SEC123"))
    chans[-1].config.name = "signed"
    n = Notifier(chans, backoff_s=0)
    assert n.send_now(Message("firing", [ALERT])) == {
        "test-wecom": "sent",
        "test-dingtalk": "sent",
        "test-webhook": "sent",
        "signed": "sent",
    }
    wecom, ding, hook, _signed = recorder.bodies
    assert wecom["msgtype"] == "markdown" and "严重" in wecom["markdown"]["content"]
    content = wecom["markdown"]["content"]
    assert "摄像机 石化街道东村 离线" in content and "govops video faults" in content
    assert ding["markdown"]["title"].startswith("[govops 严重] 新告警") and "310116001" in ding["markdown"]["text"]
    assert hook["event"] == "firing" and hook["alerts"][0]["camera"] == ALERT["camera"]
    assert "timestamp=" in recorder.paths[3] and "sign=" in recorder.paths[3]  # DingTalk 加签


def test_a_receiver_answering_500_is_retried(recorder):
    flaky = Recorder(fail_first=2)
    try:
        slept: list[float] = []
        n = Notifier([_channel("webhook", flaky.url)], backoff_s=0.5, sleep=slept.append)
        assert n.send_now(Message("firing", [ALERT])) == {"test-webhook": "sent"}
        assert flaky.attempts == 3 and len(flaky.bodies) == 1
        assert slept == [0.5, 1.0]  # exponential backoff
        assert n.stats["retries"] == 2
    finally:
        flaky.close()


def test_a_robot_error_code_counts_as_a_failure():
    bad = Recorder(reply={"errcode": 93000, "errmsg": "invalid webhook url"})
    try:
        n = Notifier([_channel("wecom", bad.url)], attempts=2, backoff_s=0)
        assert n.send_now(Message("firing", [ALERT])) == {"test-wecom": "failed"}
    finally:
        bad.close()


def test_the_rate_limit_holds_and_says_what_it_held_back(recorder):
    n = Notifier([_channel("webhook", recorder.url, rate_per_minute=3)], backoff_s=0)
    outcomes = [n.send_now(Message("firing", [ALERT]))["test-webhook"] for _ in range(10)]
    assert outcomes.count("sent") == 3 and outcomes.count("rate_limited") == 7
    assert len(recorder.bodies) == 3
    # The bucket refills; the next message that goes out carries the count it held back.
    n.channels[0].limiter.tokens = 1
    n.send_now(Message("firing", [ALERT]))
    assert recorder.bodies[-1]["suppressed"] == 7 and "7 held back" in recorder.bodies[-1]["text"]


def test_rate_limiter_refills_with_time():
    now = [0.0]
    lim = RateLimiter(60, clock=lambda: now[0])
    assert sum(lim.take() for _ in range(100)) == 60
    now[0] += 2.0
    assert sum(lim.take() for _ in range(100)) == 2


def test_smtp_mail_is_delivered_in_chinese_first():
    smtp = SmtpRecorder()
    try:
        ch = Channel(
            ChannelConfig(
                name="mail",
                kind="smtp",
                host="127.0.0.1",
                port=smtp.port,
                sender="govops@x.gov.cn",
                to=["duty@x.gov.cn"],
            )
        )
        assert Notifier([ch]).send_now(Message("escalated", [ALERT])) == {"mail": "sent"}
        assert len(smtp.messages) == 1
        import email

        msg = email.message_from_string(smtp.messages[0])
        assert "告警升级" in str(email.header.make_header(email.header.decode_header(msg["Subject"])))
        body = msg.get_payload(decode=True).decode()
        assert "摄像机 石化街道东村 离线" in body
    finally:
        smtp.close()


def test_a_channel_that_keeps_failing_raises_its_own_alert(runtime):
    dead = Recorder(fail_first=10_000)
    try:
        ch = _channel("webhook", dead.url)
        n = Notifier([ch], runtime.transaction, attempts=2, backoff_s=0, fail_after=3)
        for _ in range(3):
            assert n.send_now(Message("firing", [ALERT])) == {"test-webhook": "failed"}
        with runtime.sessions() as s:
            alert = s.scalar(select(Alert).where(Alert.fingerprint == channel_fingerprint("test-webhook")))
            assert alert is not None and alert.status == "firing" and "连续 3 次" in alert.summary
            assert "secret-key" not in alert.summary  # the URL (with its key) is never shown
        dead.attempts = -10_000  # it recovers
        dead_ok = Recorder()
        ch.config.url = ChannelConfig(name="x", kind="webhook", url=dead_ok.url).url
        assert n.send_now(Message("firing", [ALERT])) == {"test-webhook": "sent"}
        with runtime.sessions() as s:
            assert s.scalar(select(Alert.status).where(Alert.fingerprint == channel_fingerprint("test-webhook"))) == (
                "resolved"
            )
        dead_ok.close()
    finally:
        dead.close()


def test_background_worker_delivers_and_drains(recorder):
    n = Notifier([_channel("webhook", recorder.url)], backoff_s=0)
    for _ in range(3):
        n.submit("firing", [ALERT])
    assert n.drain(timeout=60)
    n.close()
    assert len(recorder.bodies) == 3


def test_channels_file_errors_are_one_line(tmp_path):
    from govops.errors import ConfigError

    bad = tmp_path / "c.yml"
    bad.write_text("channels:\n  - name: a\n    kind: pager\n    url: http://127.0.0.1:1/\n")
    with pytest.raises(ConfigError, match="kind must be one of"):
        load_channels(bad)
    bad.write_text("channels:\n  - name: a\n    kind: smtp\n")
    with pytest.raises(ConfigError, match="needs host"):
        load_channels(bad)
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "monitoring" / "notify" / "channels.example.yml"
    assert [c.config.kind for c in load_channels(example)] == ["wecom", "dingtalk", "webhook", "smtp"]
