"""Writing to the ledger: post, reserve, post or void a hold, expire, reverse.

Everything funnels through :func:`post_entry`. It locks the book row (which orders the sequence
and the hash chain), then the touched accounts in id order (ledger/locked_rows.py), applies each
leg to the in-memory counters with the overdraft check (ledger/effects.py), and writes with a
handful of prebuilt Core statements (ledger/statements.py): this is the hot path, so no ORM unit
of work. It flushes and never commits; the caller owns the transaction.

Sign convention (the only one): counters are sums of positive amounts; a balance-after is the
account's posted net *debit* (debits − credits). Funds are credit-normal, so their everyday
balance is the negative of that net; see :func:`ledger.values.normal`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ledger import chain
from ledger.chain import TransferContent
from ledger.dates import window_problems
from ledger.effects import AccountState, apply_leg, transfer_content
from ledger.errors import (
    AlreadyReversedError,
    IdempotencyConflictError,
    InvalidEntryError,
    NotReversibleError,
    PendingAlreadyResolvedError,
    PeriodClosedError,
    UnknownTransactionError,
)
from ledger.holds import HeldTransfer, load_pendings
from ledger.locked_rows import BookHead, lock_accounts, lock_book, write_counters
from ledger.models import accounts, books, transactions, transfers
from ledger.statements import ADVANCE_BOOK, FIND_KEY, INSERT_TRANSACTION, INSERT_TRANSFER
from ledger.values import (
    POSTED_PHASES,
    JournalEntry,
    Phase,
    Posted,
    Transfer,
    TransferKind,
    VoidPending,
    check_entry,
)


def post_entry(session: Session, entry: JournalEntry, *, now: datetime) -> Posted:
    """Post one journal entry atomically, or raise and change nothing."""
    return _post(session, entry, now=now, reverses_id=None)


def _post(
    session: Session, entry: JournalEntry, *, now: datetime, reverses_id: int | None
) -> Posted:
    """Check, lock, apply and write, in the order docs/concurrency.md#the-rule gives."""
    _refuse_invalid(entry, now)
    payload_hash = entry.payload_hash(reverses_id) if entry.idempotency_key is not None else None
    book = lock_book(session, entry.book)
    if entry.idempotency_key is not None and payload_hash is not None:
        replay = _replay(session, book.id, entry.idempotency_key, payload_hash)
        if replay is not None:
            return replay
    _refuse_closed_period(book, entry.effective_date)
    if reverses_id is not None:
        _check_reversible(session, book.id, reverses_id)
    pendings = load_pendings(session, book.id, entry.legs, now)
    states = lock_accounts(session, book.id, entry, pendings)
    backdated = book.date_high_water is not None and entry.effective_date < book.date_high_water
    rows, contents = _apply_legs(entry, book.id, backdated, states, pendings)
    sequence = book.last_sequence + 1
    new_hash = chain.transaction_hash(
        book.last_hash,
        book=book.code,
        sequence=sequence,
        effective_date=entry.effective_date,
        memo=entry.memo,
        actor=entry.actor,
        idempotency_key=entry.idempotency_key,
        payload_hash=payload_hash,
        reverses_id=reverses_id,
        backdated=backdated,
        created_at=now,
        transfers=contents,
    )
    conn = session.connection()
    transaction_id = INSERT_TRANSACTION.execute(
        conn,
        {
            "book_id": book.id,
            "sequence": sequence,
            "effective_date": entry.effective_date,
            "memo": entry.memo,
            "actor": entry.actor,
            "idempotency_key": entry.idempotency_key,
            "payload_hash": payload_hash,
            "reverses_id": reverses_id,
            "transfer_count": len(rows),
            "backdated": backdated,
            "prev_hash": book.last_hash,
            "hash": new_hash,
            "created_at": now,
        },
    ).fetchone()[0]
    transfer_ids = _insert_transfers(conn, rows, transaction_id)
    write_counters(session, [state for state in states.values() if state.touched])
    _advance_book(conn, book, sequence, new_hash, entry.effective_date)
    return Posted(transaction_id, sequence, new_hash, transfer_ids)


def _refuse_invalid(entry: JournalEntry, now: datetime) -> None:
    """Everything wrong with the entry on its face, all at once, before any lock is taken."""
    problems = check_entry(entry)
    if now.tzinfo is None:
        problems.append("now must be a timezone-aware datetime")
    else:
        problems += window_problems(entry.effective_date, now.date())
    if problems:
        raise InvalidEntryError(problems)


def _refuse_closed_period(book: BookHead, effective_date: date) -> None:
    if book.closed_through is not None and effective_date <= book.closed_through:
        raise PeriodClosedError(
            f"The books are closed through {book.closed_through:%d/%m/%Y}: "
            f"nothing can be dated {effective_date:%d/%m/%Y}."
        )


def _apply_legs(
    entry: JournalEntry,
    book_id: int,
    backdated: bool,
    states: dict[int, AccountState],
    pendings: dict[int, HeldTransfer],
) -> tuple[list[dict[str, Any]], list[TransferContent]]:
    """The transfer rows to write, and what the hash chain commits to for each, leg by leg."""
    rows: list[dict[str, Any]] = []
    contents: list[TransferContent] = []
    by_code = {state.code: state for state in states.values()}
    for leg in entry.legs:
        row = apply_leg(leg, by_code, states, pendings)
        row.update(book_id=book_id, effective_date=entry.effective_date, backdated=backdated)
        rows.append(row)
        contents.append(transfer_content(row, states))
    return rows, contents


def _insert_transfers(
    conn: Connection, rows: list[dict[str, Any]], transaction_id: int
) -> tuple[int, ...]:
    for row in rows:
        row["transaction_id"] = transaction_id
    if len(rows) == 1:
        return (INSERT_TRANSFER.execute(conn, rows[0]).fetchone()[0],)
    return tuple(INSERT_TRANSFER.returning_each(conn, rows))


def _advance_book(
    conn: Connection, book: BookHead, sequence: int, new_hash: str, effective_date: date
) -> None:
    """Move the book's head on; if anything moved the sequence under us, refuse rather than fork."""
    high_water = max(filter(None, (book.date_high_water, effective_date)))
    moved = ADVANCE_BOOK.execute(
        conn,
        {
            "book_id": book.id,
            "expected_sequence": book.last_sequence,
            "new_sequence": sequence,
            "new_hash": new_hash,
            "high_water": high_water,
        },
    ).rowcount
    if moved != 1:
        raise RuntimeError("book sequence changed while locked; transaction abandoned")


def _replay(session: Session, book_id: int, key: str, payload_hash: str) -> Posted | None:
    """The earlier posting under ``key``, if its payload matches; a different payload is refused."""
    conn = session.connection()
    found = FIND_KEY.execute(conn, {"book_id": book_id, "key": key}).fetchone()
    if found is None:
        return None
    found_id, found_sequence, found_hash, found_payload = found
    if found_payload != payload_hash:
        raise IdempotencyConflictError(
            f"Idempotency key {key!r} was already used for a different request "
            f"(transaction #{found_sequence}); nothing was posted."
        )
    ids = conn.execute(
        select(transfers.c.id)
        .where(transfers.c.book_id == book_id, transfers.c.transaction_id == found_id)
        .order_by(transfers.c.id)
    ).scalars()
    return Posted(found_id, found_sequence, found_hash, tuple(ids), replayed=True)


def _check_reversible(session: Session, book_id: int, transaction_id: int) -> None:
    conn = session.connection()
    original = conn.execute(
        select(transactions.c.id, transactions.c.sequence, transactions.c.reverses_id).where(
            transactions.c.id == transaction_id, transactions.c.book_id == book_id
        )
    ).first()
    if original is None:
        raise UnknownTransactionError(f"There is no transaction {transaction_id} in this book.")
    if original.reverses_id is not None:
        raise NotReversibleError(
            f"Transaction #{original.sequence} is itself a reversal; post the entry again instead."
        )
    reversal = conn.execute(
        select(transactions.c.sequence).where(transactions.c.reverses_id == transaction_id)
    ).scalar()
    if reversal is not None:
        raise AlreadyReversedError(
            f"Transaction #{original.sequence} was already reversed by #{reversal}."
        )


def reverse_transaction(
    session: Session,
    *,
    book: str,
    transaction_id: int,
    effective_date: date,
    memo: str,
    actor: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> Posted:
    """Undo a posted transaction with its mirror image; at most once, and never a hold."""
    debit_account = accounts.alias("debit_account")
    credit_account = accounts.alias("credit_account")
    rows = (
        session.connection()
        .execute(
            select(
                transfers.c.amount,
                transfers.c.phase,
                transfers.c.category,
                transfers.c.request_id,
                debit_account.c.code.label("debit"),
                credit_account.c.code.label("credit"),
            )
            .join(debit_account, debit_account.c.id == transfers.c.debit_account_id)
            .join(credit_account, credit_account.c.id == transfers.c.credit_account_id)
            .join(books, books.c.id == transfers.c.book_id)
            .where(transfers.c.transaction_id == transaction_id, books.c.code == book)
            .order_by(transfers.c.id)
        )
        .all()
    )
    if not rows:
        raise UnknownTransactionError(f"There is no transaction {transaction_id} in book {book}.")
    if any(row.phase not in POSTED_PHASES for row in rows):
        raise NotReversibleError(
            "A transaction that holds or releases a reservation cannot be reversed; "
            "void the reservation instead."
        )
    legs = tuple(
        Transfer(
            debit=row.credit,
            credit=row.debit,
            amount=row.amount,
            kind=TransferKind.REVERSAL,
            category=row.category,
            request_id=row.request_id,
        )
        for row in reversed(rows)  # undo in the opposite order, so no step overdraws
    )
    entry = JournalEntry(book, effective_date, memo, actor, legs, idempotency_key)
    return _post(session, entry, now=now, reverses_id=transaction_id)


def expire_due(
    session: Session,
    *,
    book: str,
    now: datetime,
    effective_date: date,
    actor: str = "system:expiry",
) -> list[Posted]:
    """Release every reservation in ``book`` whose expiry has passed; returns what it released.

    Each release is its own journal transaction under a savepoint of the caller's transaction: a
    hold that someone posts or voids while the sweep runs is skipped, not a reason to lose the
    sweep. The ``expire:T…`` key makes two sweeps racing each other harmless.
    """
    resolution = transfers.alias("resolution")
    due = (
        session.connection()
        .execute(
            select(transfers.c.id)
            .join(books, books.c.id == transfers.c.book_id)
            .outerjoin(resolution, resolution.c.pending_id == transfers.c.id)
            .where(
                books.c.code == book,
                transfers.c.phase == Phase.PENDING.value,
                transfers.c.expires_at <= now,
                resolution.c.id.is_(None),
            )
            .order_by(transfers.c.id)
        )
        .scalars()
        .all()
    )
    released: list[Posted] = []
    for pending_id in due:
        entry = JournalEntry(
            book,
            effective_date,
            f"Reservation T{pending_id} expired",
            actor,
            (VoidPending(pending_id, expiry=True),),
            idempotency_key=f"expire:T{pending_id}",
        )
        try:
            with session.begin_nested():
                released.append(post_entry(session, entry, now=now))
        except PendingAlreadyResolvedError:
            continue  # posted or voided by someone else since we looked
    return released
