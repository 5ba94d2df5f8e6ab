"""identity: issued certificates, CRLs, department apps

Revision ID: identity_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "identity_0001"
down_revision = None
branch_labels = ("identity",)
depends_on = "kernel_0001"


def upgrade() -> None:
    op.create_table(
        "identity_certificates",
        sa.Column("serial", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("civil_servant_id", sa.String(64), nullable=True, index=True),
        sa.Column("common_name", sa.String(200), nullable=False),
        sa.Column("department", sa.String(200), nullable=True),
        sa.Column("section", sa.String(200), nullable=True),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fingerprint_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("pem", sa.Text, nullable=False),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(40), nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
    )
    op.create_table(
        "identity_crls",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("this_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_count", sa.Integer, nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "identity_apps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client_id", sa.String(100), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department_code", sa.String(50), sa.ForeignKey("departments.code"), nullable=False, index=True),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("home_url", sa.String(500), nullable=False),
        sa.Column("redirect_uris", sa.JSON, nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("department_roles", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(1000), nullable=True),
        sa.Column("keycloak_id", sa.String(64), nullable=True),
        sa.Column("secret_enc", sa.String(500), nullable=True),
        sa.Column("secret_pending", sa.Boolean, nullable=False),
        sa.Column("secret_version", sa.Integer, nullable=False),
        sa.Column("secret_issued_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("identity_apps")
    op.drop_table("identity_crls")
    op.drop_table("identity_certificates")
