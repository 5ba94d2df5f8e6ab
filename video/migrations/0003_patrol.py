"""video: patrol (巡检) history, per-camera watch state, rounds

Revision ID: video_0003_patrol
Revises: video_0002_catalogue
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "video_0003_patrol"
down_revision = "video_0002_catalogue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "diagnosis_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("camera_id", sa.String(20), sa.ForeignKey("cameras.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("faults", sa.JSON, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("error", sa.String(500)),
        sa.Column("elapsed_ms", sa.Float),
        sa.Column("round_id", sa.Integer),
        sa.Column("thumbnail", sa.LargeBinary),
    )
    op.create_index("ix_diagnosis_records_camera_id", "diagnosis_records", ["camera_id", "id"])
    op.create_table(
        "camera_watches",
        sa.Column("camera_id", sa.String(20), sa.ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("stable", sa.String(10), nullable=False),
        sa.Column("stable_since", sa.DateTime(timezone=True)),
        sa.Column("pending", sa.String(10)),
        sa.Column("streak", sa.Integer, nullable=False),
        sa.Column("alerts_raised", sa.Integer, nullable=False),
        sa.Column("reference", sa.LargeBinary),
        sa.Column("reference_at", sa.DateTime(timezone=True)),
        sa.Column("thresholds", sa.JSON, nullable=False),
    )
    op.create_table(
        "patrol_rounds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("shard", sa.Integer, nullable=False),
        sa.Column("shards", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cameras", sa.Integer, nullable=False),
        sa.Column("ok", sa.Integer, nullable=False),
        sa.Column("faulty", sa.Integer, nullable=False),
        sa.Column("offline", sa.Integer, nullable=False),
        sa.Column("timed_out", sa.Integer, nullable=False),
        sa.Column("alerts_raised", sa.Integer, nullable=False),
        sa.Column("alerts_cleared", sa.Integer, nullable=False),
        sa.Column("cpu_s", sa.Float),
        sa.Column("peak_rss_mib", sa.Float),
    )
    op.create_index("ix_patrol_rounds_shard_id", "patrol_rounds", ["shard", "shards", "id"])


def downgrade() -> None:
    op.drop_table("patrol_rounds")
    op.drop_table("camera_watches")
    op.drop_index("ix_diagnosis_records_camera_id", "diagnosis_records")
    op.drop_table("diagnosis_records")
