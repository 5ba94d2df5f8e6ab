"""monitoring: alert indexes for the inbox (a partial platform index) and the scrape's counts

Most alerts name no platform. A full (platform, id) index counts all their NULLs, so SQLite's
statistics (ANALYZE) say a platform value matches half the table and the planner walks every
alert instead of the few that name the platform (the security staff's inbox, issue #12). A partial
index holds only the rows that name one; `platform = ?` implies NOT NULL, so both SQLite and
PostgreSQL use it.

The scrape counts firing alerts by source and severity, and the unclaimed ones:
ix_alerts_status_counts holds exactly those columns, so the count reads the index alone.

Revision ID: monitoring_0002_alert_scope_idx
Revises: monitoring_0001_workorders
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "monitoring_0002_alert_scope_idx"
down_revision = "monitoring_0001_workorders"
branch_labels = None
depends_on = "kernel_0003_alert_inbox"

WHERE = sa.text("platform IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_alerts_platform_id", "alerts")
    op.create_index("ix_alerts_platform_id", "alerts", ["platform", "id"], sqlite_where=WHERE, postgresql_where=WHERE)
    op.create_index("ix_alerts_status_counts", "alerts", ["status", "source", "severity", "claimed_by"])


def downgrade() -> None:
    op.drop_index("ix_alerts_status_counts", "alerts")
    op.drop_index("ix_alerts_platform_id", "alerts")
    op.create_index("ix_alerts_platform_id", "alerts", ["platform", "id"])
