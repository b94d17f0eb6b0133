"""The prebuilt Core statements every posting runs, in one place.

They are built once at import and compiled once per database (see ledger/hotpath.py), so the
write path in ``ledger.posting`` and the bulk loader in ``ledger.bulk`` issue the same SQL. The
locking order they encode (the book row, then its accounts in id order) is the one
docs/concurrency.md lists; change it there first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.sql.expression import Executable

from ledger.hotpath import HotStatement, HotStatementFamily
from ledger.models import accounts, books, transactions, transfers

COUNTERS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")

LOCK_BOOK = HotStatement(
    select(
        books.c.id,
        books.c.code,
        books.c.last_sequence,
        books.c.last_hash,
        books.c.date_high_water,
        books.c.closed_through,
    )
    .where(books.c.code == bindparam("code"))
    .with_for_update()
)
ACCOUNT_STATE = select(
    accounts.c.id,
    accounts.c.code,
    accounts.c.type,
    accounts.c.debits_must_not_exceed_credits,
    accounts.c.credits_must_not_exceed_debits,
    accounts.c.closed,
    accounts.c.debits_pending,
    accounts.c.debits_posted,
    accounts.c.credits_pending,
    accounts.c.credits_posted,
)


def _lock_accounts_statement(codes: int, ids: int = 0) -> Executable:
    # INVARIANT: lock accounts in id order, so two postings can never deadlock on them.
    wanted = [accounts.c.code.in_([bindparam(f"code{i}") for i in range(codes)])] if codes else []
    if ids:
        wanted.append(accounts.c.id.in_([bindparam(f"id{i}") for i in range(ids)]))
    return (
        ACCOUNT_STATE.where(accounts.c.book_id == bindparam("book_id"), or_(*wanted))
        .order_by(accounts.c.id)
        .with_for_update()
    )


LOCK_ACCOUNTS = HotStatementFamily(_lock_accounts_statement)


def _insert_returning_id(table: Table) -> HotStatement:
    """INSERT of every column but the id, which the database assigns and returns."""
    values: dict[str, Any] = {
        column.name: bindparam(column.name) for column in table.columns if column.name != "id"
    }
    return HotStatement(insert(table).values(values).returning(table.c.id))


INSERT_TRANSACTION = _insert_returning_id(transactions)
INSERT_TRANSFER = _insert_returning_id(transfers)
UPDATE_COUNTERS = HotStatement(
    update(accounts)
    .where(accounts.c.id == bindparam("account_id"))
    .values({name: bindparam(f"new_{name}") for name in COUNTERS})
)
# A conditional update: if anything moved the sequence under us, it changes no row.
ADVANCE_BOOK = HotStatement(
    update(books)
    .where(
        books.c.id == bindparam("book_id"), books.c.last_sequence == bindparam("expected_sequence")
    )
    .values(
        last_sequence=bindparam("new_sequence"),
        last_hash=bindparam("new_hash"),
        date_high_water=bindparam("high_water"),
    )
)
FIND_KEY = HotStatement(
    select(
        transactions.c.id, transactions.c.sequence, transactions.c.hash, transactions.c.payload_hash
    ).where(
        transactions.c.book_id == bindparam("book_id"),
        transactions.c.idempotency_key == bindparam("key"),
    )
)
