"""video: diagnosis records by time, for the daily report (运维日报)

The report reads one day's verdicts of every camera. Without an index on the time it would walk
every camera's kept history (GOVOPS_VIDEO_PATROL_HISTORY_KEEP rows each); (at, verdict,
camera_id) answers "how many cameras were diagnosed that day" from the index alone, and finds
the few faulty or offline rows of the day without reading the others.

Revision ID: video_0005_diagnosis_at_idx
Revises: video_0004_baselines
Create Date: 2026-12-07
"""

from alembic import op

revision = "video_0005_diagnosis_at_idx"
down_revision = "video_0004_baselines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_diagnosis_records_at", "diagnosis_records", ["at", "verdict", "camera_id"])


def downgrade() -> None:
    op.drop_index("ix_diagnosis_records_at", "diagnosis_records")
