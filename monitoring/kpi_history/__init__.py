"""KPIs over time (在线率, 完好率, faults by code, alerts, tenants' quota use) and the status
board's state transitions: the two tables behind the trend charts and the "since when"."""

from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")
