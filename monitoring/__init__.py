"""Unified operations: Prometheus collectors, alert rules, Alertmanager receiver, alert inbox."""
