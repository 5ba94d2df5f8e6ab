"""cluster: playbook runs and per-host results

Revision ID: cluster_0001_runs
Revises:
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "cluster_0001_runs"
down_revision = None
branch_labels = ("cluster",)
depends_on = "kernel_0001"


def upgrade() -> None:
    op.create_table(
        "cluster_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("playbook", sa.String(200), nullable=False),
        sa.Column("inventory", sa.String(1000), nullable=False),
        sa.Column("limit", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "cluster_host_results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("cluster_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("ok", sa.Integer, nullable=False, server_default="0"),
        sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unreachable", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("duration_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("failure", sa.Text),
        sa.Column("diffs", sa.JSON),
        sa.Column("controls", sa.JSON),
    )
    op.create_index("ix_cluster_host_results_run_id", "cluster_host_results", ["run_id"])
    op.create_index("ix_cluster_host_results_host", "cluster_host_results", ["host"])


def downgrade() -> None:
    op.drop_table("cluster_host_results")
    op.drop_table("cluster_runs")
