"""What a command prints besides its output: log records of warnings and worse, redacted, whatever
a library does to logging when it is imported (onvif-zeep-async calls logging.basicConfig at INFO:
every library's INFO records, httpx's request lines with a camera's password among them, reached
stderr as they were). Each probe runs in a fresh interpreter: the root logger as a command has it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOGS = (
    "import logging\n"
    "logging.getLogger('httpx').info('HTTP Request: GET http://admin:pa55@127.0.0.1/snap.jpg')\n"
    "logging.getLogger('video').warning('snapshot http://admin:pa55@127.0.0.1/snap.jpg refused')\n"
)


def probe(code: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    return out


def test_a_command_prints_warnings_redacted_and_no_librarys_info_records() -> None:
    out = probe("from govops.logs import setup_cli_logging\nsetup_cli_logging()\nimport video.onvif.transport\n" + LOGS)
    assert "pa55" not in out.stderr and "HTTP Request" not in out.stderr, out.stderr
    assert "level=warning" in out.stderr and "admin:***@127.0.0.1" in out.stderr, out.stderr


def test_importing_the_onvif_adapter_leaves_the_root_logger_as_it_was() -> None:
    out = probe(
        "import logging\nimport video.onvif.transport\nroot = logging.getLogger()\n"
        "print(len(root.handlers), logging.getLevelName(root.level))\n" + LOGS
    )
    assert out.stdout.split() == ["0", "WARNING"], out.stdout
    assert "HTTP Request" not in out.stderr, out.stderr
