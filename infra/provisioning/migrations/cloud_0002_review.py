"""cloud: resource changes per run (preview diff, drift); the preview a quota approver read

Revision ID: cloud_0002_review
Revises: cloud_0001
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "cloud_0002_review"
down_revision = "cloud_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cloud_runs") as t:
        t.add_column(sa.Column("changes", sa.JSON))
    with op.batch_alter_table("quota_requests") as t:
        t.add_column(sa.Column("preview_run_id", sa.Integer))
        t.add_column(sa.Column("preview_digest", sa.String(64)))
    # A failed approval used to be final ("failed"), and "approved" meant a run in flight: both
    # are approvable again now (after a preview).
    op.execute("UPDATE quota_requests SET status = 'pending' WHERE status IN ('failed', 'approved')")


def downgrade() -> None:
    with op.batch_alter_table("quota_requests") as t:
        t.drop_column("preview_digest")
        t.drop_column("preview_run_id")
    with op.batch_alter_table("cloud_runs") as t:
        t.drop_column("changes")
