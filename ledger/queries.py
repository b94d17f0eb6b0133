"""Reading the ledger: balances now and as of a date, entries page by page, the trial balance.

Balances now come from the account's counters (one row). An as-of balance comes from the stored
balance-after of the last transfer dated on or before the day, found by an index seek: transfers
that were not backdated are in date order when read in id order, so the last of them dated on or
before the day has seen everything before it. Backdated transfers after it that are dated on or
before the day are added from their own small partial index.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from ledger.errors import InvalidEntryError, UnknownAccountError
from ledger.models import accounts, books, transactions, transfers
from ledger.values import POSTED_PHASES, AccountType, Balance, Phase, normal

_POSTED = [phase.value for phase in POSTED_PHASES]


@dataclass(frozen=True)
class AccountRef:
    id: int
    book_id: int
    code: str
    type: AccountType


_FIND_ACCOUNT = (
    select(accounts.c.id, accounts.c.book_id, accounts.c.code, accounts.c.type)
    .join(books, books.c.id == accounts.c.book_id)
    .where(books.c.code == bindparam("book"), accounts.c.code == bindparam("code"))
)


def find_account(session: Session, book: str, code: str) -> AccountRef:
    row = session.connection().execute(_FIND_ACCOUNT, {"book": book, "code": code}).first()
    if row is None:
        raise UnknownAccountError(f"There is no account {code} in book {book}.")
    return AccountRef(row.id, row.book_id, row.code, AccountType(row.type))


_BALANCES = select(
    accounts.c.code,
    accounts.c.type,
    accounts.c.debits_posted,
    accounts.c.credits_posted,
    accounts.c.debits_pending,
    accounts.c.credits_pending,
).join(books, books.c.id == accounts.c.book_id)
_BALANCE = _BALANCES.where(books.c.code == bindparam("book"), accounts.c.code == bindparam("code"))


def balance_of(row: Any) -> Balance:
    """A balance from an account row's code, type and four counters."""
    return Balance(
        account=row.code,
        type=AccountType(row.type),
        debits_posted=row.debits_posted,
        credits_posted=row.credits_posted,
        debits_pending=row.debits_pending,
        credits_pending=row.credits_pending,
    )


def get_balance(session: Session, book: str, code: str) -> Balance:
    row = session.connection().execute(_BALANCE, {"book": book, "code": code}).first()
    if row is None:
        raise UnknownAccountError(f"There is no account {code} in book {book}.")
    return balance_of(row)


def get_balances(session: Session, book: str, codes: Sequence[str]) -> dict[str, Balance]:
    """Several accounts' balances now in one read, by code; every code must exist."""
    query = _BALANCES.where(books.c.code == book, accounts.c.code.in_(list(codes)))
    rows = session.connection().execute(query).all()
    found = {row.code: balance_of(row) for row in rows}
    missing = sorted(set(codes) - set(found))
    if missing:
        raise UnknownAccountError(f"There is no account {missing[0]} in book {book}.")
    return found


@dataclass(frozen=True)
class Totals:
    """A book's (or one account type's) posted debits and credits, summed in the database."""

    accounts: int
    debits: int
    credits: int

    def balance(self, account_type: AccountType) -> int:
        """The net in the type's normal direction (funds: credits less debits)."""
        return normal(account_type, self.debits - self.credits)


def totals(session: Session, book: str, account_type: AccountType | None = None) -> Totals:
    """Sums without listing every client account: pages that show one figure ask for this."""
    query = (
        select(
            func.count(),
            func.coalesce(func.sum(accounts.c.debits_posted), 0),
            func.coalesce(func.sum(accounts.c.credits_posted), 0),
        )
        .select_from(accounts)
        .join(books, books.c.id == accounts.c.book_id)
        .where(books.c.code == book)
    )
    if account_type is not None:
        query = query.where(accounts.c.type == account_type.value)
    count, debits, credits = session.connection().execute(query).one()
    return Totals(int(count), int(debits), int(credits))


def balance_as_of(session: Session, book: str, code: str, on: date) -> int:
    """The posted balance, in the account's normal direction, at the end of ``on``."""
    account = find_account(session, book, code)
    return normal(account.type, net_as_of(session, account.id, on))


def _last_not_backdated(side: Any, after: Any) -> Any:
    return (
        select(transfers.c.id.label("id"), after.label("after"))
        .where(
            side == bindparam("account_id"),
            ~transfers.c.backdated,
            transfers.c.effective_date <= bindparam("on"),
        )
        .order_by(transfers.c.effective_date.desc(), transfers.c.id.desc())
        .limit(1)
        .subquery()
    )


def _late(side: Any, last_id: Any) -> Any:
    return (
        select(func.coalesce(func.sum(transfers.c.amount), 0))
        .where(
            side == bindparam("account_id"),
            transfers.c.backdated,
            transfers.c.id > last_id,
            transfers.c.effective_date <= bindparam("on"),
            transfers.c.phase.in_(_POSTED),
        )
        .scalar_subquery()
    )


def _as_of_statement() -> Any:
    """One round trip: the balance-after of the last transfer that was not backdated and is
    dated on or before the day (an index seek per side), plus any backdated transfers entered
    after it but dated on or before the day (their own small partial indexes)."""
    debit = _last_not_backdated(transfers.c.debit_account_id, transfers.c.debit_balance_after)
    credit = _last_not_backdated(transfers.c.credit_account_id, transfers.c.credit_balance_after)
    candidates = union_all(
        select(debit.c.id, debit.c.after), select(credit.c.id, credit.c.after)
    ).subquery()
    last = (
        select(candidates.c.id, candidates.c.after)
        .order_by(candidates.c.id.desc())
        .limit(1)
        .cte("last")
    )
    last_id = func.coalesce(select(last.c.id).scalar_subquery(), 0)
    return select(
        func.coalesce(select(last.c.after).scalar_subquery(), 0)
        + _late(transfers.c.debit_account_id, last_id)
        - _late(transfers.c.credit_account_id, last_id)
    )


_AS_OF = _as_of_statement()


def net_as_of(session: Session, account_id: int, on: date) -> int:
    """The account's posted net debit at the end of ``on``, whatever the size of its history."""
    return int(
        session.connection().execute(_AS_OF, {"account_id": account_id, "on": on}).scalar_one()
    )


@dataclass(frozen=True)
class Entry:
    """One line of an account's statement, signed in the account's normal direction."""

    transfer_id: int
    transaction_id: int
    sequence: int
    effective_date: date
    memo: str
    kind: str
    phase: str
    counterparty: str
    amount: int
    balance_after: int


@dataclass(frozen=True)
class EntryPage:
    entries: list[Entry]
    next_cursor: str | None


def _encode_cursor(transfer_id: int) -> str:
    return base64.urlsafe_b64encode(f"t{transfer_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        if not text.startswith("t"):
            raise ValueError(text)
        return int(text[1:])
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidEntryError(["the page cursor is not valid"]) from error


def list_entries(
    session: Session, book: str, code: str, *, cursor: str | None = None, limit: int = 50
) -> EntryPage:
    """An account's transfers newest first, a page at a time (keyset, so deep pages stay fast)."""
    if not 1 <= limit <= 500:
        raise InvalidEntryError(["page size must be between 1 and 500"])
    account = find_account(session, book, code)
    before = _decode_cursor(cursor) if cursor else None
    other = accounts.alias("other")

    def side(is_debit: bool):  # type: ignore[no-untyped-def]
        mine = transfers.c.debit_account_id if is_debit else transfers.c.credit_account_id
        theirs = transfers.c.credit_account_id if is_debit else transfers.c.debit_account_id
        after = transfers.c.debit_balance_after if is_debit else transfers.c.credit_balance_after
        sign = 1 if is_debit else -1
        query = (
            select(
                transfers.c.id,
                transfers.c.transaction_id,
                transfers.c.kind,
                transfers.c.phase,
                transfers.c.amount,
                (literal(sign) * transfers.c.amount).label("net_amount"),
                after.label("net_after"),
                theirs.label("other_id"),
            )
            .where(mine == account.id)
            .order_by(transfers.c.id.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(transfers.c.id < before)
        return query.subquery()

    merged = union_all(select(side(True)), select(side(False))).subquery()
    rows = (
        session.connection()
        .execute(
            select(
                merged,
                transactions.c.sequence,
                transactions.c.effective_date,
                transactions.c.memo,
                other.c.code,
            )
            .join(transactions, transactions.c.id == merged.c.transaction_id)
            .join(other, other.c.id == merged.c.other_id)
            .order_by(merged.c.id.desc())
            .limit(limit + 1)
        )
        .all()
    )
    entries = [
        Entry(
            transfer_id=row.id,
            transaction_id=row.transaction_id,
            sequence=row.sequence,
            effective_date=row.effective_date,
            memo=row.memo,
            kind=row.kind,
            phase=row.phase,
            counterparty=row.code,
            amount=normal(account.type, row.net_amount),
            balance_after=normal(account.type, row.net_after),
        )
        for row in rows[:limit]
    ]
    next_cursor = _encode_cursor(entries[-1].transfer_id) if len(rows) > limit else None
    return EntryPage(entries, next_cursor)


@dataclass(frozen=True)
class TrialBalanceLine:
    book: str
    account: str
    type: AccountType
    debits: int
    credits: int

    @property
    def balance(self) -> int:
        """Debit-positive, like hledger: funds show negative, and a book's lines sum to zero."""
        return self.debits - self.credits


def trial_balance(
    session: Session, book: str | None = None, *, as_of: date | None = None
) -> list[TrialBalanceLine]:
    """Posted debits and credits per account; now from the counters, or as of a day's end."""
    conn = session.connection()
    listing = select(
        accounts.c.id,
        books.c.code.label("book"),
        accounts.c.code,
        accounts.c.type,
        accounts.c.debits_posted,
        accounts.c.credits_posted,
    ).join(books, books.c.id == accounts.c.book_id)
    if book is not None:
        listing = listing.where(books.c.code == book)
    rows = conn.execute(listing.order_by(books.c.code, accounts.c.code)).all()
    if as_of is None:
        return [
            TrialBalanceLine(r.book, r.code, AccountType(r.type), r.debits_posted, r.credits_posted)
            for r in rows
        ]
    debits = _sums_as_of(session, transfers.c.debit_account_id, as_of, book)
    credits = _sums_as_of(session, transfers.c.credit_account_id, as_of, book)
    return [
        TrialBalanceLine(
            r.book, r.code, AccountType(r.type), debits.get(r.id, 0), credits.get(r.id, 0)
        )
        for r in rows
    ]


def _sums_as_of(session: Session, side, as_of: date, book: str | None) -> dict[int, int]:  # type: ignore[no-untyped-def]
    query = (
        select(side, func.sum(transfers.c.amount))
        .where(transfers.c.effective_date <= as_of, transfers.c.phase.in_(_POSTED))
        .group_by(side)
    )
    if book is not None:
        query = query.join(books, books.c.id == transfers.c.book_id).where(books.c.code == book)
    return {int(k): int(v) for k, v in session.connection().execute(query).all()}


def book_codes(session: Session) -> Sequence[str]:
    return session.connection().execute(select(books.c.code).order_by(books.c.code)).scalars().all()


def hold_open_on(through: date | None) -> ColumnElement[bool]:
    """A pending transfer dated by ``through`` that no post or void dated by then resolved.

    What a report "as at" a date calls committed: a hold released later still counted then.
    ``None`` means as things stand now.
    """
    resolution = transfers.alias("resolution")
    resolved = and_(
        resolution.c.pending_id == transfers.c.id,
        resolution.c.phase.in_((Phase.POST_PENDING.value, Phase.VOID_PENDING.value)),
    )
    opened = transfers.c.phase == Phase.PENDING.value
    if through is not None:
        resolved = and_(resolved, resolution.c.effective_date <= through)
        opened = and_(opened, transfers.c.effective_date <= through)
    return and_(opened, ~select(resolution.c.id).where(resolved).exists())
