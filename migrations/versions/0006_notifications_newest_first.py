"""Each person's notifications newest first, without sorting all they ever received.

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


def downgrade() -> None:
    op.drop_index("ix_notifications_newest", table_name="notifications")
