"""Unified operations: Prometheus collectors, alert rules, Alertmanager receiver, alert inbox."""

from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")
