"""The ledger's tables. Their constraints are the last line of defence, not decoration.

INVARIANT: every amount and counter is a non-negative integer number of cents, and a flagged
account's counters can never show an overdraft, counting pending debits (row CHECKs).
INVARIANT: a transfer's two accounts and its journal transaction are in the transfer's own book
(composite foreign keys on ``(id, book_id)``).
INVARIANT: a pending transfer is resolved at most once, a transaction reversed at most once
(unique indexes); transfers and transactions are never updated or deleted (triggers, created in
the migration).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, UTCDateTime
from ledger.values import AccountType, Phase, TransferKind

GENESIS_HASH = "0" * 64


def _in(column: str, values: type[AccountType] | type[TransferKind] | type[Phase]) -> str:
    quoted = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({quoted})"


class Book(Base):
    """One consortium's books. Its row is the lock that orders every posting in the book."""

    __tablename__ = "ledger_books"
    __table_args__ = (
        CheckConstraint("currency = 'AUD'", name="currency_aud"),
        CheckConstraint("last_sequence >= 0", name="sequence_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3), server_default="AUD")
    last_sequence: Mapped[int] = mapped_column(BigInteger, server_default="0")
    last_hash: Mapped[str] = mapped_column(String(64), server_default=GENESIS_HASH)
    # The latest effective date posted so far; an entry dated before it is "backdated".
    date_high_water: Mapped[date | None] = mapped_column(Date)
    # Xero calls it the lock date: nothing may be dated on or before it.
    closed_through: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Account(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("book_id", "code"),
        UniqueConstraint("id", "book_id"),
        CheckConstraint(_in("type", AccountType), name="type_known"),
        CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 "
            "AND credits_pending >= 0 AND credits_posted >= 0",
            name="counters_non_negative",
        ),
        CheckConstraint(
            "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
            name="one_limit_flag",
        ),
        # INVARIANT: no overdraft, pending debits included (TigerBeetle's account flags).
        CheckConstraint(
            "NOT debits_must_not_exceed_credits "
            "OR debits_posted + debits_pending <= credits_posted",
            name="debits_within_credits",
        ),
        CheckConstraint(
            "NOT credits_must_not_exceed_debits "
            "OR credits_posted + credits_pending <= debits_posted",
            name="credits_within_debits",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("ledger_books.id"))
    code: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(10))
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(Boolean, server_default=false())
    credits_must_not_exceed_debits: Mapped[bool] = mapped_column(Boolean, server_default=false())
    closed: Mapped[bool] = mapped_column(Boolean, server_default=false())
    debits_pending: Mapped[int] = mapped_column(BigInteger, server_default="0")
    debits_posted: Mapped[int] = mapped_column(BigInteger, server_default="0")
    credits_pending: Mapped[int] = mapped_column(BigInteger, server_default="0")
    credits_posted: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JournalTransaction(Base):
    __tablename__ = "ledger_transactions"
    __table_args__ = (
        UniqueConstraint("book_id", "sequence"),
        UniqueConstraint("book_id", "idempotency_key"),
        UniqueConstraint("id", "book_id"),
        UniqueConstraint("reverses_id"),  # INVARIANT: a transaction is reversed at most once
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        CheckConstraint("transfer_count >= 1", name="has_transfers"),
        CheckConstraint(
            "(idempotency_key IS NULL) = (payload_hash IS NULL)", name="key_has_payload"
        ),
        CheckConstraint("reverses_id IS NULL OR reverses_id <> id", name="not_self_reversal"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("ledger_books.id"))
    sequence: Mapped[int] = mapped_column(BigInteger)
    effective_date: Mapped[date] = mapped_column(Date)
    memo: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(120))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    # Binds an idempotency key to what was asked; only kept when a key was given.
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    transfer_count: Mapped[int] = mapped_column(Integer)
    backdated: Mapped[bool] = mapped_column(Boolean)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerTransfer(Base):
    """One debit, one credit, one positive amount; with both accounts' posted balance after it.

    ``*_balance_after`` is the account's net debit (debits − credits, posted only) right after
    this transfer, so an as-of balance is an index lookup rather than a sum over history.
    """

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["transaction_id", "book_id"], ["ledger_transactions.id", "ledger_transactions.book_id"]
        ),
        ForeignKeyConstraint(
            ["debit_account_id", "book_id"], ["ledger_accounts.id", "ledger_accounts.book_id"]
        ),
        ForeignKeyConstraint(
            ["credit_account_id", "book_id"], ["ledger_accounts.id", "ledger_accounts.book_id"]
        ),
        UniqueConstraint("pending_id"),  # INVARIANT: one resolution per pending transfer
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint(_in("kind", TransferKind), name="kind_known"),
        CheckConstraint(_in("phase", Phase), name="phase_known"),
        CheckConstraint(
            "(phase IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)",
            name="resolution_has_pending",
        ),
        CheckConstraint("expires_at IS NULL OR phase = 'pending'", name="only_pending_expires"),
        # A book's transfers in posting order: verify, reversals, replays, as-of trial balances.
        Index("ix_ledger_transfers_book_transaction", "book_id", "transaction_id", "id"),
        # Holds still open, for the expiry sweep; only pending rows are in it.
        Index(
            "ix_ledger_transfers_open_holds",
            "book_id",
            "expires_at",
            postgresql_where=text("phase = 'pending'"),
            sqlite_where=text("phase = 'pending'"),
        ),
        Index("ix_ledger_transfers_debit_account", "debit_account_id", "id"),
        Index("ix_ledger_transfers_credit_account", "credit_account_id", "id"),
        # As-of lookups: among transfers that were not backdated, date order is id order.
        # The predicates are spelled as each database's query renders them (SQLite has no
        # boolean type: ``NOT backdated`` arrives as ``backdated = 0``), so the planner uses them.
        Index(
            "ix_ledger_transfers_debit_asof",
            "debit_account_id",
            "effective_date",
            "id",
            postgresql_where=text("NOT backdated"),
            sqlite_where=text("backdated = 0"),
        ),
        Index(
            "ix_ledger_transfers_credit_asof",
            "credit_account_id",
            "effective_date",
            "id",
            postgresql_where=text("NOT backdated"),
            sqlite_where=text("backdated = 0"),
        ),
        Index(
            "ix_ledger_transfers_debit_backdated",
            "debit_account_id",
            "id",
            postgresql_where=text("backdated"),
            sqlite_where=text("backdated = 1"),
        ),
        Index(
            "ix_ledger_transfers_credit_backdated",
            "credit_account_id",
            "id",
            postgresql_where=text("backdated"),
            sqlite_where=text("backdated = 1"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(BigInteger)
    book_id: Mapped[int] = mapped_column(BigInteger)
    debit_account_id: Mapped[int] = mapped_column(BigInteger)
    credit_account_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    phase: Mapped[str] = mapped_column(String(12))
    pending_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    category: Mapped[str | None] = mapped_column(String(40))
    request_id: Mapped[int | None] = mapped_column(BigInteger)
    effective_date: Mapped[date] = mapped_column(Date)
    backdated: Mapped[bool] = mapped_column(Boolean)
    debit_balance_after: Mapped[int] = mapped_column(BigInteger)
    credit_balance_after: Mapped[int] = mapped_column(BigInteger)


class PeriodClose(Base):
    """Each time finance moved the lock date forward, and who did it. Append-only."""

    __tablename__ = "ledger_period_closes"
    __table_args__ = (UniqueConstraint("book_id", "closed_through"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("ledger_books.id"))
    closed_through: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(120))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The Core tables, for the hot path's hand-built statements.
books = cast(Table, Book.__table__)
accounts = cast(Table, Account.__table__)
transactions = cast(Table, JournalTransaction.__table__)
transfers = cast(Table, LedgerTransfer.__table__)
period_closes = cast(Table, PeriodClose.__table__)
