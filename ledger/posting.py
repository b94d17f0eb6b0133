"""Writing to the ledger: post, reserve, post or void a hold, expire, reverse.

Everything funnels through :func:`post_entry`. It locks the book row (which orders the sequence
and the hash chain), then the touched accounts in id order, applies each leg to the in-memory
counters with the overdraft check, and writes with a handful of Core statements: this is the hot
path, so no ORM unit of work. It flushes and never commits; the caller owns the transaction.

Sign convention (the only one): counters are sums of positive amounts; a balance-after is the
account's posted net *debit* (debits − credits). Funds are credit-normal, so their everyday
balance is the negative of that net; see :func:`ledger.values.normal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from ledger import chain
from ledger.chain import TransferContent
from ledger.dates import window_problems
from ledger.errors import (
    AccountClosedError,
    AlreadyReversedError,
    IdempotencyConflictError,
    InsufficientFundsError,
    InvalidEntryError,
    NotPendingError,
    NotReversibleError,
    PendingAlreadyResolvedError,
    PendingExpiredError,
    PendingNotExpiredError,
    PeriodClosedError,
    UnknownAccountError,
    UnknownBookError,
    UnknownTransactionError,
    UnknownTransferError,
)
from ledger.hotpath import HotStatement, HotStatementFamily, sqlite_date
from ledger.models import accounts, books, transactions, transfers
from ledger.values import (
    POSTED_PHASES,
    AccountType,
    JournalEntry,
    Leg,
    Phase,
    Posted,
    PostPending,
    Reserve,
    Transfer,
    TransferKind,
    VoidPending,
    check_entry,
)

COUNTERS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


@dataclass
class AccountState:
    """An account's counters as this transaction changes them, under its row lock."""

    id: int
    code: str
    type: AccountType
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    closed: bool
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    touched: bool = False

    @property
    def net(self) -> int:
        return self.debits_posted - self.credits_posted

    @property
    def available(self) -> int:
        if self.debits_must_not_exceed_credits or self.type is AccountType.FUND:
            return self.credits_posted - self.debits_posted - self.debits_pending
        return self.debits_posted - self.credits_posted - self.credits_pending

    def overdrawn(self) -> bool:
        if self.debits_must_not_exceed_credits:
            return self.debits_posted + self.debits_pending > self.credits_posted
        if self.credits_must_not_exceed_debits:
            return self.credits_posted + self.credits_pending > self.debits_posted
        return False


@dataclass(frozen=True)
class HeldTransfer:
    id: int
    book_id: int
    debit_account_id: int
    credit_account_id: int
    amount: int
    phase: str
    expires_at: datetime | None
    category: str | None
    request_id: int | None
    resolved_by: int | None


@dataclass(frozen=True)
class BookHead:
    """The locked book row: where the sequence and the hash chain stand."""

    id: int
    code: str
    last_sequence: int
    last_hash: str
    date_high_water: date | None
    closed_through: date | None


# Compiled once per database and run on the driver's cursor: see ledger/hotpath.py.
_LOCK_BOOK = HotStatement(
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


_LOCK_ACCOUNTS = HotStatementFamily(_lock_accounts_statement)


def _insert_returning_id(table: Table) -> HotStatement:
    """INSERT of every column but the id, which the database assigns and returns."""
    values: dict[str, Any] = {
        column.name: bindparam(column.name) for column in table.columns if column.name != "id"
    }
    return HotStatement(insert(table).values(values).returning(table.c.id))


_INSERT_TRANSACTION = _insert_returning_id(transactions)
_INSERT_TRANSFER = _insert_returning_id(transfers)
_UPDATE_COUNTERS = HotStatement(
    update(accounts)
    .where(accounts.c.id == bindparam("account_id"))
    .values({name: bindparam(f"new_{name}") for name in COUNTERS})
)
_ADVANCE_BOOK = HotStatement(
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
_FIND_KEY = HotStatement(
    select(
        transactions.c.id, transactions.c.sequence, transactions.c.hash, transactions.c.payload_hash
    ).where(
        transactions.c.book_id == bindparam("book_id"),
        transactions.c.idempotency_key == bindparam("key"),
    )
)


def post_entry(session: Session, entry: JournalEntry, *, now: datetime) -> Posted:
    """Post one journal entry atomically, or raise and change nothing."""
    return _post(session, entry, now=now, reverses_id=None)


def _post(
    session: Session, entry: JournalEntry, *, now: datetime, reverses_id: int | None
) -> Posted:
    problems = check_entry(entry)
    if now.tzinfo is None:
        problems.append("now must be a timezone-aware datetime")
    else:
        problems += window_problems(entry.effective_date, now.date())
    if problems:
        raise InvalidEntryError(problems)
    conn = session.connection()
    payload_hash = entry.payload_hash(reverses_id) if entry.idempotency_key is not None else None
    book = lock_book(session, entry.book)
    if entry.idempotency_key is not None and payload_hash is not None:
        replay = _replay(session, book.id, entry.idempotency_key, payload_hash)
        if replay is not None:
            return replay
    if book.closed_through is not None and entry.effective_date <= book.closed_through:
        raise PeriodClosedError(
            f"The books are closed through {book.closed_through:%d/%m/%Y}: "
            f"nothing can be dated {entry.effective_date:%d/%m/%Y}."
        )
    if reverses_id is not None:
        _check_reversible(session, book.id, reverses_id)
    pendings = _load_pendings(session, book.id, entry.legs, now)
    states = _lock_accounts(session, book.id, entry, pendings)
    by_code = {state.code: state for state in states.values()}

    backdated = book.date_high_water is not None and entry.effective_date < book.date_high_water
    rows: list[dict[str, Any]] = []
    contents: list[TransferContent] = []
    for leg in entry.legs:
        row = apply_leg(leg, by_code, states, pendings)
        row.update(book_id=book.id, effective_date=entry.effective_date, backdated=backdated)
        rows.append(row)
        contents.append(transfer_content(row, states))

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
    transaction_id = _INSERT_TRANSACTION.execute(
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
    for row in rows:
        row["transaction_id"] = transaction_id
    if len(rows) == 1:
        transfer_ids: tuple[int, ...] = (_INSERT_TRANSFER.execute(conn, rows[0]).fetchone()[0],)
    else:
        transfer_ids = tuple(_INSERT_TRANSFER.returning_each(conn, rows))
    write_counters(session, [state for state in states.values() if state.touched])
    high_water = max(filter(None, (book.date_high_water, entry.effective_date)))
    # A conditional update: if anything moved the sequence under us, refuse rather than fork.
    moved = _ADVANCE_BOOK.execute(
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
    return Posted(transaction_id, sequence, new_hash, transfer_ids)


def lock_book(session: Session, code: str) -> BookHead:
    """Lock the book row: it orders the sequence and the hash chain of every posting in it."""
    row = _LOCK_BOOK.execute(session.connection(), {"code": code}).fetchone()
    if row is None:
        raise UnknownBookError(f"There is no book {code!r}.")
    book_id, book_code, last_sequence, last_hash, high_water, closed_through = row
    return BookHead(
        book_id,
        book_code,
        last_sequence,
        last_hash,
        sqlite_date(high_water),
        sqlite_date(closed_through),
    )


def _replay(session: Session, book_id: int, key: str, payload_hash: str) -> Posted | None:
    conn = session.connection()
    found = _FIND_KEY.execute(conn, {"book_id": book_id, "key": key}).fetchone()
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


def _load_pendings(
    session: Session, book_id: int, legs: tuple[Leg, ...], now: datetime
) -> dict[int, HeldTransfer]:
    wanted = [leg for leg in legs if isinstance(leg, PostPending | VoidPending)]
    if not wanted:
        return {}
    resolution = transfers.alias("resolution")
    held = transfers.alias("held")
    rows = (
        session.connection()
        .execute(
            select(
                held.c.id,
                held.c.book_id,
                held.c.debit_account_id,
                held.c.credit_account_id,
                held.c.amount,
                held.c.phase,
                held.c.expires_at,
                held.c.category,
                held.c.request_id,
                resolution.c.id.label("resolved_by"),
            )
            .select_from(held.outerjoin(resolution, resolution.c.pending_id == held.c.id))
            .where(held.c.id.in_([leg.pending_id for leg in wanted]))
        )
        .all()
    )
    found = {row.id: HeldTransfer(**row._mapping) for row in rows}
    for leg in wanted:
        pending = found.get(leg.pending_id)
        if pending is None or pending.book_id != book_id:
            raise UnknownTransferError(
                f"There is no pending transfer T{leg.pending_id} in this book."
            )
        if pending.phase != Phase.PENDING:
            raise NotPendingError(f"Transfer T{pending.id} is not a pending transfer.")
        if pending.resolved_by is not None:
            raise PendingAlreadyResolvedError(
                f"Reservation T{pending.id} was already posted or released "
                f"(by T{pending.resolved_by})."
            )
        expired = pending.expires_at is not None and pending.expires_at <= now
        if isinstance(leg, PostPending) and expired:
            raise PendingExpiredError(
                f"Reservation T{pending.id} expired at {pending.expires_at:%Y-%m-%d %H:%M} UTC."
            )
        if isinstance(leg, VoidPending) and leg.expiry and not expired:
            raise PendingNotExpiredError(f"Reservation T{pending.id} has not expired yet.")
        if isinstance(leg, PostPending) and leg.amount is not None and leg.amount > pending.amount:
            raise InvalidEntryError(
                [
                    f"cannot post {leg.amount} cents against reservation T{pending.id} "
                    f"of {pending.amount}"
                ]
            )
    return found


def account_states(rows: Sequence[Sequence[Any]]) -> dict[int, AccountState]:
    """Rows of ``ACCOUNT_STATE`` as mutable states (SQLite hands booleans back as 0 and 1)."""
    return {
        row[0]: AccountState(
            row[0], row[1], AccountType(row[2]), bool(row[3]), bool(row[4]), bool(row[5]), *row[6:]
        )
        for row in rows
    }


def _lock_accounts(
    session: Session, book_id: int, entry: JournalEntry, pendings: dict[int, HeldTransfer]
) -> dict[int, AccountState]:
    codes = sorted(
        {
            c
            for leg in entry.legs
            if isinstance(leg, Transfer | Reserve)
            for c in (leg.debit, leg.credit)
        }
    )
    ids = sorted({i for p in pendings.values() for i in (p.debit_account_id, p.credit_account_id)})
    params: dict[str, Any] = {"book_id": book_id}
    params.update((f"code{i}", code) for i, code in enumerate(codes))
    params.update((f"id{i}", account_id) for i, account_id in enumerate(ids))
    statement = _LOCK_ACCOUNTS.for_counts(len(codes), len(ids))
    states = account_states(statement.execute(session.connection(), params).fetchall())
    missing = set(codes) - {state.code for state in states.values()}
    if missing:
        raise UnknownAccountError(
            f"There is no account {', '.join(sorted(missing))} in book {entry.book}."
        )
    return states


def apply_leg(
    leg: Leg,
    by_code: dict[str, AccountState],
    states: dict[int, AccountState],
    pendings: dict[int, HeldTransfer],
) -> dict[str, Any]:
    """Apply one leg to the locked counters, refuse an overdraft, and return its row."""
    pending_id: int | None = None
    expires_at: datetime | None = None
    if isinstance(leg, Transfer | Reserve):
        debit, credit, amount = by_code[leg.debit], by_code[leg.credit], leg.amount
        category, request_id = leg.category, leg.request_id
        for state in (debit, credit):
            if state.closed:
                raise AccountClosedError(f"Account {state.code} is closed.")
        needed_debit, needed_credit = debit.available, credit.available
        if isinstance(leg, Transfer):
            phase = Phase.SINGLE
            debit.debits_posted += amount
            credit.credits_posted += amount
        else:
            phase, expires_at = Phase.PENDING, leg.expires_at
            debit.debits_pending += amount
            credit.credits_pending += amount
        if debit.overdrawn():
            raise InsufficientFundsError(debit.code, needed_debit, amount)
        if credit.overdrawn():
            raise InsufficientFundsError(credit.code, needed_credit, amount)
    else:
        held = pendings[leg.pending_id]
        debit, credit = states[held.debit_account_id], states[held.credit_account_id]
        category, request_id, pending_id = held.category, held.request_id, held.id
        debit.debits_pending -= held.amount
        credit.credits_pending -= held.amount
        if isinstance(leg, PostPending):
            phase, amount = Phase.POST_PENDING, leg.amount or held.amount
            debit.debits_posted += amount
            credit.credits_posted += amount
        else:
            phase, amount = Phase.VOID_PENDING, held.amount
    debit.touched = credit.touched = True
    return {
        "debit_account_id": debit.id,
        "credit_account_id": credit.id,
        "amount": amount,
        "kind": TransferKind(leg.kind).value,
        "phase": phase.value,
        "pending_id": pending_id,
        "expires_at": expires_at,
        "category": category,
        "request_id": request_id,
        "debit_balance_after": debit.net,
        "credit_balance_after": credit.net,
    }


def transfer_content(row: dict[str, Any], states: dict[int, AccountState]) -> TransferContent:
    """What the hash chain commits to for one transfer row about to be written."""
    return chain.transfer_content(row, lambda account_id: states[account_id].code)


def write_counters(session: Session, states: list[AccountState]) -> None:
    params = [
        {"account_id": s.id, **{f"new_{name}": getattr(s, name) for name in COUNTERS}}
        for s in states
    ]
    _UPDATE_COUNTERS.execute_many(session.connection(), params)


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
