"""kernel: the alert inbox (claim, acknowledgement, escalation, scope columns, history)

Revision ID: kernel_0003_alert_inbox
Revises: kernel_0001
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "kernel_0003_alert_inbox"
down_revision = "kernel_0001"
branch_labels = None
depends_on = None


def _columns() -> list[sa.Column]:  # fresh Column objects for each use
    return [
        sa.Column("alertname", sa.String(200), nullable=True),
        sa.Column("runbook", sa.String(1000), nullable=True),
        sa.Column("annotations", sa.JSON, nullable=True),
        sa.Column("camera_id", sa.String(50), nullable=True),
        sa.Column("area", sa.String(50), nullable=True),
        sa.Column("department", sa.String(50), nullable=True),
        sa.Column("platform", sa.String(50), nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_comment", sa.String(1000), nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
    ]


INDEXES = {
    "ix_alerts_status_id": ["status", "id"],
    "ix_alerts_department_id": ["department", "id"],
    "ix_alerts_camera_id": ["camera_id", "id"],
    "ix_alerts_area_id": ["area", "id"],
    "ix_alerts_platform_id": ["platform", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        for column in _columns():
            batch.add_column(column)
    for name, cols in INDEXES.items():
        op.create_index(name, "alerts", cols)
    # Alerts the patrol raised before this revision carry their scope in the labels only.
    alerts = sa.table("alerts", sa.column("id", sa.Integer), sa.column("labels", sa.JSON))
    bind = op.get_bind()
    for row in bind.execute(sa.select(alerts.c.id, alerts.c.labels)).all():
        labels = row.labels or {}
        values = {
            col: (str(labels[lbl])[:50] if labels.get(lbl) not in (None, "") else None)
            for lbl, col in (("camera", "camera_id"), ("area", "area"), ("department", "department"))
        }
        if any(values.values()):
            bind.execute(
                sa.text(
                    "UPDATE alerts SET camera_id = :camera_id, area = :area, department = :department WHERE id = :id"
                ),
                {**values, "id": row.id},
            )
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("comment", sa.String(1000), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("alert_events")
    for name in INDEXES:
        op.drop_index(name, "alerts")
    with op.batch_alter_table("alerts") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
