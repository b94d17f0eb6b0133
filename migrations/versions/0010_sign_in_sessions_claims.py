"""Sign-in throttling in the database, a session epoch per user, and leases on idempotency claims.

- ``sign_in_failures``: wrong passwords (and ones still being checked) per account and address,
  counted by every worker, so the limit holds however many processes serve the app.
- ``users.session_epoch``: raised at sign-out and password change; a session made before ends.
- ``idempotent_requests.lease_until``: a claim held while a write that commits on its own runs;
  past it, a claim whose holder died is released. Claims left by the old code (a stored
  "still_running" answer) are released at once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("id", ledger.db.BigId, nullable=False),
        sa.Column("account", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index("ix_sign_in_failures_account_at", "sign_in_failures", ["account", "at"])
    op.create_index("ix_sign_in_failures_address_at", "sign_in_failures", ["address", "at"])
    # Plain ADD COLUMN (SQLite has it): a batch copy of ``users`` would lose its expression index.
    op.add_column(
        "users", sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "idempotent_requests",
        sa.Column("lease_until", ledger.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.execute(
        "UPDATE idempotent_requests SET lease_until = created_at"
        " WHERE status = 409 AND CAST(body AS TEXT) LIKE '%still_running%'"
    )


def downgrade() -> None:
    op.drop_column("idempotent_requests", "lease_until")
    op.drop_column("users", "session_epoch")
    op.drop_index("ix_sign_in_failures_address_at", table_name="sign_in_failures")
    op.drop_index("ix_sign_in_failures_account_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
