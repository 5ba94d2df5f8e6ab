"""Provisioning of the e-government cloud, run inside the gateway: runs of the Pulumi program
through the Automation API, stored with their status, summary and log; quota requests; drift.
(The Pulumi program itself is infra/__main__.py and never imports this package.)

The Alembic branch keeps its label "cloud" and its revision ids from when this room was called
infra/service, so databases created then still migrate."""

from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")
