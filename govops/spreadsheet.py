"""CSV cells that a spreadsheet opens as text, never as a formula (CSV injection, OWASP).

Excel and WPS run a cell that starts with = + - @ (or a tab or carriage return before one) as a
formula: a camera or contractor named `=HYPERLINK("http://…")` would run on the desk of whoever
opens the export. So an exported text cell that starts with one gets a leading apostrophe, which
the spreadsheet shows as text; an import takes that apostrophe off again.
"""

from __future__ import annotations

from typing import Any

FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell_out(value: Any) -> str:
    """The cell as exported: text that would start a formula, guarded (a lone "-", the usual
    "none", is no formula)."""
    s = "" if value is None else str(value)
    return "'" + s if s.startswith(FORMULA) and s != "-" else s


def text_out(value: Any) -> Any:
    """Only text is guarded; a number stays a number (a negative one too)."""
    return cell_out(value) if isinstance(value, str) else value


def cell_in(value: Any) -> str:
    """The cell as imported: the export's guard taken off, surrounding blanks too."""
    s = "" if value is None else str(value).strip()
    if len(s) > 1 and s[0] == "'" and s[1] in FORMULA:
        return s[1:]
    return s
