"""video: per-camera baselines (建档), day and night

Revision ID: video_0004_baselines
Revises: video_0003_patrol
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "video_0004_baselines"
down_revision = "video_0003_patrol"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_baselines",
        sa.Column("camera_id", sa.String(20), sa.ForeignKey("cameras.id", ondelete="CASCADE"), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("stats", sa.JSON, nullable=False),
        sa.Column("samples", sa.Integer, nullable=False),
        sa.Column("reference", sa.LargeBinary),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_by", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("camera_id", "mode"),
    )


def downgrade() -> None:
    op.drop_table("camera_baselines")
