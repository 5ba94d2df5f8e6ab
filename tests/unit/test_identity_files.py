"""govops.files.write_private: mode 0600 from creation (under the usual umask 022), atomic,
exclusive when asked, and used by every writer of a key or secret."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from govops import files
from govops.files import write_private

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_mode_is_0600_while_the_bytes_are_written(tmp_path, monkeypatch, umask_022):
    seen: list[int] = []
    real_write = os.write

    def spy(fd: int, data) -> int:  # the file's mode at the moment the secret enters it
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(files.os, "write", spy)
    target = write_private(tmp_path / "deep" / "key.pem", b"secret")
    assert seen and set(seen) == {0o600}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes() == b"secret"
    assert [p.name for p in target.parent.iterdir()] == ["key.pem"]  # no temporary file left


def test_replace_and_exclusive(tmp_path, umask_022):
    p = tmp_path / "k"
    write_private(p, b"one")
    write_private(p, b"two")
    assert p.read_bytes() == b"two"
    with pytest.raises(FileExistsError):
        write_private(p, b"three", exclusive=True)
    assert p.read_bytes() == b"two" and sorted(x.name for x in tmp_path.iterdir()) == ["k"]


def test_no_write_then_chmod_left_in_the_product():
    """Every key or secret writer goes through write_private (issue #11 item 7)."""
    offenders = []
    checked = 0
    for pkg in ("govops", "identity", "gateway"):
        for f in (ROOT / pkg).rglob("*.py"):
            checked += 1
            text = f.read_text(encoding="utf-8")
            if ".chmod(0o600)" in text or "os.O_TRUNC, 0o600" in text:
                offenders.append(str(f.relative_to(ROOT)))
    assert checked > 20
    assert not offenders
