"""Newest first without walking other consortia's rows or sorting everything a person received.

A consortium's request list (and the API's pages of it) is newest first: walking the primary key
backwards passes every other consortium's newer requests first, so the oldest consortium's page
read most of the table. Notifications likewise, per person.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_notifications_newest", "notifications", ["user_id", "id"], unique=False)
    op.create_index(
        "ix_fund_requests_newest", "fund_requests", ["consortium_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_fund_requests_newest", table_name="fund_requests")
    op.drop_index("ix_notifications_newest", table_name="notifications")
