"""video: onboarding facts, key areas, revocable share grants, platform GB codes

Revision ID: video_0002_catalogue
Revises: video_0001
Create Date: 2026-11-22

Every new column is nullable or has a server default, so the upgrade is an in-place ALTER on both
SQLite and PostgreSQL (no table rebuild of a large camera table).
"""

import sqlalchemy as sa
from alembic import op

revision = "video_0002_catalogue"
down_revision = "video_0001"
branch_labels = None
depends_on = None

CAMERA_COLUMNS = [
    sa.Column("firmware", sa.String(100)),
    sa.Column("install_address", sa.String(300)),
    sa.Column("capabilities", sa.JSON, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("clock_skew_s", sa.Float),
    sa.Column("presets", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
    sa.Column("picture_fault", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("diagnosis_faults", sa.JSON),
    sa.Column("diagnosed_at", sa.DateTime(timezone=True)),
    sa.Column("onboarded_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.String(500)),
]


def upgrade() -> None:
    with op.batch_alter_table("cameras") as b:
        for col in CAMERA_COLUMNS:
            b.add_column(col)
    op.create_index("ix_cameras_serial_number", "cameras", ["serial_number"])
    # Covering indexes for the scrape-time counts (KPIs per area, cameras per department).
    op.create_index("ix_cameras_kpi", "cameras", ["area_code", "status", "key_place", "networked", "picture_fault"])
    op.create_index("ix_cameras_department_status", "cameras", ["department_code", "status"])
    with op.batch_alter_table("admin_areas") as b:
        b.add_column(sa.Column("key_place", sa.Boolean, nullable=False, server_default=sa.false()))
    with op.batch_alter_table("share_platforms") as b:
        b.add_column(sa.Column("gb_id", sa.String(20)))
    with op.batch_alter_table("share_grants") as b:
        b.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True)))
        b.add_column(sa.Column("revoked_by", sa.String(200)))
        b.add_column(sa.Column("revoke_reason", sa.String(500)))
    op.create_index("ix_share_grants_subject", "share_grants", ["subject_kind", "subject_id"])


def downgrade() -> None:
    op.drop_index("ix_share_grants_subject", "share_grants")
    with op.batch_alter_table("share_grants") as b:
        for name in ("revoke_reason", "revoked_by", "revoked_at"):
            b.drop_column(name)
    with op.batch_alter_table("share_platforms") as b:
        b.drop_column("gb_id")
    with op.batch_alter_table("admin_areas") as b:
        b.drop_column("key_place")
    op.drop_index("ix_cameras_department_status", "cameras")
    op.drop_index("ix_cameras_kpi", "cameras")
    op.drop_index("ix_cameras_serial_number", "cameras")
    with op.batch_alter_table("cameras") as b:
        for col in reversed(CAMERA_COLUMNS):
            b.drop_column(col.name)
