"""A Collector whose `describe()` names its families without touching the database.

prometheus_client calls `describe()` at registration when the registry auto-describes; without
it, registering runs `collect()` — the full scrape, KPI computation included — inside
`create_app`. Subclasses build their (empty) families in `families()` and fill them in `fill()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.registry import Collector


class ScrapeCollector(Collector):
    def families(self) -> dict[str, Metric]:
        raise NotImplementedError

    def fill(self, fams: dict[str, Any]) -> None:
        raise NotImplementedError

    def describe(self) -> Iterator[Metric]:
        yield from self.families().values()

    def collect(self) -> Iterator[Metric]:
        fams = self.families()
        self.fill(fams)
        yield from fams.values()
