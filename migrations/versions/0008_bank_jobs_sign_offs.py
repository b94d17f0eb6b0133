"""Bank statements and their lines, scheduled job runs (once per key), month sign-offs.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", ledger.db.BigId, nullable=False),
        sa.Column("consortium_id", ledger.db.BigId, nullable=False),
        sa.Column("job", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("started_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name=op.f("ck_job_runs_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["consortium_id"], ["consortia.id"], name=op.f("fk_job_runs_consortium_id_consortia")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job", "key", name="uq_job_runs_job_key"),
    )
    op.create_index("ix_job_runs_latest", "job_runs", ["consortium_id", "job", "id"], unique=False)
    op.create_table(
        "bank_statements",
        sa.Column("id", ledger.db.BigId, nullable=False),
        sa.Column("consortium_id", ledger.db.BigId, nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("imported_by_id", ledger.db.BigId, nullable=True),
        sa.Column("imported_by", sa.String(length=120), nullable=False),
        sa.Column("imported_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consortium_id"],
            ["consortia.id"],
            name=op.f("fk_bank_statements_consortium_id_consortia"),
        ),
        sa.ForeignKeyConstraint(
            ["imported_by_id"], ["users.id"], name=op.f("fk_bank_statements_imported_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statements")),
        sa.UniqueConstraint("consortium_id", "sha256", name="uq_bank_statements_file"),
    )
    op.create_table(
        "month_sign_offs",
        sa.Column("id", ledger.db.BigId, nullable=False),
        sa.Column("consortium_id", ledger.db.BigId, nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("export_run_id", ledger.db.BigId, nullable=False),
        sa.Column("ledger_sequence", sa.BigInteger(), nullable=False),
        sa.Column("ledger_hash", sa.String(length=64), nullable=False),
        sa.Column("closed_by_id", ledger.db.BigId, nullable=False),
        sa.Column("closed_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_month_sign_offs_closed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["consortium_id"],
            ["consortia.id"],
            name=op.f("fk_month_sign_offs_consortium_id_consortia"),
        ),
        sa.ForeignKeyConstraint(
            ["export_run_id"],
            ["export_runs.id"],
            name=op.f("fk_month_sign_offs_export_run_id_export_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_month_sign_offs")),
        sa.UniqueConstraint("consortium_id", "period", name="uq_month_sign_offs_period"),
    )
    op.create_table(
        "bank_lines",
        sa.Column("id", ledger.db.BigId, nullable=False),
        sa.Column("statement_id", ledger.db.BigId, nullable=False),
        sa.Column("consortium_id", ledger.db.BigId, nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("payee", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("payment_id", ledger.db.BigId, nullable=True),
        sa.Column("refund_id", ledger.db.BigId, nullable=True),
        sa.Column("transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("explanation", sa.String(length=500), nullable=True),
        sa.Column("resolved_by", sa.String(length=120), nullable=True),
        sa.Column("resolved_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'explained') = (explanation IS NOT NULL)",
            name=op.f("ck_bank_lines_explained_has_reason"),
        ),
        sa.CheckConstraint(
            "(status = 'matched') = ((CASE WHEN payment_id IS NULL THEN 0 ELSE 1 END + CASE WHEN refund_id IS NULL THEN 0 ELSE 1 END + CASE WHEN transaction_id IS NULL THEN 0 ELSE 1 END) = 1)",
            name=op.f("ck_bank_lines_matched_names_one"),
        ),
        sa.CheckConstraint(
            "status = 'matched' OR (payment_id IS NULL AND refund_id IS NULL AND transaction_id IS NULL)",
            name=op.f("ck_bank_lines_only_matched_names"),
        ),
        sa.CheckConstraint(
            "status IN ('unmatched', 'matched', 'explained')",
            name=op.f("ck_bank_lines_status_known"),
        ),
        sa.CheckConstraint("amount_cents != 0", name=op.f("ck_bank_lines_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["consortium_id"], ["consortia.id"], name=op.f("fk_bank_lines_consortium_id_consortia")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_bank_lines_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"], ["refunds.id"], name=op.f("fk_bank_lines_refund_id_refunds")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["bank_statements.id"],
            name=op.f("fk_bank_lines_statement_id_bank_statements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_lines")),
    )
    with op.batch_alter_table("bank_lines", schema=None) as batch_op:
        batch_op.create_index("ix_bank_lines_open", ["consortium_id", "status", "on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bank_lines_statement_id"), ["statement_id"], unique=False
        )
        batch_op.create_index(
            "uq_bank_lines_payment",
            ["payment_id"],
            unique=True,
            sqlite_where=sa.text("payment_id IS NOT NULL"),
            postgresql_where=sa.text("payment_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_bank_lines_refund",
            ["refund_id"],
            unique=True,
            sqlite_where=sa.text("refund_id IS NOT NULL"),
            postgresql_where=sa.text("refund_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_bank_lines_transaction",
            ["transaction_id"],
            unique=True,
            sqlite_where=sa.text("transaction_id IS NOT NULL"),
            postgresql_where=sa.text("transaction_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("bank_lines", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_bank_lines_transaction",
            sqlite_where=sa.text("transaction_id IS NOT NULL"),
            postgresql_where=sa.text("transaction_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_bank_lines_refund",
            sqlite_where=sa.text("refund_id IS NOT NULL"),
            postgresql_where=sa.text("refund_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_bank_lines_payment",
            sqlite_where=sa.text("payment_id IS NOT NULL"),
            postgresql_where=sa.text("payment_id IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_bank_lines_statement_id"))
        batch_op.drop_index("ix_bank_lines_open")

    op.drop_table("bank_lines")
    op.drop_table("month_sign_offs")
    op.drop_table("bank_statements")
    op.drop_index("ix_job_runs_latest", table_name="job_runs")
    op.drop_table("job_runs")
