"""Run one bench body on the embedded SQLite and on a throw-away PostgreSQL, each in a fresh data
directory (`--only sqlite|postgresql` picks one); the JSON gets the process's peak RSS and the load."""

from __future__ import annotations

import os
import resource
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.runtime import Runtime
from govops.settings import load_settings


def on_each_database(only: str | None, name: str, body: Callable[[Runtime], dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if only != "postgresql":
        with tempfile.TemporaryDirectory(prefix=f"govops-bench-{name}-") as d:
            rt = Runtime.build(load_settings(data_dir=Path(d), environment="test"))
            out["sqlite"] = body(rt)
            rt.engine.dispose()
    if only != "sqlite":
        from tools.lab.postgres import start_postgres

        with tempfile.TemporaryDirectory(prefix=f"govops-bench-{name}-pg-") as d:
            pg = start_postgres(Path(d))
            try:
                rt = Runtime.build(load_settings(data_dir=Path(d) / "data", environment="test", database_url=pg.url))
                out["postgresql"] = body(rt)
                rt.engine.dispose()
            finally:
                pg.stop()
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["load_average_1m"] = round(os.getloadavg()[0], 1)
    return out
