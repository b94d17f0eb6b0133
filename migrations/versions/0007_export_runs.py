"""Export runs: what was exported, by whom, the file's checksum; a scheduled run once a period.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export_runs",
        sa.Column("id", ledger.db.BigId, nullable=False),
        sa.Column("consortium_id", ledger.db.BigId, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("scheduled", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("requested_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("row_counts", sa.Text(), nullable=True),
        sa.Column("ledger_sequence", sa.BigInteger(), nullable=True),
        sa.Column("ledger_hash", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name=op.f("ck_export_runs_status_known")
        ),
        sa.CheckConstraint(
            "status != 'done' OR (sha256 IS NOT NULL AND file_name IS NOT NULL)",
            name=op.f("ck_export_runs_done_has_file"),
        ),
        sa.ForeignKeyConstraint(
            ["consortium_id"], ["consortia.id"], name=op.f("fk_export_runs_consortium_id_consortia")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_runs")),
    )
    op.create_index(
        "uq_export_runs_scheduled",
        "export_runs",
        ["consortium_id", "kind", "period"],
        unique=True,
        sqlite_where=sa.text("scheduled"),
        postgresql_where=sa.text("scheduled"),
    )
    op.create_index("ix_export_runs_newest", "export_runs", ["consortium_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_export_runs_newest", table_name="export_runs")
    op.drop_index(
        "uq_export_runs_scheduled",
        table_name="export_runs",
        sqlite_where=sa.text("scheduled"),
        postgresql_where=sa.text("scheduled"),
    )
    op.drop_table("export_runs")
