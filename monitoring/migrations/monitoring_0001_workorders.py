"""monitoring: fault work orders (运维工单), contractors and their areas

Revision ID: monitoring_0001_workorders
Revises:
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from govops.db import UtcDateTime

revision = "monitoring_0001_workorders"
down_revision = None
branch_labels = ("monitoring",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wo_contractors",
        sa.Column("code", sa.String(50), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("contact", sa.String(200)),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "wo_contractor_areas",
        sa.Column("prefix", sa.String(20), primary_key=True),
        sa.Column(
            "contractor_code", sa.String(50), sa.ForeignKey("wo_contractors.code", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("key_area", sa.Boolean, nullable=False),
    )
    op.create_index("ix_wo_contractor_areas_contractor_code", "wo_contractor_areas", ["contractor_code"])
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("camera_id", sa.String(20), nullable=False),
        sa.Column("camera_name", sa.String(200), nullable=False),
        sa.Column("area_code", sa.String(20)),
        sa.Column("contractor_code", sa.String(50)),
        sa.Column("key_area", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("fault", sa.String(500), nullable=False),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("alert_id", sa.Integer),
        sa.Column("sla_hours", sa.Integer, nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("dispatched_at", UtcDateTime),
        sa.Column("repaired_at", UtcDateTime),
        sa.Column("verified_at", UtcDateTime),
        sa.Column("closed_at", UtcDateTime),
        sa.Column("repair_note", sa.String(1000)),
        sa.Column("photo", sa.String(200)),
        sa.Column("reopened", sa.Integer, nullable=False),
        sa.Column("breached", sa.Boolean, nullable=False),
        sa.Column("selfheal_at", UtcDateTime),
        sa.Column("selfheal_outcome", sa.String(300)),
    )
    op.create_index("ix_work_orders_camera_state", "work_orders", ["camera_id", "state"])
    op.create_index("ix_work_orders_contractor_id", "work_orders", ["contractor_code", "id"])
    op.create_index("ix_work_orders_state_id", "work_orders", ["state", "id"])
    op.create_table(
        "work_order_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("work_orders.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("from_state", sa.String(12)),
        sa.Column("to_state", sa.String(12), nullable=False),
        sa.Column("note", sa.String(1000)),
    )
    op.create_index("ix_work_order_events_order_id", "work_order_events", ["order_id"])


def downgrade() -> None:
    op.drop_table("work_order_events")
    op.drop_table("work_orders")
    op.drop_table("wo_contractor_areas")
    op.drop_table("wo_contractors")
