"""A long history and the reads that must not slow down with it.

One book of 50 accounts (the standard three, 7 partner envelopes, 40 clients) gets a history of
single-leg entries in a fixed, overdraft-safe cycle: the pool allocates to an envelope, the
envelope passes the amount to a client, the client spends it back to the bank. Entry 0 is the
grant. The first ``SMALL`` entries are posted one at a time through ``post_entry`` and dated
across one financial year; the rest are loaded with ``ledger.bulk.load_history`` in one
transaction and dated across the next, so no entry is backdated. Reads are measured the way a
request makes them, each in its own session, and ask an as-of date in the middle of the
history loaded so far. After the load PostgreSQL gets an ``ANALYZE`` (autovacuum's job in
production) so the big reads see the statistics they would see a minute later.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ledger import (
    JournalEntry,
    Transfer,
    TransferKind,
    balance_as_of,
    fund,
    get_balance,
    open_account,
    open_book,
    post_entry,
    trial_balance,
)
from ledger.books import month_end
from ledger.bulk import load_history
from ledger.db import run_in_transaction

SMALL = 1000
ORGS = tuple(f"org:P{k}" for k in range(7))
CLIENTS = tuple(f"client:K{k:02d}" for k in range(40))
CODES = ("bank", "gst_receivable", "pool", *ORGS, *CLIENTS)
FIRST_YEAR = date(2023, 7, 1)
SECOND_YEAR = date(2024, 7, 1)
KINDS = (TransferKind.ALLOCATION, TransferKind.ALLOCATION, TransferKind.PAYMENT)


@dataclass(frozen=True)
class Latency:
    median_ms: float
    p95_ms: float


def latency(read: Callable[[int], object], count: int, warm_up: int = 20) -> Latency:
    for i in range(warm_up):
        read(i)
    samples = []
    for i in range(count):
        began = time.perf_counter()
        read(i)
        samples.append((time.perf_counter() - began) * 1000)
    return Latency(statistics.median(samples), statistics.quantiles(samples, n=20)[18])


def open_history_book(factory: sessionmaker[Session], code: str) -> None:
    now = datetime.now(UTC)

    def setup(session: Session) -> None:
        open_book(session, code=code, name=f"History {code}", now=now)
        for account in ORGS + CLIENTS:
            open_account(session, book=code, spec=fund(account, account), now=now)

    run_in_transaction(factory, setup)


def entry_date(i: int, total: int) -> date:
    """Non-decreasing in ``i``: the small part over one year, the rest over the next."""
    if i < SMALL:
        return FIRST_YEAR + timedelta(days=i * 366 // SMALL)
    return SECOND_YEAR + timedelta(days=(i - SMALL) * 365 // max(1, total - SMALL))


def entries(book: str, start: int, stop: int, total: int) -> Iterator[JournalEntry]:
    for i in range(start, stop):
        on = entry_date(i, total)
        if i == 0:
            leg = Transfer("bank", "pool", 10**11, TransferKind.GRANT_RECEIPT)
        else:
            group, step = divmod(i - 1, 3)
            org, client = ORGS[group % len(ORGS)], CLIENTS[group % len(CLIENTS)]
            debit, credit = (("pool", org), (org, client), (client, "bank"))[step]
            leg = Transfer(debit, credit, 100 + group * 7919 % 9900, KINDS[step])
        yield JournalEntry(book, on, f"history {i}", "bench", (leg,))


def post_small(factory: sessionmaker[Session], book: str, total: int) -> None:
    for entry in entries(book, 0, SMALL, total):
        with factory() as session, session.begin():
            post_entry(session, entry, now=datetime.now(UTC))


def bulk_load(factory: sessionmaker[Session], book: str, total: int) -> float:
    """Transfers per second for loading entries SMALL..total, commit included."""
    now = datetime.now(UTC)
    began = time.perf_counter()
    rest = entries(book, SMALL, total, total)
    loaded = run_in_transaction(factory, lambda session: load_history(session, book, rest, now=now))
    return loaded.transfers / (time.perf_counter() - began)


def analyze(factory: sessionmaker[Session]) -> None:
    """On PostgreSQL, what autovacuum does within a minute of a big load: fresh statistics.

    Done explicitly so the big reads do not depend on whether autovacuum got there first.
    """
    with factory() as session, session.begin():
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE")


@dataclass(frozen=True)
class Reads:
    history: int
    balance: Latency
    as_of: Latency
    statement: Latency


def month_ends(last: date) -> list[date]:
    ends, year, month = [], FIRST_YEAR.year, FIRST_YEAR.month
    while (end := month_end(year, month)) <= last:
        ends.append(end)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ends


def reads(factory: sessionmaker[Session], book: str, history: int, count: int) -> Reads:
    """Balances and mid-history as-of balances of every account, each read in its own session;
    then one envelope's month-end balances read over and over in one session, as a statement
    or report does (a session that lives on lets the driver prepare the statements)."""
    middle = entry_date(history // 2, history)
    ends = month_ends(entry_date(history - 1, history))

    def balance(i: int) -> object:
        with factory() as session:
            return get_balance(session, book, CODES[i % len(CODES)])

    def as_of(i: int) -> object:
        with factory() as session:
            return balance_as_of(session, book, CODES[i % len(CODES)], middle)

    with factory() as session:
        statement = latency(
            lambda i: balance_as_of(session, book, ORGS[3], ends[i % len(ends)]), count
        )
    return Reads(history, latency(balance, count), latency(as_of, count), statement)


def trial_latency(factory: sessionmaker[Session], book: str, count: int) -> Latency:
    def read(_: int) -> object:
        with factory() as session:
            return trial_balance(session, book)

    return latency(read, count, warm_up=2)
