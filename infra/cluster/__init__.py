"""The data-centre cluster: the one adapter over ansible-runner that runs the playbooks/ against
real hosts, the run history, and backups. Cluster work, not cloud: it runs inside the gateway,
never inside the Pulumi program."""

from pathlib import Path

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
MIGRATIONS = Path(__file__).with_name("migrations")
