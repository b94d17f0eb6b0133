"""The rows a posting holds locked: the book's head, then the accounts it touches.

The book row orders the sequence and the hash chain; the accounts are locked after it, in id
order, so two postings never deadlock (docs/concurrency.md#the-rule). Their counters are written
back here once the entry's effects are known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from ledger.effects import AccountState, account_states
from ledger.errors import UnknownAccountError, UnknownBookError
from ledger.holds import HeldTransfer
from ledger.hotpath import sqlite_date
from ledger.statements import COUNTERS, LOCK_ACCOUNTS, LOCK_BOOK, UPDATE_COUNTERS
from ledger.values import JournalEntry, Reserve, Transfer


@dataclass(frozen=True)
class BookHead:
    """The locked book row: where the sequence and the hash chain stand."""

    id: int
    code: str
    last_sequence: int
    last_hash: str
    date_high_water: date | None
    closed_through: date | None


def lock_book(session: Session, code: str) -> BookHead:
    """Lock the book row: it orders the sequence and the hash chain of every posting in it."""
    row = LOCK_BOOK.execute(session.connection(), {"code": code}).fetchone()
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


def lock_accounts(
    session: Session, book_id: int, entry: JournalEntry, pendings: dict[int, HeldTransfer]
) -> dict[int, AccountState]:
    """Lock every account the entry's legs and held transfers touch, in id order."""
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
    statement = LOCK_ACCOUNTS.for_counts(len(codes), len(ids))
    states = account_states(statement.execute(session.connection(), params).fetchall())
    missing = set(codes) - {state.code for state in states.values()}
    if missing:
        raise UnknownAccountError(
            f"There is no account {', '.join(sorted(missing))} in book {entry.book}."
        )
    return states


def write_counters(session: Session, states: list[AccountState]) -> None:
    """Write the changed counters of the locked accounts back, in one batch."""
    params = [
        {"account_id": s.id, **{f"new_{name}": getattr(s, name) for name in COUNTERS}}
        for s in states
    ]
    UPDATE_COUNTERS.execute_many(session.connection(), params)
