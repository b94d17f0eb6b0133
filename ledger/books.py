"""Opening books and accounts, closing accounts, and moving a book's lock date forward.

The standard chart (docs/ledger.md#chart-of-accounts) lives here so every consortium's book looks
the same: the bank can never go below zero, and no fund (the pool, an NGO's envelope, a client) can
spend more than it was given, pending holds included.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.errors import (
    AccountNotEmptyError,
    DuplicateCodeError,
    InvalidEntryError,
    InvalidPeriodCloseError,
    UnknownAccountError,
    UnknownBookError,
)
from ledger.models import GENESIS_HASH, accounts, books, period_closes
from ledger.values import ACCOUNT_CODE, BOOK_CODE, AccountType


@dataclass(frozen=True)
class AccountSpec:
    code: str
    name: str
    type: AccountType
    debits_must_not_exceed_credits: bool = False
    credits_must_not_exceed_debits: bool = False


def fund(code: str, name: str) -> AccountSpec:
    """A fund that can never spend more than it received (pool, envelope, client)."""
    return AccountSpec(code, name, AccountType.FUND, debits_must_not_exceed_credits=True)


STANDARD_CHART = (
    AccountSpec("bank", "Bank account", AccountType.ASSET, credits_must_not_exceed_debits=True),
    AccountSpec("gst_receivable", "GST receivable", AccountType.ASSET),
    fund("pool", "Flexible funding pool"),
)


def open_book(session: Session, *, code: str, name: str, now: datetime) -> int:
    """Open a book with the standard chart of accounts; returns its id."""
    if not BOOK_CODE.fullmatch(code or ""):
        raise InvalidEntryError([f"book code {code!r} must be 1-40 letters, digits, '-' or '_'"])
    if not name or len(name) > 200:
        raise InvalidEntryError(["book name must be 1-200 characters"])
    conn = session.connection()
    if conn.execute(select(books.c.id).where(books.c.code == code)).first() is not None:
        raise DuplicateCodeError(f"A book with code {code!r} already exists.")
    book_id: int = conn.execute(
        insert(books)
        .values(
            code=code,
            name=name,
            currency="AUD",
            last_sequence=0,
            last_hash=GENESIS_HASH,
            created_at=now,
        )
        .returning(books.c.id)
    ).scalar_one()
    for spec in STANDARD_CHART:
        open_account(session, book=code, spec=spec, now=now)
    return book_id


def book_id_for(session: Session, code: str) -> int:
    found = session.connection().execute(select(books.c.id).where(books.c.code == code)).scalar()
    if found is None:
        raise UnknownBookError(f"There is no book {code!r}.")
    return int(found)


def open_account(session: Session, *, book: str, spec: AccountSpec, now: datetime) -> int:
    if not ACCOUNT_CODE.fullmatch(spec.code or "") or len(spec.code) > 120:
        raise InvalidEntryError(
            [f"account code {spec.code!r} is not valid (e.g. org:NGO1, client:C-0017)"]
        )
    if not spec.name or len(spec.name) > 200:
        raise InvalidEntryError(["account name must be 1-200 characters"])
    book_id = book_id_for(session, book)
    conn = session.connection()
    exists = conn.execute(
        select(accounts.c.id).where(accounts.c.book_id == book_id, accounts.c.code == spec.code)
    ).first()
    if exists is not None:
        raise DuplicateCodeError(f"Account {spec.code} already exists in book {book}.")
    try:
        with session.begin_nested():
            return int(
                conn.execute(
                    insert(accounts)
                    .values(
                        book_id=book_id,
                        code=spec.code,
                        name=spec.name,
                        type=AccountType(spec.type).value,
                        debits_must_not_exceed_credits=spec.debits_must_not_exceed_credits,
                        credits_must_not_exceed_debits=spec.credits_must_not_exceed_debits,
                        closed=False,
                        debits_pending=0,
                        debits_posted=0,
                        credits_pending=0,
                        credits_posted=0,
                        created_at=now,
                    )
                    .returning(accounts.c.id)
                ).scalar_one()
            )
    except IntegrityError as error:  # a concurrent open of the same code
        raise DuplicateCodeError(f"Account {spec.code} already exists in book {book}.") from error


def close_account(session: Session, *, book: str, code: str) -> None:
    """Close an account that holds nothing; a closed account takes no more transfers."""
    book_id = book_id_for(session, book)
    row = (
        session.connection()
        .execute(
            select(accounts)
            .where(accounts.c.book_id == book_id, accounts.c.code == code)
            .with_for_update()
        )
        .first()
    )
    if row is None:
        raise UnknownAccountError(f"There is no account {code} in book {book}.")
    if row.debits_posted != row.credits_posted or row.debits_pending or row.credits_pending:
        raise AccountNotEmptyError(
            f"Account {code} still holds money or reservations; it cannot be closed."
        )
    session.connection().execute(
        update(accounts).where(accounts.c.id == row.id).values(closed=True)
    )


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def close_period(
    session: Session, *, book: str, through: date, actor: str, now: datetime, today: date
) -> None:
    """Close every day up to ``through`` (a month end): nothing may be dated in it again."""
    if through != month_end(through.year, through.month):
        raise InvalidPeriodCloseError(
            f"Periods close at a month end; {through:%d/%m/%Y} is not one."
        )
    if through >= today:
        raise InvalidPeriodCloseError(f"{through:%B %Y} has not finished yet; it cannot be closed.")
    conn = session.connection()
    row = conn.execute(
        select(books.c.id, books.c.closed_through).where(books.c.code == book).with_for_update()
    ).first()
    if row is None:
        raise UnknownBookError(f"There is no book {book!r}.")
    if row.closed_through is not None and through <= row.closed_through:
        raise InvalidPeriodCloseError(
            f"The books are already closed through {row.closed_through:%d/%m/%Y}."
        )
    conn.execute(update(books).where(books.c.id == row.id).values(closed_through=through))
    conn.execute(
        insert(period_closes).values(
            book_id=row.id, closed_through=through, actor=actor, closed_at=now
        )
    )
