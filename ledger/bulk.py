"""Loading history in bulk: a year of a consortium's transfers in seconds, not hours.

Used to migrate a consortium's past from another system and to build benchmark data. It keeps
every invariant the one-at-a-time path keeps (overdraft checks in order, closed periods,
balances-after, the gapless sequence and the hash chain) by applying the same leg logic in
memory under the same locks, then writes with PostgreSQL's COPY (or executemany on SQLite).
Only immediate transfers are accepted: holds belong to live approvals, not to history.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ledger import chain
from ledger.dates import window_problems
from ledger.effects import AccountState, account_states, apply_leg, transfer_content
from ledger.errors import InvalidEntryError, PeriodClosedError, UnknownAccountError
from ledger.locked_rows import lock_book, write_counters
from ledger.models import accounts, books, transactions, transfers
from ledger.statements import ACCOUNT_STATE
from ledger.values import JournalEntry, Transfer, check_amount, check_header

BATCH = 5000

_TRANSACTION_COLUMNS = (
    "id",
    "book_id",
    "sequence",
    "effective_date",
    "memo",
    "actor",
    "idempotency_key",
    "payload_hash",
    "reverses_id",
    "transfer_count",
    "backdated",
    "prev_hash",
    "hash",
    "created_at",
)
_TRANSFER_COLUMNS = (
    "id",
    "transaction_id",
    "book_id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "kind",
    "phase",
    "pending_id",
    "expires_at",
    "category",
    "request_id",
    "effective_date",
    "backdated",
    "debit_balance_after",
    "credit_balance_after",
)


@dataclass(frozen=True)
class LoadResult:
    transactions: int
    transfers: int
    last_sequence: int
    last_hash: str


def load_history(
    session: Session, book: str, entries: Iterable[JournalEntry], *, now: datetime
) -> LoadResult:
    """Post many entries of immediate transfers to ``book`` in one transaction, or none of them."""
    head = lock_book(session, book)
    states = _lock_all_accounts(session, head.id)
    by_code = {state.code: state for state in states.values()}
    sequence, prev_hash, high_water = head.last_sequence, head.last_hash, head.date_high_water
    counted_transactions = counted_transfers = 0
    with _writer_for(session) as write:
        for chunk in _chunks(entries, BATCH):
            tx_rows: list[tuple[Any, ...]] = []
            tr_rows: list[tuple[Any, ...]] = []
            for entry in chunk:
                _check(entry, book, head.closed_through, by_code, now.date())
                sequence += 1
                backdated = high_water is not None and entry.effective_date < high_water
                if not backdated:
                    high_water = entry.effective_date
                rows = [apply_leg(leg, by_code, states, {}) for leg in entry.legs]
                payload_hash = entry.payload_hash() if entry.idempotency_key is not None else None
                new_hash = chain.transaction_hash(
                    prev_hash,
                    book=book,
                    sequence=sequence,
                    effective_date=entry.effective_date,
                    memo=entry.memo,
                    actor=entry.actor,
                    idempotency_key=entry.idempotency_key,
                    payload_hash=payload_hash,
                    reverses_id=None,
                    backdated=backdated,
                    created_at=now,
                    transfers=[transfer_content(row, states) for row in rows],
                )
                index = len(tx_rows)
                tx_rows.append(
                    (
                        head.id,
                        sequence,
                        entry.effective_date,
                        entry.memo,
                        entry.actor,
                        entry.idempotency_key,
                        payload_hash,
                        None,
                        len(rows),
                        backdated,
                        prev_hash,
                        new_hash,
                        now,
                    )
                )
                tr_rows += [
                    (
                        index,
                        head.id,
                        row["debit_account_id"],
                        row["credit_account_id"],
                        row["amount"],
                        row["kind"],
                        row["phase"],
                        None,
                        None,
                        row["category"],
                        row["request_id"],
                        entry.effective_date,
                        backdated,
                        row["debit_balance_after"],
                        row["credit_balance_after"],
                    )
                    for row in rows
                ]
                prev_hash = new_hash
            write(tx_rows, tr_rows)
            counted_transactions += len(tx_rows)
            counted_transfers += len(tr_rows)
    write_counters(session, [state for state in states.values() if state.touched])
    session.connection().execute(
        update(books)
        .where(books.c.id == head.id, books.c.last_sequence == head.last_sequence)
        .values(last_sequence=sequence, last_hash=prev_hash, date_high_water=high_water)
    )
    return LoadResult(counted_transactions, counted_transfers, sequence, prev_hash)


def _check(
    entry: JournalEntry,
    book: str,
    closed_through: Any,
    by_code: dict[str, AccountState],
    today: date,
) -> None:
    """The pure checks; an account code is valid here when it names an account of the book."""
    problems = check_header(entry) + window_problems(entry.effective_date, today)
    if entry.book != book:
        problems.append(f"entry is for book {entry.book}, not {book}")
    for index, leg in enumerate(entry.legs):
        if not isinstance(leg, Transfer):
            problems.append(f"leg {index + 1}: bulk history accepts immediate transfers only")
            continue
        problems += check_amount(leg.amount, f"leg {index + 1} amount")
        if leg.debit == leg.credit:
            problems.append(f"leg {index + 1} debits and credits the same account {leg.debit}")
        for code in (leg.debit, leg.credit):
            if code not in by_code:
                raise UnknownAccountError(f"There is no account {code} in book {book}.")
    if problems:
        raise InvalidEntryError(problems)
    if closed_through is not None and entry.effective_date <= closed_through:
        raise PeriodClosedError(f"The books are closed through {closed_through:%d/%m/%Y}.")


def _lock_all_accounts(session: Session, book_id: int) -> dict[int, AccountState]:
    query = (
        ACCOUNT_STATE.where(accounts.c.book_id == book_id).order_by(accounts.c.id).with_for_update()
    )
    return account_states(session.connection().execute(query).all())


def _chunks(entries: Iterable[JournalEntry], size: int) -> Iterator[list[JournalEntry]]:
    iterator = iter(entries)
    while chunk := list(islice(iterator, size)):
        yield chunk


Rows = list[tuple[Any, ...]]
Write = Callable[[Rows, Rows], None]


@contextmanager
def _writer_for(session: Session) -> Iterator[Write]:
    """On PostgreSQL a writer thread COPYs one chunk while the next is being hashed.

    The connection is used by that thread alone until it has finished: this thread only computes
    in between. Any error in the writer surfaces here, and the caller's transaction rolls back.
    """
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        yield lambda tx_rows, tr_rows: _write_sqlite(session, tx_rows, tr_rows)
        return
    raw = conn.connection.driver_connection
    work: queue.Queue[tuple[Rows, Rows] | None] = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def drain() -> None:
        while (item := work.get()) is not None:
            if not failure:
                try:
                    _copy_chunk(raw, *item)
                except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
                    failure.append(error)

    writer = threading.Thread(target=drain, name="ledger-bulk-copy", daemon=True)
    writer.start()

    def write(tx_rows: Rows, tr_rows: Rows) -> None:
        if failure:
            raise failure[0]
        work.put((tx_rows, tr_rows))

    try:
        yield write
    finally:
        work.put(None)
        writer.join()
    if failure:
        raise failure[0]


def _copy_chunk(raw: Any, tx_rows: Rows, tr_rows: Rows) -> None:
    with raw.cursor() as cursor:
        tx_ids = _next_ids(cursor, "ledger_transactions", len(tx_rows))
        tr_ids = _next_ids(cursor, "ledger_transfers", len(tr_rows))
        columns = ", ".join(_TRANSACTION_COLUMNS)
        with cursor.copy(f"COPY ledger_transactions ({columns}) FROM STDIN") as copy:
            for new_id, row in zip(tx_ids, tx_rows, strict=True):
                copy.write_row((new_id, *row))
        columns = ", ".join(_TRANSFER_COLUMNS)
        with cursor.copy(f"COPY ledger_transfers ({columns}) FROM STDIN") as copy:
            for new_id, row in zip(tr_ids, tr_rows, strict=True):
                copy.write_row((new_id, tx_ids[row[0]], *row[1:]))


def _next_ids(cursor: Any, table: str, count: int) -> list[int]:
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        (table, count),
    )
    return [row[0] for row in cursor.fetchall()]


def _write_sqlite(session: Session, tx_rows: Rows, tr_rows: Rows) -> None:
    # BEGIN IMMEDIATE makes us the only writer, so the next ids are ours to take.
    conn = session.connection()
    start = (
        int(conn.execute(select(func.coalesce(func.max(transactions.c.id), 0))).scalar_one()) + 1
    )
    conn.execute(
        insert(transactions),
        [
            dict(zip(_TRANSACTION_COLUMNS, (start + i, *row), strict=True))
            for i, row in enumerate(tx_rows)
        ],
    )
    conn.execute(
        insert(transfers),
        [
            dict(zip(_TRANSFER_COLUMNS, (None, start + row[0], *row[1:]), strict=True))
            for row in tr_rows
        ],
    )
