"""Posting throughput: the ledger service against the same workload in raw SQL.

Both sides run in one process against one database, on twin books with the same chart and funding,
in alternating blocks (and alternating which side goes first). On a shared two-core machine the load
from other processes comes and goes; interleaving makes it fall on both sides alike, so their ratio
means something even when the absolute rates wobble. Each side's time is summed over its own blocks,
so first-half and second-half rates show whether it degrades as the tables grow
(docs/ledger.md#speed-targets: PostgreSQL saw a foreign-key layout fall from ~1,340 to ~520
transfers/s).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from bench.raw_sql import RawLedger
from ledger import (
    JournalEntry,
    PostPending,
    Reserve,
    Transfer,
    TransferKind,
    fund,
    open_account,
    open_book,
    post_entry,
    trial_balance,
)
from ledger.db import run_in_transaction

ORGS = tuple(f"org:N{k}" for k in range(10))
CLIENTS = tuple(f"client:C{k}" for k in range(10))
ON = date(2025, 7, 1)
GRANT = 10**11
ENVELOPE = 10**9
AMOUNT = 100


@dataclass
class Throughput:
    """Seconds per block, in order; rates for the whole run and for each half."""

    per_block: int
    blocks: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.per_block * len(self.blocks)

    def rate(self, part: slice = slice(None)) -> float:
        chosen = self.blocks[part]
        return self.per_block * len(chosen) / sum(chosen)

    @property
    def first_half(self) -> float:
        return self.rate(slice(None, len(self.blocks) // 2))

    @property
    def second_half(self) -> float:
        return self.rate(slice(len(self.blocks) // 2, None))


def open_twin_book(factory: sessionmaker[Session], code: str) -> None:
    """Bank, pool, ten envelopes and ten clients; the pool and every envelope well funded."""
    now = datetime.now(UTC)

    def setup(session: Session) -> None:
        open_book(session, code=code, name=f"Benchmark {code}", now=now)
        for account in ORGS + CLIENTS:
            open_account(session, book=code, spec=fund(account, account), now=now)

    run_in_transaction(factory, setup)
    legs = (Transfer("bank", "pool", GRANT, TransferKind.GRANT_RECEIPT),) + tuple(
        Transfer("pool", org, ENVELOPE, TransferKind.ALLOCATION) for org in ORGS
    )
    entry = JournalEntry(code, ON, "funding", "bench", legs)
    run_in_transaction(factory, lambda session: post_entry(session, entry, now=now))


def service_transfer(factory: sessionmaker[Session], book: str, i: int) -> None:
    leg = Transfer("pool", ORGS[i % len(ORGS)], AMOUNT, TransferKind.ALLOCATION)
    entry = JournalEntry(book, ON, "allocation", "bench", (leg,))
    with factory() as session, session.begin():
        post_entry(session, entry, now=datetime.now(UTC))


def raw_transfer(raw: RawLedger, i: int) -> None:
    raw.transfer("pool", ORGS[i % len(ORGS)], AMOUNT, ON, TransferKind.ALLOCATION.value)


def interleaved(
    service: Callable[[int], None], raw: Callable[[int], None], count: int, block: int
) -> tuple[Throughput, Throughput]:
    timed = {"service": Throughput(block), "raw": Throughput(block)}
    sides = {"service": service, "raw": raw}
    for number, start in enumerate(range(0, count - count % block, block)):
        order = ("service", "raw") if number % 2 == 0 else ("raw", "service")
        for name in order:
            began = time.perf_counter()
            for i in range(start, start + block):
                sides[name](i)
            timed[name].blocks.append(time.perf_counter() - began)
    return timed["service"], timed["raw"]


def check_twins(factory: sessionmaker[Session]) -> None:
    """Both sides must have done the same work: the two books' trial balances agree."""
    with factory() as session:
        service, raw = (
            [(line.account, line.debits, line.credits) for line in trial_balance(session, book)]
            for book in ("svc", "raw")
        )
    if service != raw:
        raise RuntimeError(f"the raw-SQL book differs from the service book: {service} != {raw}")


def reserve_and_post(factory: sessionmaker[Session], book: str, pairs: int) -> float:
    """Pairs per second: a hold on an envelope for a client, then posting it in full."""
    began = time.perf_counter()
    for i in range(pairs):
        hold = Reserve(ORGS[i % len(ORGS)], CLIENTS[i % len(CLIENTS)], AMOUNT)
        entry = JournalEntry(book, ON, "reservation", "bench", (hold,))
        with factory() as session, session.begin():
            held = post_entry(session, entry, now=datetime.now(UTC))
        post = JournalEntry(book, ON, "payment", "bench", (PostPending(held.transfer_ids[0]),))
        with factory() as session, session.begin():
            post_entry(session, post, now=datetime.now(UTC))
    return pairs / (time.perf_counter() - began)
