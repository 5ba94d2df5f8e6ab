"""Files and texts a person hands in (an import file, a realm overlay, an export to check): read,
decoded as UTF-8 and parsed, or a ValidationFailed that says what is wrong with them and what
to give instead. Never a traceback: a GBK file saved from Excel, a binary file, a directory, a
100,000-deep JSON array or a 20 MB line are all typos to the person who gave them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from govops.errors import ValidationFailed

UTF8_HINT = "save it as UTF-8, not GBK (from a spreadsheet: 另存为 → CSV UTF-8)"


def read_text(path: Path, what: str = "a text file") -> str:
    """The whole file as text (a UTF-8 byte-order mark is dropped)."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise ValidationFailed(f"{path} is a directory, not {what}", hint="give the file's path") from None
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}: {exc.strerror or exc}", hint="check the path") from None
    return decoded(raw, str(path))


def decoded(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(f"{where} is not UTF-8 text", hint=UTF8_HINT) from None


def load_json(text: str | bytes, what: str = "JSON") -> Any:
    """JSON, or a ValidationFailed that says why not (a 100k-deep array is refused, not a crash)."""
    try:
        return json.loads(text)
    except UnicodeDecodeError:
        raise ValidationFailed(f"the {what} is not UTF-8 text", hint=UTF8_HINT) from None
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"the {what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ValidationFailed(f"the {what} is nested too deeply to be read") from None
