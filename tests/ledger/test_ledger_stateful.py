"""Random sequences of ledger operations agree with a small in-memory reference model.

Hypothesis drives a real book through grants, allocations, envelope moves, reservations (some
expiring), full and partial posts, voids, expiries, reversals, payments and idempotent replays,
with dates scattered over one month so that many entries are backdated. The model predicts every
outcome, refusals included (overdrafts, a reservation resolved twice, an expired hold, a key
reused for another request); a refusal must leave the book exactly as it was. After every step
the book must agree with the model: counters, balances as of a random day, the trial balance,
one resolution per reservation, and an empty ``verify``.

Each example opens its own book, because PostgreSQL keeps its rows between examples.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from random import Random

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ledger import (
    JournalEntry,
    Posted,
    PostPending,
    Reserve,
    Transfer,
    TransferKind,
    VoidPending,
    balance_as_of,
    expire_due,
    get_balance,
    post_entry,
    reverse_transaction,
    trial_balance,
    verify,
)
from ledger.errors import (
    AlreadyReversedError,
    IdempotencyConflictError,
    InsufficientFundsError,
    InvalidEntryError,
    LedgerError,
    NotReversibleError,
    PendingAlreadyResolvedError,
    PendingExpiredError,
    PendingNotExpiredError,
)
from ledger.models import accounts, books, transactions, transfers
from ledger.values import Leg
from tests.support.hypothesis_profiles import machine_settings
from tests.support.ledger import LedgerKit, open_kit

ORGS = ("org:NGO1", "org:NGO2")
CLIENTS = ("client:C-0001", "client:C-0002")
FUNDS = ("pool", *ORGS, *CLIENTS)
ACCOUNTS = ("bank", "gst_receivable", *FUNDS)
FIRST_DAY, LAST_DAY = date(2026, 11, 1), date(2026, 11, 30)
ACTOR = "user:stateful"
# Small amounts against small grants, so that overdrafts are common rather than exotic.
GRANTS = st.integers(1, 3_000)
AMOUNTS = st.integers(1, 1_000)
HOLDS = st.integers(1, 600)
SHARES = st.integers(500, 2_000)

# In the ``ci`` profile, 12 books of up to 30 operations each per database: enough for
# overdrafts, backdated entries, expiries, reversals and replays to meet in one sequence on
# every run; HYPOTHESIS_PROFILE=deep (tests/conftest.py) runs far more and longer ones.
SETTINGS = machine_settings(12, 30)


# ---------------------------------------------------------------------------------------------
# The reference model: plain dicts and sums, no database.
# ---------------------------------------------------------------------------------------------


@dataclass
class Counters:
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def overdrawn(self, code: str) -> bool:
        if code == "bank":  # credits must not exceed debits
            return self.credits_posted + self.credits_pending > self.debits_posted
        if code in FUNDS:  # debits must not exceed credits
            return self.debits_posted + self.debits_pending > self.credits_posted
        return False

    def available(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)


@dataclass
class Hold:
    debit: str
    credit: str
    amount: int
    expires_at: datetime | None
    resolved: bool = False

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


Movement = tuple[date, str, str, int]  # a posted (day, debit, credit, amount)


@dataclass
class Txn:
    moves: list[tuple[str, str, int]]  # its posted movements, in leg order
    holds_or_releases: bool  # a Reserve or VoidPending leg: never reversible
    reverses: int | None = None
    reversed: bool = False


@dataclass(frozen=True)
class Reversal:
    """A call of ``reverse_transaction``, kept so that its idempotency key can be replayed."""

    transaction_id: int
    effective_date: date
    memo: str
    idempotency_key: str | None


Request = JournalEntry | Reversal


@dataclass
class Outcome:
    """What a request would do if the ledger accepted it."""

    counters: dict[str, Counters]
    moves: list[tuple[str, str, int]] = field(default_factory=list)
    new_holds: dict[int, Hold] = field(default_factory=dict)  # by leg index
    resolved: list[int] = field(default_factory=list)
    holds_or_releases: bool = False


class Refused(Exception):
    """The model's prediction that the ledger refuses a request, and with which error."""

    def __init__(self, error: type[LedgerError], account: str | None = None) -> None:
        super().__init__(error.__name__)
        self.error = error
        self.account = account


def payload(request: Request) -> Request:
    """What an idempotency key is bound to: the whole request but the key."""
    return replace(request, idempotency_key=None)


@dataclass
class Model:
    counters: dict[str, Counters] = field(default_factory=lambda: {c: Counters() for c in ACCOUNTS})
    holds: dict[int, Hold] = field(default_factory=dict)
    txns: dict[int, Txn] = field(default_factory=dict)
    movements: list[Movement] = field(default_factory=list)
    keys: dict[str, tuple[Request, Posted]] = field(default_factory=dict)
    sequence: int = 0
    high_water: date = FIRST_DAY

    def predict(self, request: Request, now: datetime) -> Outcome | Posted:
        """The outcome, or the original ``Posted`` for a replay; raises ``Refused``."""
        if isinstance(request, Reversal) and self.txns[request.transaction_id].holds_or_releases:
            raise Refused(NotReversibleError)  # checked before the key, as the ledger does
        key = request.idempotency_key
        if key is not None and key in self.keys:
            earlier, posted = self.keys[key]
            if payload(earlier) != payload(request):
                raise Refused(IdempotencyConflictError)
            return replace(posted, replayed=True)
        if isinstance(request, Reversal):
            return self._reversal(request.transaction_id, now)
        return self.simulate(request.legs, now)

    def _reversal(self, transaction_id: int, now: datetime) -> Outcome:
        txn = self.txns[transaction_id]
        if txn.reverses is not None:
            raise Refused(NotReversibleError)
        if txn.reversed:
            raise Refused(AlreadyReversedError)
        mirror = [Transfer(c, d, a, TransferKind.REVERSAL) for d, c, a in reversed(txn.moves)]
        return self.simulate(tuple(mirror), now)

    def simulate(self, legs: tuple[Leg, ...], now: datetime) -> Outcome:
        for leg in legs:  # every reservation is checked before any counter moves
            if isinstance(leg, PostPending | VoidPending):
                self._check_resolvable(leg, now)
        outcome = Outcome(copy.deepcopy(self.counters))
        for index, leg in enumerate(legs):
            self._apply(index, leg, outcome)
        return outcome

    def _check_resolvable(self, leg: PostPending | VoidPending, now: datetime) -> None:
        hold = self.holds[leg.pending_id]
        if hold.resolved:
            raise Refused(PendingAlreadyResolvedError)
        if isinstance(leg, PostPending) and hold.expired(now):
            raise Refused(PendingExpiredError)
        if isinstance(leg, VoidPending) and leg.expiry and not hold.expired(now):
            raise Refused(PendingNotExpiredError)
        if isinstance(leg, PostPending) and leg.amount is not None and leg.amount > hold.amount:
            raise Refused(InvalidEntryError)

    def _apply(self, index: int, leg: Leg, outcome: Outcome) -> None:
        counters = outcome.counters
        if isinstance(leg, PostPending | VoidPending):
            self._resolve(leg, outcome)
            return
        if isinstance(leg, Transfer):
            counters[leg.debit].debits_posted += leg.amount
            counters[leg.credit].credits_posted += leg.amount
            outcome.moves.append((leg.debit, leg.credit, leg.amount))
        else:
            counters[leg.debit].debits_pending += leg.amount
            counters[leg.credit].credits_pending += leg.amount
            outcome.new_holds[index] = Hold(leg.debit, leg.credit, leg.amount, leg.expires_at)
            outcome.holds_or_releases = True
        for code in (leg.debit, leg.credit):  # INVARIANT: pessimistic, pending debits count
            if counters[code].overdrawn(code):
                raise Refused(InsufficientFundsError, code)

    def _resolve(self, leg: PostPending | VoidPending, outcome: Outcome) -> None:
        counters, hold = outcome.counters, self.holds[leg.pending_id]
        counters[hold.debit].debits_pending -= hold.amount
        counters[hold.credit].credits_pending -= hold.amount
        outcome.resolved.append(leg.pending_id)
        if isinstance(leg, VoidPending):
            outcome.holds_or_releases = True
            return
        amount = hold.amount if leg.amount is None else leg.amount
        counters[hold.debit].debits_posted += amount
        counters[hold.credit].credits_posted += amount
        outcome.moves.append((hold.debit, hold.credit, amount))

    def commit(self, request: Request, outcome: Outcome, posted: Posted) -> None:
        self.counters = outcome.counters
        self.movements += [(request.effective_date, *move) for move in outcome.moves]
        for index, hold in outcome.new_holds.items():
            self.holds[posted.transfer_ids[index]] = hold
        for pending_id in outcome.resolved:
            self.holds[pending_id].resolved = True
        reverses = request.transaction_id if isinstance(request, Reversal) else None
        if reverses is not None:
            self.txns[reverses].reversed = True
        self.txns[posted.transaction_id] = Txn(outcome.moves, outcome.holds_or_releases, reverses)
        if request.idempotency_key is not None:
            self.keys[request.idempotency_key] = (request, posted)
        self.sequence += 1
        self.high_water = max(self.high_water, request.effective_date)

    def open_holds(self) -> list[int]:
        return sorted(i for i, hold in self.holds.items() if not hold.resolved)

    def open_expiring_holds(self) -> list[int]:
        return [i for i in self.open_holds() if self.holds[i].expires_at is not None]

    def due(self, now: datetime) -> list[int]:
        return [i for i in self.open_holds() if self.holds[i].expired(now)]

    def as_of(self, code: str, day: date) -> tuple[int, int]:
        """Posted (debits, credits) of an account from movements dated on or before ``day``."""
        dated = [move for move in self.movements if move[0] <= day]
        debits = sum(amount for _, debit, _, amount in dated if debit == code)
        return debits, sum(amount for _, _, credit, amount in dated if credit == code)

    def balance_as_of(self, code: str, day: date) -> int:
        """In the account's normal direction: assets debit-normal, funds credit-normal."""
        debits, credits = self.as_of(code, day)
        return credits - debits if code in FUNDS else debits - credits


# ---------------------------------------------------------------------------------------------
# The machine: each rule is one thing a finance officer (or the expiry job) does to the book.
# ---------------------------------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    factory: sessionmaker[Session]
    start: datetime

    def __init__(self) -> None:
        super().__init__()
        self.kit: LedgerKit = open_kit(self.factory, self.start)
        self.model = Model()
        self.clock = self.start
        self.rng = Random(0)
        self.keys_issued = 0

    @initialize(
        data=st.data(),
        rng=st.randoms(use_true_random=False),
        grant=st.integers(4_000, 9_000),
        shares=st.tuples(SHARES, SHARES),
    )
    def open_with_a_grant_shared_between_envelopes(
        self, data: st.DataObject, rng: Random, grant: int, shares: tuple[int, int]
    ) -> None:
        self.rng = rng  # picks the days whose balances the invariants audit
        self._post(data, Transfer("bank", "pool", grant, TransferKind.GRANT_RECEIPT))
        for org, share in zip(ORGS, shares, strict=True):
            self._post(data, Transfer("pool", org, share, TransferKind.ALLOCATION))

    # -- helpers ------------------------------------------------------------------------------

    def _day(self, data: st.DataObject) -> date:
        step = data.draw(st.integers(-6, 2), label="days after the latest date")
        day = self.model.high_water + timedelta(days=step)
        return min(max(day, FIRST_DAY), LAST_DAY)

    def _key(self, data: st.DataObject) -> str | None:
        if not data.draw(st.booleans(), label="with an idempotency key"):
            return None
        self.keys_issued += 1
        return f"step-{self.keys_issued}"

    def _call(self, request: Request, now: datetime) -> Callable[[Session], Posted]:
        if isinstance(request, Reversal):
            return lambda session: reverse_transaction(
                session,
                book=self.kit.book,
                transaction_id=request.transaction_id,
                effective_date=request.effective_date,
                memo=request.memo,
                actor=ACTOR,
                now=now,
                idempotency_key=request.idempotency_key,
            )
        return lambda session: post_entry(session, request, now=now)

    def _post(
        self, data: st.DataObject, *legs: Leg, now: datetime | None = None, must_fail: bool = False
    ) -> None:
        entry = JournalEntry(
            self.kit.book, self._day(data), "stateful step", ACTOR, legs, self._key(data)
        )
        self._submit(entry, now or self.clock, must_fail=must_fail)

    def _submit(self, request: Request, now: datetime, *, must_fail: bool = False) -> None:
        try:
            expected = self.model.predict(request, now)
        except Refused as refused:
            self._expect_refusal(request, now, refused)
            return
        assert not must_fail, f"the model expected {request} to succeed"
        posted = self.kit.run(self._call(request, now))
        if isinstance(expected, Posted):
            assert posted == expected, "a replay must return the original result"
            return
        assert not posted.replayed
        assert posted.sequence == self.model.sequence + 1, "the sequence must have no gaps"
        self.model.commit(request, expected, posted)

    def _expect_refusal(self, request: Request, now: datetime, refused: Refused) -> None:
        before = self._snapshot()
        with pytest.raises(refused.error) as caught:
            self.kit.run(self._call(request, now))
        if refused.account is not None:
            assert isinstance(caught.value, InsufficientFundsError)
            assert caught.value.account == refused.account
        assert self._snapshot() == before, "a refused request must change nothing"

    def _snapshot(self) -> tuple[object, ...]:
        """Everything a write would move. Only indexed lookups: PostgreSQL may hold many books."""
        with self.kit.factory() as session:
            conn = session.connection()
            book = conn.execute(
                select(
                    books.c.id, books.c.last_sequence, books.c.last_hash, books.c.date_high_water
                ).where(books.c.code == self.kit.book)
            ).one()
            counters = conn.execute(
                select(
                    accounts.c.code,
                    accounts.c.debits_pending,
                    accounts.c.debits_posted,
                    accounts.c.credits_pending,
                    accounts.c.credits_posted,
                )
                .where(accounts.c.book_id == book.id)
                .order_by(accounts.c.code)
            ).all()
            written = conn.execute(
                select(func.count(), func.sum(transactions.c.transfer_count)).where(
                    transactions.c.book_id == book.id
                )
            ).one()
        return tuple(book), tuple(map(tuple, counters)), tuple(written)

    def _pick_hold(self, data: st.DataObject, holds: list[int] | None = None) -> int:
        """A reservation still open (perhaps expired), unless told which ones to choose from."""
        return data.draw(st.sampled_from(holds or self.model.open_holds()), label="reservation")

    # -- money in and between funds -----------------------------------------------------------

    @rule(data=st.data(), amount=GRANTS)
    def receive_grant(self, data: st.DataObject, amount: int) -> None:
        self._post(data, Transfer("bank", "pool", amount, TransferKind.GRANT_RECEIPT))

    @rule(data=st.data(), org=st.sampled_from(ORGS), amount=AMOUNTS)
    def allocate_to_envelope(self, data: st.DataObject, org: str, amount: int) -> None:
        self._post(data, Transfer("pool", org, amount, TransferKind.ALLOCATION))

    @rule(data=st.data(), route=st.permutations(ORGS), amount=AMOUNTS)
    def move_between_envelopes(self, data: st.DataObject, route: list[str], amount: int) -> None:
        self._post(data, Transfer(route[0], route[1], amount, TransferKind.ALLOCATION))

    @rule(data=st.data(), client=st.sampled_from(CLIENTS), amount=AMOUNTS)
    def spend(self, data: st.DataObject, client: str, amount: int) -> None:
        self._post(data, Transfer(client, "bank", amount, TransferKind.PAYMENT))

    # -- reservations ----------------------------------------------------------------------------

    @rule(
        data=st.data(),
        org=st.sampled_from(ORGS),
        client=st.sampled_from(CLIENTS),
        amount=HOLDS,
        expires_in=st.none() | st.integers(1, 24),
    )
    def reserve(
        self, data: st.DataObject, org: str, client: str, amount: int, expires_in: int | None
    ) -> None:
        expires_at = None if expires_in is None else self.clock + timedelta(hours=expires_in)
        self._post(data, Reserve(org, client, amount, expires_at=expires_at))

    @precondition(lambda self: self.model.open_holds())
    @rule(data=st.data())
    def post_in_full(self, data: st.DataObject) -> None:
        self._post(data, PostPending(self._pick_hold(data)))

    @precondition(lambda self: self.model.open_holds())
    @rule(data=st.data())
    def post_partially(self, data: st.DataObject) -> None:
        pending_id = self._pick_hold(data)
        # Now and then more than was held, which the ledger must refuse.
        amount = data.draw(st.integers(1, self.model.holds[pending_id].amount + 20), label="posted")
        self._post(data, PostPending(pending_id, amount))

    @precondition(lambda self: self.model.open_holds())
    @rule(data=st.data())
    def void(self, data: st.DataObject) -> None:
        self._post(data, VoidPending(self._pick_hold(data)))

    @precondition(lambda self: self.model.open_expiring_holds())
    @rule(data=st.data(), after_expiry=st.booleans())
    def expire_one(self, data: st.DataObject, after_expiry: bool) -> None:
        expiring = self.model.open_expiring_holds()
        pending_id = self._pick_hold(data, expiring)
        expires_at = self.model.holds[pending_id].expires_at
        assert expires_at is not None
        now = expires_at + timedelta(minutes=1) if after_expiry else self.clock
        self._post(data, VoidPending(pending_id, expiry=True), now=now)

    @rule(data=st.data())
    def expire_due_reservations(self, data: st.DataObject) -> None:
        day, now = self._day(data), self.clock
        due = [
            JournalEntry(
                self.kit.book,
                day,
                f"Reservation T{i} expired",
                "system:expiry",
                (VoidPending(i, expiry=True),),
                f"expire:T{i}",
            )
            for i in self.model.due(now)
        ]
        results = self.kit.run(
            lambda session: expire_due(session, book=self.kit.book, now=now, effective_date=day)
        )
        assert len(results) == len(due), "exactly the reservations past their expiry are released"
        for entry, posted in zip(due, results, strict=True):
            outcome = self.model.predict(entry, now)
            assert isinstance(outcome, Outcome) and not posted.replayed
            assert posted.sequence == self.model.sequence + 1
            self.model.commit(entry, outcome, posted)

    @precondition(lambda self: self.model.open_holds())
    @rule(data=st.data(), in_full=st.booleans())
    def pay_against_reservation(self, data: st.DataObject, in_full: bool) -> None:
        """Post the hold and pay the supplier in one transaction: both happen or neither."""
        pending_id = self._pick_hold(data)
        hold = self.model.holds[pending_id]
        posted = None if in_full else data.draw(st.integers(1, hold.amount), label="posted")
        spent = data.draw(st.integers(1, (posted or hold.amount) + 100), label="spent")
        payment = Transfer(hold.credit, "bank", spent, TransferKind.PAYMENT)
        self._post(data, PostPending(pending_id, posted), payment)

    @rule(
        data=st.data(),
        org=st.sampled_from(ORGS),
        client=st.sampled_from(CLIENTS),
        allocated=AMOUNTS,
        held=HOLDS,
    )
    def allocate_and_reserve_in_one_entry(
        self, data: st.DataObject, org: str, client: str, allocated: int, held: int
    ) -> None:
        """The hold may use money the same entry has just put in the envelope."""
        top_up = Transfer("pool", org, allocated, TransferKind.ALLOCATION)
        self._post(data, top_up, Reserve(org, client, held))

    @precondition(lambda self: len(self.model.open_holds()) >= 2)
    @rule(data=st.data())
    def post_one_reservation_and_void_another(self, data: st.DataObject) -> None:
        pair = st.lists(
            st.sampled_from(self.model.open_holds()), min_size=2, max_size=2, unique=True
        )
        posted, voided = data.draw(pair, label="reservations")
        self._post(data, PostPending(posted), VoidPending(voided))

    @rule(hours=st.integers(4, 48))
    def time_passes(self, hours: int) -> None:
        self.clock += timedelta(hours=hours)

    # -- reversals and replays -------------------------------------------------------------------

    @precondition(lambda self: self.model.txns)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        transaction_id = data.draw(st.sampled_from(sorted(self.model.txns)), label="transaction")
        request = Reversal(transaction_id, self._day(data), "reversal", self._key(data))
        self._submit(request, self.clock)

    @precondition(lambda self: self.model.keys)
    @rule(data=st.data())
    def replay_with_the_same_key(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model.keys)), label="key")
        request, _ = self.model.keys[key]
        before = self._snapshot()
        self._submit(request, self.clock)
        assert self._snapshot() == before, "a replay must change nothing"

    @precondition(lambda self: self.model.keys)
    @rule(data=st.data())
    def replay_a_key_with_another_request(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model.keys)), label="key")
        request, _ = self.model.keys[key]
        self._submit(self._altered(data, request), self.clock, must_fail=True)

    def _altered(self, data: st.DataObject, request: Request) -> Request:
        change = data.draw(st.sampled_from(["memo", "date", "target"]), label="change")
        if change == "memo":
            return replace(request, memo=request.memo + " (edited)")
        if change == "date":
            day = request.effective_date
            moved = day + timedelta(days=1 if day < LAST_DAY else -1)
            return replace(request, effective_date=moved)
        if isinstance(request, Reversal):
            others = self._other_reversal_targets(request.transaction_id)
            if others:
                return replace(request, transaction_id=data.draw(st.sampled_from(others)))
            return replace(request, memo=request.memo + " (edited)")
        first = request.legs[0]
        if isinstance(first, VoidPending):
            other = replace(first, expiry=not first.expiry)
        else:
            other = replace(first, amount=(first.amount or 0) + 1)
        return replace(request, legs=(other, *request.legs[1:]))

    def _other_reversal_targets(self, transaction_id: int) -> list[int]:
        # Look-alike transactions included: their reversals have the very same legs, so only
        # the reversed transaction's id tells the two requests apart.
        return [
            i
            for i, txn in sorted(self.model.txns.items())
            if i != transaction_id and not txn.holds_or_releases
        ]

    # -- attempts that must fail ---------------------------------------------------------------

    @rule(data=st.data(), source=st.sampled_from(FUNDS), extra=st.integers(1, 500))
    def overdraw_beyond_available(self, data: st.DataObject, source: str, extra: int) -> None:
        amount = max(self.model.counters[source].available(), 0) + extra
        leg: Leg
        if source == "pool":
            leg = Transfer("pool", ORGS[0], amount, TransferKind.ALLOCATION)
        elif source in ORGS:
            leg = Reserve(source, CLIENTS[0], amount)
        else:
            leg = Transfer(source, "bank", amount, TransferKind.PAYMENT)
        self._post(data, leg, must_fail=True)

    @precondition(lambda self: any(h.resolved for h in self.model.holds.values()))
    @rule(data=st.data(), post=st.booleans())
    def resolve_a_resolved_reservation_again(self, data: st.DataObject, post: bool) -> None:
        resolved = [i for i, hold in self.model.holds.items() if hold.resolved]
        pending_id = self._pick_hold(data, resolved)
        leg = PostPending(pending_id) if post else VoidPending(pending_id)
        self._post(data, leg, must_fail=True)

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def counters_and_sequence_match_the_model(self) -> None:
        with self.kit.factory() as session:
            for code in ACCOUNTS:
                balance = get_balance(session, self.kit.book, code)
                found = (
                    balance.debits_pending,
                    balance.debits_posted,
                    balance.credits_pending,
                    balance.credits_posted,
                )
                assert found == self.model.counters[code].as_tuple(), code
            last = (
                session.connection()
                .execute(select(books.c.last_sequence).where(books.c.code == self.kit.book))
                .scalar_one()
            )
        assert last == self.model.sequence

    @invariant()
    def no_flagged_account_is_overdrawn(self) -> None:
        with self.kit.factory() as session:
            for code in ("bank", *FUNDS):
                assert get_balance(session, self.kit.book, code).available >= 0, code

    @invariant()
    def trial_balance_sums_to_zero(self) -> None:
        with self.kit.factory() as session:
            lines = trial_balance(session, self.kit.book)
        assert sum(line.balance for line in lines) == 0
        for line in lines:
            counters = self.model.counters[line.account]
            assert (line.debits, line.credits) == (counters.debits_posted, counters.credits_posted)

    @invariant()
    def each_reservation_is_resolved_at_most_once(self) -> None:
        with self.kit.factory() as session:
            resolutions = Counter(
                session.connection()
                .execute(
                    select(transfers.c.pending_id).where(
                        transfers.c.pending_id.in_(self.model.holds)
                    )
                )
                .scalars()
            )
        assert all(count == 1 for count in resolutions.values()), resolutions
        assert set(resolutions) == {i for i, hold in self.model.holds.items() if hold.resolved}

    @invariant()
    def verify_finds_nothing(self) -> None:
        with self.kit.factory() as session:
            assert verify(session, self.kit.book) == []

    @invariant()
    def balances_as_of_a_random_day_match_the_model(self) -> None:
        day = FIRST_DAY + timedelta(days=self.rng.randint(0, 29))
        with self.kit.factory() as session:
            for code in ACCOUNTS:
                expected = self.model.balance_as_of(code, day)
                assert balance_as_of(session, self.kit.book, code, day) == expected, (code, day)
            lines = trial_balance(session, self.kit.book, as_of=day)
        assert sum(line.balance for line in lines) == 0
        for line in lines:
            assert (line.debits, line.credits) == self.model.as_of(line.account, day), (line, day)


def machine_on(factory: sessionmaker[Session], start: datetime) -> type[LedgerMachine]:
    return type("LedgerMachineOnDatabase", (LedgerMachine,), {"factory": factory, "start": start})


@pytest.mark.slow
def test_random_ledger_operations_agree_with_the_reference_model(
    session_factory: sessionmaker[Session], now: datetime
) -> None:
    run_state_machine_as_test(machine_on(session_factory, now), settings=SETTINGS)


def test_a_reversal_key_reused_for_another_transaction_is_a_conflict(kit: LedgerKit) -> None:
    first = kit.post(kit.move("bank", "pool", "5.00", TransferKind.GRANT_RECEIPT))
    second = kit.post(kit.move("bank", "pool", "5.00", TransferKind.GRANT_RECEIPT))

    def undo(transaction_id: int) -> Callable[[Session], Posted]:
        return lambda session: reverse_transaction(
            session,
            book=kit.book,
            transaction_id=transaction_id,
            effective_date=kit.day,
            memo="undo",
            actor=ACTOR,
            now=kit.now,
            idempotency_key="undo-1",
        )

    kit.run(undo(first.transaction_id))
    with pytest.raises(IdempotencyConflictError):
        kit.run(undo(second.transaction_id))
