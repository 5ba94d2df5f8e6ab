"""The provisioning service: runs of the Pulumi program through the Automation API, stored with
their status, summary and log; quota requests. (The Pulumi program itself is infra/__main__.py.)"""

from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")
