"""cloud: provisioning runs and quota requests

Revision ID: cloud_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "cloud_0001"
down_revision = None
branch_labels = ("cloud",)
depends_on = "kernel_0001"


def upgrade() -> None:
    op.create_table(
        "cloud_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("stack", sa.String(100), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("target", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("log", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "quota_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("department", sa.String(50), nullable=False, index=True),
        sa.Column("quota", sa.JSON, nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision_note", sa.String(1000)),
        sa.Column("run_id", sa.Integer),
    )


def downgrade() -> None:
    op.drop_table("quota_requests")
    op.drop_table("cloud_runs")
