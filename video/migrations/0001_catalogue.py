"""video: catalogue (cameras, admin areas, groups, platforms, share grants)

Revision ID: video_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "video_0001"
down_revision = None
branch_labels = ("video",)
depends_on = "kernel_0001"


def upgrade() -> None:
    op.create_table(
        "admin_areas",
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("parent_code", sa.String(20), sa.ForeignKey("admin_areas.code"), index=True),
        sa.Column("geometry", sa.JSON),
        sa.Column("area_km2", sa.Float),
    )
    op.create_table(
        "catalogue_groups",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(3), nullable=False),
        sa.Column("parent_id", sa.String(20), sa.ForeignKey("catalogue_groups.id"), index=True),
    )
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department_code", sa.String(50), sa.ForeignKey("departments.code"), nullable=False),
        sa.Column("area_code", sa.String(20), sa.ForeignKey("admin_areas.code")),
        sa.Column("group_id", sa.String(20), sa.ForeignKey("catalogue_groups.id"), index=True),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("key_place", sa.Boolean, nullable=False),
        sa.Column("stream_url", sa.String(500)),
        sa.Column("snapshot_url", sa.String(500)),
        sa.Column("onvif_address", sa.String(300)),
        sa.Column("username", sa.String(100)),
        sa.Column("password_enc", sa.String(500)),
        sa.Column("mac", sa.String(17), unique=True),
        sa.Column("serial_number", sa.String(100)),
        sa.Column("manufacturer", sa.String(100)),
        sa.Column("model", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("networked", sa.Boolean, nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("profiles", sa.JSON, nullable=False),
    )
    op.create_index("ix_cameras_department_id", "cameras", ["department_code", "id"])
    op.create_index("ix_cameras_area_id", "cameras", ["area_code", "id"])
    op.create_index("ix_cameras_status_id", "cameras", ["status", "id"])
    op.create_table(
        "share_platforms",
        sa.Column("code", sa.String(50), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("parent_code", sa.String(50), sa.ForeignKey("share_platforms.code")),
    )
    op.create_table(
        "share_grants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform_code", sa.String(50), sa.ForeignKey("share_platforms.code"), nullable=False),
        sa.Column("subject_kind", sa.String(10), nullable=False),
        sa.Column("subject_id", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_share_grants_platform_subject", "share_grants", ["platform_code", "subject_kind"])


def downgrade() -> None:
    for t in ("share_grants", "share_platforms", "cameras", "catalogue_groups", "admin_areas"):
        op.drop_table(t)
