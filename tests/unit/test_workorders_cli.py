"""`govops workorders`: every command answers --json, bad input is one line and exit 1 or 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from monitoring.workorders import report
from tests.unit.test_cli import assert_clean_failure, govops


def test_workorders_cli(tmp_path: Path) -> None:
    env = {"GOVOPS_DATA_DIR": str(tmp_path)}

    def ok(*args: str) -> Any:
        out = govops("workorders", *args, "--json", env=env)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert ok("contractors", "add", "a-tech", "--name", "甲运维") == {
        "code": "a-tech",
        "name": "甲运维",
        "contact": None,
    }
    assert ok("contractors", "assign", "a-tech", "310116001000", "--key-area")["area"] == "310116001"
    [row] = ok("contractors", "list")["items"]
    assert row["areas"] == [{"area": "310116001", "key_area": True}]
    assert ok("sync") == {
        "opened": [],
        "dispatched": [],
        "verified": [],
        "closed": [],
        "reopened": [],
        "withdrawn": [],
        "breached": [],
        "selfheal": [],
    }
    assert ok("list") == {"items": [], "next_cursor": None}
    assert ok("report", "--month", "2026-11")["items"][0]["contractor"] == "a-tech"
    assert ok("report")["month"] == report.this_month()  # the district's month by default
    assert_clean_failure(govops("workorders", "show", "7", env=env), 1, "work order 7 not found")
    assert_clean_failure(govops("workorders", "contractors", "assign", "a-tech", "x1", env=env), 2, "admin-division")
    assert_clean_failure(govops("workorders", "report", "--month", "11/2026", env=env), 2, "YYYY-MM")
    assert_clean_failure(
        govops("workorders", "repair", "1", "--note", "x", "--photo", str(tmp_path / "none.jpg"), env=env),
        2,
        "no photo",
    )
