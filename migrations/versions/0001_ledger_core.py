"""Ledger core: books, accounts, journal transactions, transfers, period closes.

The append-only triggers are written by hand at the end of upgrade(): autogenerate cannot see
them, and they are what makes "never edited, only reversed" true even for raw SQL.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_books",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="AUD", nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "last_hash",
            sa.String(length=64),
            server_default="0000000000000000000000000000000000000000000000000000000000000000",
            nullable=False,
        ),
        sa.Column("date_high_water", sa.Date(), nullable=True),
        sa.Column("closed_through", sa.Date(), nullable=True),
        sa.Column("created_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("currency = 'AUD'", name=op.f("ck_ledger_books_currency_aud")),
        sa.CheckConstraint(
            "last_sequence >= 0", name=op.f("ck_ledger_books_sequence_non_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_books")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_books_code")),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("book_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column(
            "debits_must_not_exceed_credits",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
        ),
        sa.Column(
            "credits_must_not_exceed_debits",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
        ),
        sa.Column("closed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("debits_pending", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("type IN ('asset', 'fund')", name=op.f("ck_ledger_accounts_type_known")),
        sa.CheckConstraint(
            "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
            name=op.f("ck_ledger_accounts_one_limit_flag"),
        ),
        sa.CheckConstraint(
            "NOT credits_must_not_exceed_debits OR credits_posted + credits_pending <= debits_posted",
            name=op.f("ck_ledger_accounts_credits_within_debits"),
        ),
        sa.CheckConstraint(
            "NOT debits_must_not_exceed_credits OR debits_posted + debits_pending <= credits_posted",
            name=op.f("ck_ledger_accounts_debits_within_credits"),
        ),
        sa.CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0",
            name=op.f("ck_ledger_accounts_counters_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["book_id"], ["ledger_books.id"], name=op.f("fk_ledger_accounts_book_id_ledger_books")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("book_id", "code", name=op.f("uq_ledger_accounts_book_id_code")),
        sa.UniqueConstraint("id", "book_id", name=op.f("uq_ledger_accounts_id_book_id")),
    )
    op.create_table(
        "ledger_period_closes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("book_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("closed_through", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("closed_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["ledger_books.id"],
            name=op.f("fk_ledger_period_closes_book_id_ledger_books"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_period_closes")),
        sa.UniqueConstraint(
            "book_id", "closed_through", name=op.f("uq_ledger_period_closes_book_id_closed_through")
        ),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("book_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("memo", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("payload_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "reverses_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("transfer_count", sa.Integer(), nullable=False),
        sa.Column("backdated", sa.Boolean(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reverses_id IS NULL OR reverses_id <> id",
            name=op.f("ck_ledger_transactions_not_self_reversal"),
        ),
        sa.CheckConstraint("sequence >= 1", name=op.f("ck_ledger_transactions_sequence_positive")),
        sa.CheckConstraint(
            "transfer_count >= 1", name=op.f("ck_ledger_transactions_has_transfers")
        ),
        sa.CheckConstraint(
            "(idempotency_key IS NULL) = (payload_hash IS NULL)",
            name=op.f("ck_ledger_transactions_key_has_payload"),
        ),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["ledger_books.id"],
            name=op.f("fk_ledger_transactions_book_id_ledger_books"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_transactions_reverses_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint(
            "book_id",
            "idempotency_key",
            name=op.f("uq_ledger_transactions_book_id_idempotency_key"),
        ),
        sa.UniqueConstraint(
            "book_id", "sequence", name=op.f("uq_ledger_transactions_book_id_sequence")
        ),
        sa.UniqueConstraint("id", "book_id", name=op.f("uq_ledger_transactions_id_book_id")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_ledger_transactions_reverses_id")),
    )
    op.create_table(
        "ledger_transfers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("debit_account_id", sa.BigInteger(), nullable=False),
        sa.Column("credit_account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("phase", sa.String(length=12), nullable=False),
        sa.Column(
            "pending_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("expires_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("request_id", sa.BigInteger(), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("backdated", sa.Boolean(), nullable=False),
        sa.Column("debit_balance_after", sa.BigInteger(), nullable=False),
        sa.Column("credit_balance_after", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "(phase IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)",
            name=op.f("ck_ledger_transfers_resolution_has_pending"),
        ),
        sa.CheckConstraint(
            "expires_at IS NULL OR phase = 'pending'",
            name=op.f("ck_ledger_transfers_only_pending_expires"),
        ),
        sa.CheckConstraint(
            "kind IN ('grant_receipt', 'allocation', 'reservation', 'post', 'void', 'payment', 'refund', 'reversal', 'adjustment', 'return_to_funder')",
            name=op.f("ck_ledger_transfers_kind_known"),
        ),
        sa.CheckConstraint(
            "phase IN ('single', 'pending', 'post_pending', 'void_pending')",
            name=op.f("ck_ledger_transfers_phase_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_transfers_amount_positive")),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name=op.f("ck_ledger_transfers_two_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id", "book_id"],
            ["ledger_accounts.id", "ledger_accounts.book_id"],
            name=op.f("fk_ledger_transfers_credit_account_id_book_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id", "book_id"],
            ["ledger_accounts.id", "ledger_accounts.book_id"],
            name=op.f("fk_ledger_transfers_debit_account_id_book_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["pending_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_ledger_transfers_pending_id_ledger_transfers"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id", "book_id"],
            ["ledger_transactions.id", "ledger_transactions.book_id"],
            name=op.f("fk_ledger_transfers_transaction_id_book_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transfers")),
        sa.UniqueConstraint("pending_id", name=op.f("uq_ledger_transfers_pending_id")),
    )
    op.create_index(
        "ix_ledger_transfers_credit_account",
        "ledger_transfers",
        ["credit_account_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_ledger_transfers_credit_asof",
        "ledger_transfers",
        ["credit_account_id", "effective_date", "id"],
        unique=False,
        postgresql_where=sa.text("NOT backdated"),
        sqlite_where=sa.text("backdated = 0"),
    )
    op.create_index(
        "ix_ledger_transfers_credit_backdated",
        "ledger_transfers",
        ["credit_account_id", "id"],
        unique=False,
        postgresql_where=sa.text("backdated"),
        sqlite_where=sa.text("backdated = 1"),
    )
    op.create_index(
        "ix_ledger_transfers_debit_account",
        "ledger_transfers",
        ["debit_account_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_ledger_transfers_debit_asof",
        "ledger_transfers",
        ["debit_account_id", "effective_date", "id"],
        unique=False,
        postgresql_where=sa.text("NOT backdated"),
        sqlite_where=sa.text("backdated = 0"),
    )
    op.create_index(
        "ix_ledger_transfers_debit_backdated",
        "ledger_transfers",
        ["debit_account_id", "id"],
        unique=False,
        postgresql_where=sa.text("backdated"),
        sqlite_where=sa.text("backdated = 1"),
    )
    op.create_index(
        "ix_ledger_transfers_book_transaction",
        "ledger_transfers",
        ["book_id", "transaction_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_ledger_transfers_open_holds",
        "ledger_transfers",
        ["book_id", "expires_at"],
        unique=False,
        postgresql_where=sa.text("phase = 'pending'"),
        sqlite_where=sa.text("phase = 'pending'"),
    )
    create_append_only_triggers()


def downgrade() -> None:
    drop_append_only_triggers()
    op.drop_table("ledger_transfers")
    op.drop_table("ledger_transactions")
    op.drop_table("ledger_period_closes")
    op.drop_table("ledger_accounts")
    op.drop_table("ledger_books")


APPEND_ONLY = ("ledger_transactions", "ledger_transfers", "ledger_period_closes")


def create_append_only_triggers() -> None:
    """INVARIANT: ledger rows are never updated or deleted; mistakes are reversed instead."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused (post a reversal instead)',
                    TG_TABLE_NAME, TG_OP USING ERRCODE = 'integrity_constraint_violation';
            END
            $$
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
            )
        return
    for table in APPEND_ONLY:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused "
                "(post a reversal instead)'); END"
            )


def drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION ledger_refuse_change()")
        return
    for table in APPEND_ONLY:
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER {table}_no_{operation}")
