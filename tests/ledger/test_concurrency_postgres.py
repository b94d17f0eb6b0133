"""Races on PostgreSQL: many connections at once against the ledger's locks
(docs/ledger.md#invariants).

Every worker owns an Engine holding exactly one connection, so each race is between real
PostgreSQL backends; threads suffice because psycopg releases the GIL while it waits on the server.
A Barrier lines the workers up. In a *gated* round another connection first holds the book row
(the first lock every posting takes) until every worker is seen waiting on a lock, so all the
transactions are provably in flight at once; ungated rounds leave the timing to the scheduler.

What is raced: the last dollars of an envelope, tangled multi-account entries, the resolution of
one hold, and idempotency keys. The book row lock serialises every posting in a book, so the
account locks' id order is a second line of defence here: these tests would see a deadlock or an
overdraft that escaped either, not which of the two stopped it.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from ledger import (
    JournalEntry,
    Posted,
    PostPending,
    Reserve,
    Transfer,
    TransferKind,
    VoidPending,
    expire_due,
    post_entry,
)
from ledger.db import make_engine, make_session_factory, run_in_transaction
from ledger.errors import (
    IdempotencyConflictError,
    InsufficientFundsError,
    PendingAlreadyResolvedError,
    PendingExpiredError,
)
from ledger.models import books, transactions, transfers
from ledger.values import Leg
from tests.support.ledger import LedgerKit, open_kit

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

T = TypeVar("T")
Job = Callable[[Session], T]
CROWD = 32  # the most workers any race below uses (PostgreSQL allows 100 connections)
WAIT = 20.0  # seconds; a barrier, gate or worker that takes longer than this has hung
WAITING_ON_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE application_name LIKE :tag AND wait_event_type = 'Lock'"
)
COUNTERS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


@dataclass
class Crowd:
    """``CROWD`` single-connection session factories, and a spare engine to gate and inspect."""

    admin: Engine
    workers: list[sessionmaker[Session]]
    tag: str

    def race(self, jobs: Sequence[Job[T]], *, gate: str | None = None) -> list[T | Exception]:
        """Run job i in its own transaction on worker i's connection, all at once."""
        barrier = threading.Barrier(len(jobs), timeout=WAIT)
        outcomes: list[T | Exception] = [TimeoutError("worker never finished")] * len(jobs)
        finished: list[int] = []

        def run(i: int) -> None:
            try:
                barrier.wait()
                outcomes[i] = run_in_transaction(self.workers[i], jobs[i])
            except Exception as error:  # the outcome under test, asserted by the caller
                outcomes[i] = error
            finished.append(i)

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(jobs))]
        with self.holding(gate):
            for thread in threads:
                thread.start()
            gated = gate is None or self.all_stuck(len(jobs), finished)
        for thread in threads:
            thread.join(WAIT)
        assert gated, "the gate timed out before every worker was waiting on a lock"
        return outcomes

    @contextmanager
    def holding(self, book: str | None) -> Iterator[None]:
        """Hold ``book``'s row lock until the block ends (nothing is held for ``None``)."""
        if book is None:
            yield
            return
        with self.admin.connect() as conn:
            conn.execute(select(books.c.id).where(books.c.code == book).with_for_update())
            try:
                yield
            finally:
                conn.rollback()

    def all_stuck(self, count: int, finished: list[int]) -> bool:
        """Wait until every worker waits on a lock (or, refused early, has already finished)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            # a new transaction each time, or pg_stat_activity would be a stale snapshot
            with self.admin.connect() as conn:
                waiting = conn.execute(WAITING_ON_A_LOCK, {"tag": f"{self.tag}%"}).scalar_one()
            if waiting + len(finished) >= count:
                return True
            time.sleep(0.002)
        return False


def backend_pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.fixture(scope="module")
def crowd(postgres_migrated: str) -> Iterator[Crowd]:
    tag = f"flexpool-race-{uuid.uuid4().hex[:8]}-"
    engines = [
        make_engine(
            postgres_migrated,
            pool_size=1,
            max_overflow=0,
            pool_timeout=WAIT,
            connect_args={"application_name": f"{tag}{i}"},
        )
        for i in range(CROWD)
    ]
    admin = make_engine(postgres_migrated)
    try:
        crowd = Crowd(admin, [make_session_factory(engine) for engine in engines], tag)
        pids = crowd.race([backend_pid] * CROWD)
        assert len(set(pids)) == CROWD, f"workers share connections: {pids}"
        yield crowd
    finally:
        for engine in (*engines, admin):
            engine.dispose()


@pytest.fixture
def kit(crowd: Crowd, now: datetime) -> LedgerKit:
    """A fresh book on PostgreSQL, written and read through the spare (non-worker) engine."""
    return open_kit(make_session_factory(crowd.admin), now)


def posting(entry: JournalEntry, now: datetime) -> Job[Posted]:
    def work(session: Session) -> Posted:
        return post_entry(session, entry, now=now)

    return work


def counters(kit: LedgerKit, *codes: str) -> dict[str, dict[str, int]]:
    return {code: {name: getattr(kit.balance(code), name) for name in COUNTERS} for code in codes}


def apply_legs(state: dict[str, dict[str, int]], entries: Sequence[JournalEntry]) -> None:
    """What the counters should become when exactly ``entries`` are posted (plain legs only)."""
    for entry in entries:
        for leg in entry.legs:
            assert isinstance(leg, Transfer | Reserve)
            phase = "posted" if isinstance(leg, Transfer) else "pending"
            state[leg.debit][f"debits_{phase}"] += leg.amount
            state[leg.credit][f"credits_{phase}"] += leg.amount


def last_sequence(kit: LedgerKit) -> int:
    with kit.factory() as session:
        return int(
            session.execute(
                select(books.c.last_sequence).where(books.c.code == kit.book)
            ).scalar_one()
        )


def wins(outcomes: Sequence[object]) -> list[Posted]:
    return [o for o in outcomes if isinstance(o, Posted)]


def assert_gapless(kit: LedgerKit, posted: Sequence[Posted], after: int) -> None:
    assert sorted(p.sequence for p in posted) == list(range(after + 1, after + 1 + len(posted)))
    assert last_sequence(kit) == after + len(posted)
    assert kit.verify() == []


UNIT = 1234  # cents: one approved request


@pytest.mark.parametrize(("affordable", "gated"), [(7, True), (7, False), (1, True), (19, False)])
def test_exactly_the_affordable_reservations_win(
    crowd: Crowd, kit: LedgerKit, affordable: int, gated: bool
) -> None:
    """20 approvals race for an envelope that affords ``affordable``: exactly that many hold."""
    kit.fund_pool()
    kit.post(Transfer("pool", "org:NGO1", UNIT * affordable, TransferKind.ALLOCATION))
    holds = [
        kit.entry(
            Reserve("org:NGO1", "client:C-0001", UNIT, request_id=i + 1), memo=f"approve #{i + 1}"
        )
        for i in range(20)
    ]
    outcomes = crowd.race(
        [posting(entry, kit.now) for entry in holds], gate=kit.book if gated else None
    )

    refused = [o for o in outcomes if not isinstance(o, Posted)]
    assert len(wins(outcomes)) == affordable, refused
    assert all(
        isinstance(e, InsufficientFundsError)
        and (e.account, e.available, e.needed) == ("org:NGO1", 0, UNIT)
        for e in refused
    ), refused
    envelope, client = kit.balance("org:NGO1"), kit.balance("client:C-0001")
    assert envelope.available == 0
    assert envelope.debits_pending == client.credits_pending == UNIT * affordable
    assert_gapless(kit, wins(outcomes), after=2)


ENVELOPES = {"org:NGO1": 5, "org:NGO2": 7}  # how many spends of UNIT each one affords
CLIENTS = ("client:C-0001", "client:C-0002")


def tangled_entry(kit: LedgerKit, rng: random.Random, envelope: str, n: int) -> JournalEntry:
    """One UNIT spent (or held) from ``envelope``, tangled with legs on both clients and the other
    envelope, in random order. Only the spend can fail: clients are flush, and an incoming hold
    does not change the other envelope's available."""
    other = next(code for code in ENVELOPES if code != envelope)
    a, b = rng.sample(CLIENTS, 2)
    client = rng.choice(CLIENTS)
    spend: Leg = (
        Transfer(envelope, client, UNIT, TransferKind.PAYMENT)
        if rng.random() < 0.5
        else Reserve(envelope, client, UNIT)
    )
    legs: list[Leg] = [
        spend,
        Reserve(a, other, rng.randint(1, 99)),
        Transfer(b, a, rng.randint(1, 99), TransferKind.ADJUSTMENT),
    ]
    rng.shuffle(legs)
    return kit.entry(*legs, memo=f"tangled #{n}")


@pytest.mark.parametrize(("seed", "gated"), [(11, True), (12, False), (13, True)])
def test_tangled_transfers_across_envelopes_neither_deadlock_nor_overdraw(
    crowd: Crowd, kit: LedgerKit, seed: int, gated: bool
) -> None:
    """Entries locking both envelopes and both clients in random leg order: no deadlock or busy
    error escapes, each envelope is spent exactly to zero, and only the winners moved counters."""
    rng = random.Random(seed)
    kit.fund_pool()
    for envelope, affordable in ENVELOPES.items():
        kit.post(Transfer("pool", envelope, UNIT * affordable + 200_00, TransferKind.ALLOCATION))
        kit.post(kit.move(envelope, CLIENTS[0], "100.00"), kit.move(envelope, CLIENTS[1], "100.00"))
    before = counters(kit, "pool", *ENVELOPES, *CLIENTS)
    spenders = [list(ENVELOPES)[n % 2] for n in range(24)]
    entries = [tangled_entry(kit, rng, envelope, n) for n, envelope in enumerate(spenders)]
    outcomes = crowd.race([posting(e, kit.now) for e in entries], gate=kit.book if gated else None)

    won = [n for n, outcome in enumerate(outcomes) if isinstance(outcome, Posted)]
    for n, outcome in enumerate(outcomes):  # no deadlock, busy or database error gets out
        assert isinstance(outcome, Posted | InsufficientFundsError), (seed, n, repr(outcome))
        if isinstance(outcome, InsufficientFundsError):
            assert (outcome.account, outcome.available) == (spenders[n], 0), (seed, n, outcome)
    for envelope, affordable in ENVELOPES.items():
        assert sum(spenders[n] == envelope for n in won) == affordable, (seed, envelope)
        assert kit.balance(envelope).available == 0
    apply_legs(before, [entries[n] for n in won])
    assert counters(kit, "pool", *ENVELOPES, *CLIENTS) == before, seed
    assert_gapless(kit, wins(outcomes), after=5)


def resolvers(
    kit: LedgerKit, pending_id: int, held: int
) -> list[tuple[str, JournalEntry, datetime]]:
    """Everyone who might resolve one hold (expiring at now + 1h), each legal on its own."""
    late = kit.now + timedelta(hours=2)
    return [
        ("post", kit.entry(PostPending(pending_id)), kit.now),
        ("post", kit.entry(PostPending(pending_id, held // 2)), kit.now),
        ("void", kit.entry(VoidPending(pending_id)), kit.now),
        ("void", kit.entry(VoidPending(pending_id)), kit.now),
        ("expire", kit.entry(VoidPending(pending_id, expiry=True)), late),
        ("expire", kit.entry(VoidPending(pending_id, expiry=True)), late),
        ("late post", kit.entry(PostPending(pending_id)), late),  # never legal: it has expired
    ]


def resolutions(kit: LedgerKit, pending_id: int) -> list[Any]:
    with kit.factory() as session:
        query = select(transfers.c.id, transfers.c.phase, transfers.c.amount).where(
            transfers.c.pending_id == pending_id
        )
        return list(session.execute(query).all())


@pytest.mark.parametrize(("seed", "gated"), [(21, True), (22, False), (23, True)])
def test_post_void_and_expiry_of_one_hold_resolve_it_once(
    crowd: Crowd, kit: LedgerKit, seed: int, gated: bool
) -> None:
    """7 racers per hold (post, part-post, void, expire, and a post after expiry), 4 holds."""
    kit.fund_pool()
    kit.allocate("org:NGO1", "1,000.00")
    amounts = [101_00, 202_02, 303_03, 44_45]
    expiry = kit.now + timedelta(hours=1)
    held = kit.post(*(Reserve("org:NGO1", "client:C-0001", a, expires_at=expiry) for a in amounts))
    racers = [
        (p, *r)
        for p, a in zip(held.transfer_ids, amounts, strict=True)
        for r in resolvers(kit, p, a)
    ]
    random.Random(seed).shuffle(racers)
    outcomes = crowd.race(
        [posting(e, now) for _, _, e, now in racers], gate=kit.book if gated else None
    )

    paid = 0
    for pending_id in held.transfer_ids:
        mine = [
            (act, e, o)
            for (p, act, e, _), o in zip(racers, outcomes, strict=True)
            if p == pending_id
        ]
        winners = [(act, e, o) for act, e, o in mine if isinstance(o, Posted)]
        assert len(winners) == 1, (seed, mine)
        act, entry, won = winners[0]
        assert act in ("post", "void", "expire")
        for other_act, _, o in mine:
            refusals = (PendingAlreadyResolvedError, PendingExpiredError)
            assert o is won or isinstance(
                o, refusals if other_act == "late post" else refusals[0]
            ), o
        [resolution] = resolutions(kit, pending_id)
        assert resolution.id == won.transfer_ids[0]
        assert resolution.phase == ("post_pending" if act == "post" else "void_pending")
        if act == "post":
            leg = entry.legs[0]
            assert isinstance(leg, PostPending)
            assert resolution.amount == (leg.amount or amounts[held.transfer_ids.index(pending_id)])
            paid += resolution.amount
    envelope, client = kit.balance("org:NGO1"), kit.balance("client:C-0001")
    assert envelope.debits_pending == client.credits_pending == 0
    assert envelope.debits_posted == client.credits_posted == paid
    assert envelope.available == 1000_00 - paid
    assert_gapless(kit, wins(outcomes), after=3)


@pytest.mark.parametrize("gated", [True, False])
def test_one_idempotency_key_posts_once_however_many_ask(
    crowd: Crowd, kit: LedgerKit, gated: bool
) -> None:
    """16 retries of one keyed payment: one posting, 15 replays of it, counters moved once."""
    kit.fund_pool()
    kit.allocate("org:NGO1", "1,000.00")
    posted: list[tuple[int, str, str]] = []
    for round_ in range(3):
        entry = kit.entry(
            kit.move("org:NGO1", "client:C-0001", "25.00", TransferKind.PAYMENT),
            kit.hold("org:NGO1", "client:C-0002", "10.00"),
            key=f"payment-{round_}",
        )
        expected = counters(kit, "org:NGO1", *CLIENTS)
        apply_legs(expected, [entry])
        sequence = last_sequence(kit)
        outcomes = crowd.race([posting(entry, kit.now)] * 16, gate=kit.book if gated else None)

        assert len(wins(outcomes)) == len(outcomes), outcomes
        [original] = [o for o in wins(outcomes) if not o.replayed]
        assert {replace(o, replayed=False) for o in wins(outcomes)} == {original}
        assert counters(kit, "org:NGO1", *CLIENTS) == expected
        assert_gapless(kit, [original], after=sequence)
        posted.append((original.transaction_id, f"payment-{round_}", entry.payload_hash()))
        assert sorted(keyed_transactions(kit)) == posted


def rival_of(entry: JournalEntry, change: str) -> JournalEntry:
    """The same key with another payload: amount, client, leg type, memo, or an overdraft."""
    leg = entry.legs[0]
    assert isinstance(leg, Transfer)
    if change == "memo":
        return replace(entry, memo=entry.memo + " (again)")
    legs: dict[str, Leg] = {
        "amount": replace(leg, amount=leg.amount + 1),
        "client": replace(leg, credit="client:C-0002"),
        "hold": Reserve(leg.debit, leg.credit, leg.amount),
        "overdraft": replace(leg, amount=10**9),  # refused for want of funds, if it goes first
    }
    return replace(entry, legs=(legs[change],))


@pytest.mark.parametrize(("seed", "gated"), [(31, True), (32, False)])
def test_conflicting_payloads_for_a_key_are_refused_and_never_double_post(
    crowd: Crowd, kit: LedgerKit, seed: int, gated: bool
) -> None:
    """16 keys, each raced by its payload and a rival payload: one posting per key, whichever came
    first, the other refused (a rival overdraft may instead fail for funds and not burn the key)."""
    rng = random.Random(seed)
    kit.fund_pool()
    kit.allocate("org:NGO1", "5,000.00")
    honest = [
        kit.entry(
            Transfer("org:NGO1", "client:C-0001", 10_00 + n, TransferKind.PAYMENT), key=f"req-{n}"
        )
        for n in range(16)
    ]
    changes = [rng.choice(["amount", "client", "hold", "overdraft", "memo"]) for _ in honest]
    rivals = [rival_of(entry, change) for entry, change in zip(honest, changes, strict=True)]
    expected = counters(kit, "org:NGO1", *CLIENTS)
    outcomes = crowd.race(
        [posting(e, kit.now) for e in honest + rivals], gate=kit.book if gated else None
    )

    winners: list[tuple[JournalEntry, Posted, JournalEntry]] = []
    for n, change in enumerate(changes):
        (first, first_outcome), (second, second_outcome) = pair = [
            (honest[n], outcomes[n]),
            (rivals[n], outcomes[n + 16]),
        ]
        lost = second_outcome if isinstance(first_outcome, Posted) else first_outcome
        refusals = (IdempotencyConflictError, InsufficientFundsError)
        assert isinstance(lost, refusals if change == "overdraft" else refusals[0]), (seed, pair)
        won = first_outcome if isinstance(first_outcome, Posted) else second_outcome
        assert isinstance(won, Posted) and not won.replayed, (seed, change, pair)
        winners.append((first, won, second) if won is first_outcome else (second, won, first))
    apply_legs(expected, [entry for entry, _, _ in winners])
    assert counters(kit, "org:NGO1", *CLIENTS) == expected
    assert sorted(keyed_transactions(kit)) == sorted(
        (posted.transaction_id, entry.idempotency_key, entry.payload_hash())
        for entry, posted, _ in winners
    )
    assert_gapless(kit, [posted for _, posted, _ in winners], after=2)
    for entry, posted, loser in winners:  # and afterwards, one at a time, the key still holds
        assert kit.run(posting(entry, kit.now)) == replace(posted, replayed=True)
        with pytest.raises(IdempotencyConflictError):
            kit.run(posting(loser, kit.now))


def keyed_transactions(kit: LedgerKit) -> list[tuple[int, str, str]]:
    with kit.factory() as session:
        rows = session.execute(
            select(transactions.c.id, transactions.c.idempotency_key, transactions.c.payload_hash)
            .join(books)
            .where(books.c.code == kit.book, transactions.c.idempotency_key.is_not(None))
        ).all()
    return [(row.id, row.idempotency_key, row.payload_hash) for row in rows]


def test_an_expiry_sweep_skips_a_hold_voided_while_it_waited(
    crowd: Crowd, kit: LedgerKit, now: datetime
) -> None:
    """Finance cancels one expired request while the sweep waits: the others still expire."""
    kit.fund_pool()
    kit.allocate("org:NGO1", "100.00")
    soon = now + timedelta(hours=1)
    held = kit.post(
        *(Reserve("org:NGO1", "client:C-0001", 1000, expires_at=soon) for _ in range(3))
    )
    late = now + timedelta(hours=2)
    outcome: list[object] = []

    def sweep() -> None:
        try:
            outcome.append(
                run_in_transaction(
                    crowd.workers[0],
                    lambda s: expire_due(s, book=kit.book, now=late, effective_date=kit.day),
                )
            )
        except Exception as error:  # the outcome under test
            outcome.append(error)

    sweeper = threading.Thread(target=sweep, daemon=True)
    with make_session_factory(crowd.admin)() as officer, officer.begin():
        officer.execute(select(books.c.id).where(books.c.code == kit.book).with_for_update())
        sweeper.start()
        assert crowd.all_stuck(1, [])  # the sweep has listed what is due and waits on the book
        post_entry(officer, kit.entry(VoidPending(held.transfer_ids[1])), now=late)
    sweeper.join(WAIT)
    (released,) = outcome
    assert isinstance(released, list) and len(released) == 2
    assert kit.balance("org:NGO1").held_out == 0
    assert kit.verify() == []
