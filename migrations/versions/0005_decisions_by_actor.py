"""An index for each approver's "recently decided by you": decisions by actor, newest first.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_decisions_actor", "decisions", ["actor_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_decisions_actor", table_name="decisions")
