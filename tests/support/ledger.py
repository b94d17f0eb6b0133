"""Ledger kits that read like an accountant talking.

``kit.post(kit.move("bank", "pool", "1,000.00"))`` debits the bank and credits the pool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from ledger import (
    JournalEntry,
    PostPending,
    Reserve,
    Transfer,
    TransferKind,
    VoidPending,
    fund,
    get_balance,
    open_account,
    open_book,
    parse_cents,
    post_entry,
    verify,
)
from ledger.db import run_in_transaction
from ledger.values import Balance, Finding, Leg, Posted
from tests.support.databases import unique_code

T = TypeVar("T")


@dataclass
class LedgerKit:
    """One fresh book with the standard chart, two NGO envelopes and two clients."""

    factory: sessionmaker[Session]
    book: str
    now: datetime
    day: date = date(2026, 11, 2)

    def run(self, work: Callable[[Session], T]) -> T:
        return run_in_transaction(self.factory, work)

    def move(
        self,
        debit: str,
        credit: str,
        amount: str,
        kind: TransferKind = TransferKind.ADJUSTMENT,
        **extra: Any,
    ) -> Transfer:
        return Transfer(debit, credit, parse_cents(amount), kind, **extra)

    def hold(self, debit: str, credit: str, amount: str, **extra: Any) -> Reserve:
        return Reserve(debit, credit, parse_cents(amount), **extra)

    def settle(self, pending_id: int, amount: str | None = None) -> PostPending:
        return PostPending(pending_id, None if amount is None else parse_cents(amount))

    def release(self, pending_id: int, expiry: bool = False) -> VoidPending:
        return VoidPending(pending_id, expiry=expiry)

    def entry(
        self, *legs: Leg, on: date | None = None, key: str | None = None, memo: str = "test entry"
    ) -> JournalEntry:
        return JournalEntry(self.book, on or self.day, memo, "user:test", tuple(legs), key)

    def post(
        self,
        *legs: Leg,
        on: date | None = None,
        key: str | None = None,
        now: datetime | None = None,
    ) -> Posted:
        entry = self.entry(*legs, on=on, key=key)
        return self.run(lambda s: post_entry(s, entry, now=now or self.now))

    def balance(self, account: str) -> Balance:
        with self.factory() as session:
            return get_balance(session, self.book, account)

    def verify(self) -> list[Finding]:
        with self.factory() as session:
            return verify(session, self.book)

    def fund_pool(self, amount: str = "10,000.00") -> None:
        self.post(self.move("bank", "pool", amount, TransferKind.GRANT_RECEIPT))

    def allocate_leg(self, envelope: str, amount: str) -> Transfer:
        return self.move("pool", envelope, amount, TransferKind.ALLOCATION)

    def allocate(self, envelope: str, amount: str) -> Posted:
        return self.post(self.allocate_leg(envelope, amount))


def open_kit(factory: sessionmaker[Session], now: datetime) -> LedgerKit:
    code = unique_code("B")

    def setup(session: Session) -> None:
        open_book(session, code=code, name="Test consortium", now=now)
        for account in ("org:NGO1", "org:NGO2", "client:C-0001", "client:C-0002"):
            open_account(session, book=code, spec=fund(account, account), now=now)

    run_in_transaction(factory, setup)
    return LedgerKit(factory, code, now)
