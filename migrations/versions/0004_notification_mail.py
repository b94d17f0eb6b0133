"""Notifications remember when the mailer claimed them, so each is e-mailed at most once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(
            sa.Column("emailed_at", ledger.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "ix_notifications_unmailed",
        "notifications",
        ["created_at"],
        unique=False,
        sqlite_where=sa.text("emailed_at IS NULL"),
        postgresql_where=sa.text("emailed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_notifications_unmailed",
        table_name="notifications",
        sqlite_where=sa.text("emailed_at IS NULL"),
        postgresql_where=sa.text("emailed_at IS NULL"),
    )
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("emailed_at")
