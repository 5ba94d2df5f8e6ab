"""kernel: a sign-in session remembers the contractor code of a contractor principal

Revision ID: kernel_0003_session_contractor
Revises: kernel_0002_sessions
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "kernel_0003_session_contractor"
down_revision = "kernel_0002_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sign_in_sessions") as batch:
        batch.add_column(sa.Column("contractor", sa.String(50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sign_in_sessions") as batch:
        batch.drop_column("contractor")
