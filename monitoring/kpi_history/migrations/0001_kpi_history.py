"""monitoring: KPI samples over time and the status board's state transitions

Revision ID: monitoring_kpi_0001
Revises:
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "monitoring_kpi_0001"
down_revision = None
branch_labels = ("monitoring_kpi",)
depends_on = "kernel_0001"


def upgrade() -> None:
    op.create_table(
        "kpi_samples",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("key", sa.String(50), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("metric", sa.String(50), nullable=False),
        sa.Column("value", sa.Float),
    )
    op.create_index("ix_kpi_samples_series", "kpi_samples", ["scope", "key", "metric", "recorded_at"])
    op.create_table(
        "status_states",
        sa.Column("subsystem", sa.String(50), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("status_states")
    op.drop_index("ix_kpi_samples_series", "kpi_samples")
    op.drop_table("kpi_samples")
