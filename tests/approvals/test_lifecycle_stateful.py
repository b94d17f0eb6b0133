"""Random request lifecycles through ``transition`` agree with a small reference model.

Hypothesis drafts requests for the desk's one client and drives them with random people and
actions: submit and resubmit, approvals by the right person and by the wrong ones (the
requester, someone who decided an earlier step, another NGO's staff, finance), reductions,
rejections, send-backs and requests for information with and without a reason, responses,
withdrawals, cancellations, part, final and over-approved payments (within and beyond the
tolerance, and with an invoice number already paid), closing, top-ups of the envelope, and the
scheduler's timers at a later hour (expiring approvals nobody paid in time).

Any call may be refused with an ``ApprovalError`` or ``LedgerError``; a refusal must change
nothing (states, the envelope's and the client's ledger counters, the book's last sequence,
the decisions). The model predicts which calls must succeed and which must be refused where
that is unambiguous. After every step the database must agree with the model: states, amounts,
one open reservation of exactly ``approved - paid`` per approved or part-paid request and none
for any other, the envelope's ``held_out``, an empty ``verify``, the payment tolerance, and
segregation of duties in the decisions and payments.

Each example builds its own consortium, because PostgreSQL keeps its rows between examples.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck
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

from approvals.errors import (
    ApprovalError,
    CapExceededError,
    DuplicateError,
    InvalidInputError,
    InvalidTransitionError,
    NotAllowedError,
    NotFoundError,
)
from approvals.fiscal import financial_year
from approvals.gst import gst_in_inclusive
from approvals.lifecycle.payments import PaymentInput
from approvals.lifecycle.requests import RequestInput, create_request, current_approvers
from approvals.lifecycle.states import FINAL_STATES, TRANSITIONS, Action, RequestState, targets
from approvals.lifecycle.timers import run_timers
from approvals.lifecycle.transitions import transition
from approvals.models import Consortium, Decision, FundRequest, Payment, RequestStep
from ledger import get_balance, verify
from ledger.db import run_in_transaction
from ledger.errors import DomainError, InsufficientFundsError, PendingExpiredError
from ledger.models import books, transfers
from ledger.values import Phase
from tests.support.hypothesis_profiles import machine_settings
from tests.support.world import Desk, as_, build_desk, build_world, fund

S = RequestState
A = Action
STATE_NAMES = {state.value for state in RequestState}
EVERYONE = ("sf1", "sf1b", "tl1", "sf2", "tl2", "pm", "fin", "finmgr", "ceo", "auditor", "admin")
REQUESTERS = ("sf1", "sf1b", "tl1")
OTHER_NGO = ("sf2", "tl2")
FINANCE = ("fin", "finmgr")
CANCELLERS = ("pm", "fin")
ENVELOPE, CLIENT = "org:NGO1", "client:C-0001"
TOLERANCE_BP, TOLERANCE_MIN, DRAFT_ARCHIVE_DAYS, CLIENT_CAP = 500, 2_000, 90, 500_000
NEEDED_IN_DAYS = (11, 61)  # from the day the request is raised
MAX_REQUESTS = 7
# Whose roles ever take each action on an NGO1 request (checked before the state).
_STAFF = frozenset({"sf1", "sf1b", "tl1"})
_DECIDERS = frozenset({"tl1", "tl2", "pm", "finmgr", "ceo"})
_FINANCE = frozenset({"fin", "finmgr"})
TAKES_PART: dict[Action, frozenset[str]] = {
    Action.SUBMIT: _STAFF,
    Action.RESUBMIT: _STAFF,
    Action.RESPOND: _STAFF,
    Action.WITHDRAW: _STAFF,
    Action.APPROVE: _DECIDERS,
    Action.REJECT: _DECIDERS,
    Action.REQUEST_INFO: _DECIDERS,
    Action.SEND_BACK: _DECIDERS,
    Action.CANCEL: frozenset({"pm", "fin"}),
    Action.PAY: _FINANCE,
    Action.CLOSE: _FINANCE,
    Action.EXPIRE: frozenset(),
}
CATEGORIES = ("groceries", "bond", "furniture")

# In the ``ci`` profile, 8 consortia of up to 25 calls each per database: long enough for a
# request to go from draft through approval rounds to payment, expiry or closing with wrong
# people and refusals on the way; HYPOTHESIS_PROFILE=deep (tests/conftest.py) runs far more.
SETTINGS = machine_settings(8, 25, HealthCheck.function_scoped_fixture)

ANY = "any outcome"  # the model does not know (funds, caps, who the chain resolved to)
OK = "must succeed"
Outcome = Any  # ANY, OK, or an exception class / tuple of classes that must be raised


@dataclass
class Req:
    """What the model knows of one request."""

    requester: str
    charge: int  # what final approval reserves: ex-GST (credits are claimed), or as reduced
    base: int  # the charge as requested; a new round starts from it again
    needed_by: date
    updated_at: datetime
    state: RequestState = S.DRAFT
    approved: int | None = None
    paid: int = 0
    held: int = 0
    approved_at: datetime | None = None
    expires_at: datetime | None = None


def tolerance(approved: int) -> int:
    return max(approved * TOLERANCE_BP // 10_000, TOLERANCE_MIN)


class LifecycleMachine(RuleBasedStateMachine):
    factory: sessionmaker[Session]
    start: datetime

    def __init__(self) -> None:
        super().__init__()
        self.desk: Desk = build_desk(build_world(self.factory, self.start))
        self.world = self.desk.world
        self.clock = self.start
        self.model: dict[int, Req] = {}
        self.invoices = 0
        self.paid_invoices: list[str] = []
        self.top_ups = 0
        with self.factory() as session:
            self.zone = ZoneInfo(session.get_one(Consortium, self.world.consortium_id).timezone)

    # -- helpers ------------------------------------------------------------------------------

    def _today(self) -> date:
        return self.clock.astimezone(self.zone).date()

    def _snapshot(self) -> tuple[object, ...]:
        with self.factory() as session:
            requests = session.execute(
                select(
                    FundRequest.id,
                    FundRequest.state,
                    FundRequest.round,
                    FundRequest.current_step,
                    FundRequest.approved_cents,
                    FundRequest.paid_cents,
                    FundRequest.reservation_id,
                )
                .where(FundRequest.consortium_id == self.world.consortium_id)
                .order_by(FundRequest.id)
            ).all()
            counters = []
            for code in (ENVELOPE, CLIENT):
                b = get_balance(session, self.world.code, code)
                counters.append(
                    (b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted)
                )
            sequence = session.execute(
                select(books.c.last_sequence).where(books.c.code == self.world.code)
            ).scalar_one()
            decisions = session.execute(
                select(func.count(Decision.id))
                .join(FundRequest, FundRequest.id == Decision.request_id)
                .where(FundRequest.consortium_id == self.world.consortium_id)
            ).scalar_one()
        return (tuple(map(tuple, requests)), tuple(counters), sequence, decisions)

    def _pick(self, data: st.DataObject, *states: RequestState) -> int:
        fitting = sorted(rid for rid, req in self.model.items() if req.state in states)
        if fitting and data.draw(st.integers(0, 5), label="fitting request") > 0:
            return data.draw(st.sampled_from(fitting), label="request")
        return data.draw(st.sampled_from(sorted(self.model)), label="any request")

    def _any(self, *states: RequestState) -> bool:
        return any(req.state in states for req in self.model.values())

    def _approvers(self, rid: int) -> tuple[set[str], set[str], bool]:
        """The current step's approvers, who approved a step this round, and if it is the last."""
        names = {user_id: who for who, user_id in self.world.users.items()}
        with self.factory() as session:
            request = session.get_one(FundRequest, rid)
            current = {names[u] for u in current_approvers(session, request) if u in names}
            decided = session.execute(
                select(Decision.actor_id).where(
                    Decision.request_id == rid,
                    Decision.round == request.round,
                    Decision.action == A.APPROVE.value,
                )
            ).scalars()
            steps = session.execute(
                select(func.count(RequestStep.id)).where(
                    RequestStep.request_id == rid, RequestStep.round == request.round
                )
            ).scalar_one()
            last = request.current_step is not None and request.current_step == steps
            return current, {names[u] for u in decided if u in names}, last

    def _client_total(self) -> int:
        """What the client's approvals already count against the financial-year cap."""
        counted = (S.APPROVED, S.PART_PAID, S.PAID)
        return sum(req.approved or 0 for req in self.model.values() if req.state in counted)

    def _expect(self, who: str, rid: int, action: Action) -> Outcome | None:
        """The refusal every action shares: unseen, or not allowed from this state."""
        if who in OTHER_NGO:
            return NotFoundError
        if who not in TAKES_PART[action]:
            return NotAllowedError
        if (self.model[rid].state, action) not in TRANSITIONS:
            return InvalidTransitionError
        return None

    def _act(
        self, who: str, rid: int, action: Action, expect: Outcome = ANY, **extra: Any
    ) -> FundRequest | None:
        before = self.model[rid].state
        snapshot = self._snapshot()
        when = self.clock
        try:
            result = as_(
                self.world,
                who,
                lambda s, a: transition(s, a, rid, action, now=when, **extra),
            )
        except DomainError as error:
            assert self._snapshot() == snapshot, f"{action} by {who} was refused but changed data"
            assert expect is not OK, f"{action} by {who} on {before}: {error!r}"
            if expect is not ANY:
                assert isinstance(error, expect), (action, who, before, error)
            return None
        assert expect in (ANY, OK), f"{action} by {who} on {before} should fail with {expect}"
        after = RequestState(result.state)
        assert after in targets(before, action), (before, action, after)
        self.model[rid].state = after
        self.model[rid].updated_at = when
        return result

    # -- rules --------------------------------------------------------------------------------

    @initialize(
        data=st.data(),
        count=st.integers(1, 3),
        amounts=st.lists(st.integers(1_000, 120_000), min_size=3, max_size=3),
    )
    def a_few_submitted_requests(self, data: st.DataObject, count: int, amounts: list[int]) -> None:
        assert self.desk.envelope() == (300_000, 0)
        for amount in amounts[:count]:
            who = data.draw(st.sampled_from(REQUESTERS), label="requester")
            category = data.draw(st.sampled_from(CATEGORIES), label="category")
            self.create(who, amount, data.draw(st.booleans()), category, NEEDED_IN_DAYS[0])
        for rid in sorted(self.model):
            self._act(self.model[rid].requester, rid, A.SUBMIT, OK)
            if data.draw(st.booleans(), label="approve it through its chain"):
                self._approve_through(rid)

    def _approve_through(self, rid: int) -> None:
        """Each step's first approver approves, until it is approved or refused (funds, cap)."""
        while self.model[rid].state is S.PENDING:
            current, _decided, last = self._approvers(rid)
            if not current:
                return
            result = self._act(min(current), rid, A.APPROVE)
            if result is None:
                return
            if result.state == S.APPROVED:
                self._approved(self.model[rid], result)

    @precondition(lambda self: len(self.model) < MAX_REQUESTS)
    @rule(
        who=st.sampled_from((*REQUESTERS, *REQUESTERS, "sf2", "pm")),
        amount=st.integers(1_000, 120_000),
        with_gst=st.booleans(),
        category=st.sampled_from(CATEGORIES),
        needed_in=st.sampled_from(NEEDED_IN_DAYS),
    )
    def create(self, who: str, amount: int, with_gst: bool, category: str, needed_in: int) -> None:
        needed_by = self._today() + timedelta(days=needed_in)
        gst = gst_in_inclusive(amount) if with_gst else 0
        data = RequestInput(
            client_id=self.desk.client_id,
            need_id=self.desk.need_id,
            category_id=self.desk.categories[category],
            amount_cents=amount,
            gst_cents=gst,
            supplier_id=self.desk.supplier_id,
            purpose="Something the plan needs",
            no_other_channel="No other service can pay for it",
            needed_by=needed_by,
        )
        snapshot = self._snapshot()
        when = self.clock
        try:
            rid = as_(self.world, who, lambda s, a: create_request(s, a, data, now=when).id)
        except ApprovalError:
            assert who not in REQUESTERS
            assert self._snapshot() == snapshot
            return
        assert who in REQUESTERS
        self.model[rid] = Req(who, amount - gst, amount - gst, needed_by, when)

    @precondition(lambda self: self._any(S.DRAFT, S.RETURNED))
    @rule(data=st.data(), by=st.sampled_from(("requester", "requester", "tl1", "other")))
    def submit(self, data: st.DataObject, by: str) -> None:
        rid = self._pick(data, S.DRAFT, S.RETURNED)
        req = self.model[rid]
        action = A.RESUBMIT if req.state is S.RETURNED else A.SUBMIT
        if data.draw(st.integers(0, 9), label="the other verb") == 0:
            action = A.SUBMIT if action is A.RESUBMIT else A.RESUBMIT
        who = req.requester if by == "requester" else by
        if by == "other":
            who = data.draw(st.sampled_from(EVERYONE), label="submitter")
        expect = self._expect(who, rid, action)
        if expect is None:
            expect = OK if who in (req.requester, "tl1") else NotAllowedError
        if self._act(who, rid, action, expect) is not None:
            req.charge = req.base  # a reduction belonged to the last round's approvers

    @precondition(lambda self: self._any(S.PENDING))
    @rule(
        data=st.data(),
        by=st.sampled_from(("current", "current", "current", "requester", "decider", "anyone")),
        reduce=st.sampled_from((None, None, None, "less", "more")),
    )
    def approve(self, data: st.DataObject, by: str, reduce: str | None) -> None:
        rid = self._pick(data, S.PENDING)
        req = self.model[rid]
        current, decided, last = self._approvers(rid)
        pool = {"current": current, "requester": {req.requester}, "decider": decided}.get(
            by, set(EVERYONE)
        )
        who = data.draw(st.sampled_from(sorted(pool or EVERYONE)), label="approver")
        amount = None
        if reduce == "less":
            amount = data.draw(st.integers(1, req.charge), label="reduced to")
        elif reduce == "more":
            amount = req.charge + data.draw(st.integers(1, 5_000), label="increase")
        expect = self._expect(who, rid, A.APPROVE)
        if expect is None:
            if who == req.requester or who in decided or who == "admin" or who not in current:
                expect = NotAllowedError
            elif reduce == "more":
                expect = InvalidInputError
            elif not last:  # every step of the default policy needs one approval (ANY)
                expect = OK
            else:  # the last step reserves: the cap first, then the envelope's funds
                charge = req.charge if amount is None else amount
                if self._client_total() + charge > CLIENT_CAP:
                    expect = CapExceededError
                elif charge > self.desk.envelope()[0]:
                    expect = InsufficientFundsError
                else:
                    expect = OK
        result = self._act(who, rid, A.APPROVE, expect, amount_cents=amount)
        if result is None:
            return
        if amount is not None:
            req.charge = amount
        assert result.approved_cents in (None, req.charge)
        assert (result.state == S.APPROVED) == last, (result.state, last)
        if result.state == S.APPROVED:
            self._approved(req, result)

    def _approved(self, req: Req, result: FundRequest) -> None:
        assert result.approved_cents == req.charge and result.paid_cents == 0
        req.approved, req.held, req.paid = req.charge, req.charge, 0
        req.approved_at, req.expires_at = self.clock, result.expires_at
        assert req.expires_at is not None and req.expires_at > self.clock

    @precondition(lambda self: self._any(S.PENDING))
    @rule(
        data=st.data(),
        action=st.sampled_from((A.REJECT, A.SEND_BACK, A.REQUEST_INFO)),
        by=st.sampled_from(("current", "current", "anyone")),
        reason=st.sampled_from(("Please attach a quote", None, "   ")),
    )
    def decide_against(
        self, data: st.DataObject, action: Action, by: str, reason: str | None
    ) -> None:
        rid = self._pick(data, S.PENDING)
        req = self.model[rid]
        current, decided, _last = self._approvers(rid)
        pool = current if by == "current" and current else set(EVERYONE)
        who = data.draw(st.sampled_from(sorted(pool)), label="decider")
        expect = self._expect(who, rid, action)
        if expect is None:
            if who == req.requester or who in decided or who == "admin" or who not in current:
                expect = NotAllowedError
            elif not (reason or "").strip():
                expect = InvalidInputError
            else:
                expect = OK
        self._act(who, rid, action, expect, reason=reason)

    @precondition(lambda self: self._any(S.INFO_REQUESTED))
    @rule(
        data=st.data(),
        by=st.sampled_from(("requester", "requester", "tl1", "other")),
        reason=st.sampled_from(("Quote attached", None)),
    )
    def respond(self, data: st.DataObject, by: str, reason: str | None) -> None:
        rid = self._pick(data, S.INFO_REQUESTED)
        req = self.model[rid]
        who = data.draw(st.sampled_from(EVERYONE)) if by == "other" else by
        who = req.requester if by == "requester" else who
        expect = self._expect(who, rid, A.RESPOND)
        if expect is None:
            if who not in (req.requester, "tl1"):
                expect = NotAllowedError
            else:
                expect = OK if reason else InvalidInputError
        self._act(who, rid, A.RESPOND, expect, reason=reason)

    @precondition(lambda self: self._any(S.DRAFT, S.PENDING, S.INFO_REQUESTED, S.RETURNED))
    @rule(data=st.data(), by=st.sampled_from(("requester", "tl1", "other")))
    def withdraw(self, data: st.DataObject, by: str) -> None:
        rid = self._pick(data, S.DRAFT, S.PENDING, S.INFO_REQUESTED, S.RETURNED)
        req = self.model[rid]
        who = data.draw(st.sampled_from(EVERYONE)) if by == "other" else by
        who = req.requester if by == "requester" else who
        expect = self._expect(who, rid, A.WITHDRAW)
        if expect is None:
            expect = OK if who in (req.requester, "tl1") else NotAllowedError
        self._act(who, rid, A.WITHDRAW, expect)

    @precondition(lambda self: self._any(S.APPROVED))
    @rule(
        data=st.data(),
        who=st.sampled_from((*CANCELLERS, *CANCELLERS, "finmgr", "tl1", "sf1", "sf2")),
        reason=st.sampled_from(("Client moved away", None)),
    )
    def cancel(self, data: st.DataObject, who: str, reason: str | None) -> None:
        rid = self._pick(data, S.APPROVED)
        expect = self._expect(who, rid, A.CANCEL)
        if expect is None:
            if who not in CANCELLERS:
                expect = NotAllowedError
            else:
                expect = OK if reason else InvalidInputError
        if self._act(who, rid, A.CANCEL, expect, reason=reason) is not None:
            self.model[rid].held = 0

    @precondition(lambda self: self._any(S.APPROVED, S.PART_PAID))
    @rule(
        data=st.data(),
        who=st.sampled_from((*FINANCE, *FINANCE, "fin", "pm", "tl1")),
        kind=st.sampled_from(("part", "part", "rest", "final", "over", "beyond")),
        with_gst=st.booleans(),
        duplicate=st.integers(0, 7),
    )
    def pay(self, data: st.DataObject, who: str, kind: str, with_gst: bool, duplicate: int) -> None:
        rid = self._pick(data, S.APPROVED, S.PART_PAID)
        req = self.model[rid]
        approved = req.approved or 0
        rest = max(approved - req.paid, 1)
        charged = {
            "part": data.draw(st.integers(1, rest), label="part"),
            "rest": rest,
            "final": data.draw(st.integers(1, rest), label="final"),
            "over": rest + data.draw(st.integers(1, tolerance(approved) + 1), label="over"),
            "beyond": rest + tolerance(approved) + data.draw(st.integers(1, 500), label="beyond"),
        }[kind]
        # GST is one eleventh of the inc-GST price: find a price whose ex-GST part is `charged`.
        gst = 0
        if with_gst:
            gst = charged // 10
            inc = charged + gst
            if gst_in_inclusive(inc) != gst:
                gst, inc = 0, charged
        else:
            inc = charged
        reuse = duplicate == 0 and self.paid_invoices
        if reuse:
            invoice = data.draw(st.sampled_from(self.paid_invoices), label="invoice")
        else:
            self.invoices += 1
            invoice = f"INV-{self.invoices}"
        payment = PaymentInput(invoice, inc, gst, self._today(), kind == "final")
        _current, decided, _last = self._approvers(rid)
        expect = self._expect(who, rid, A.PAY)
        if expect is None:
            if who not in FINANCE or who in decided or who == req.requester:
                expect = NotAllowedError
            elif reuse:
                expect = DuplicateError
            elif req.paid + charged > approved + tolerance(approved):
                expect = InvalidInputError
            elif req.expires_at is not None and req.expires_at <= self.clock:
                expect = PendingExpiredError
            elif charged - req.held > self.desk.envelope()[0]:
                expect = InsufficientFundsError  # the excess comes from the envelope
            else:
                expect = OK
        result = self._act(who, rid, A.PAY, expect, payment=payment)
        if result is None:
            return
        self.paid_invoices.append(invoice)
        settles = kind == "final" or charged >= req.held
        assert result.state == (S.PAID if settles else S.PART_PAID), (kind, charged, req)
        req.paid += charged
        req.held = 0 if settles else req.held - charged
        assert result.paid_cents == req.paid

    @precondition(lambda self: self._any(S.PART_PAID))
    @rule(
        data=st.data(),
        who=st.sampled_from((*FINANCE, "pm", "sf1")),
        reason=st.sampled_from(("Nothing more to come", None)),
    )
    def close(self, data: st.DataObject, who: str, reason: str | None) -> None:
        rid = self._pick(data, S.PART_PAID)
        expect = self._expect(who, rid, A.CLOSE)
        if expect is None:
            if who not in FINANCE:
                expect = NotAllowedError
            else:
                expect = OK if reason else InvalidInputError
        if self._act(who, rid, A.CLOSE, expect, reason=reason) is not None:
            self.model[rid].held = 0

    @precondition(lambda self: self.model)
    @rule(
        data=st.data(),
        action=st.sampled_from(tuple(Action)),
        who=st.sampled_from(EVERYONE),
        reason=st.sampled_from(("Because", None)),
    )
    def anything_on_anything(
        self, data: st.DataObject, action: Action, who: str, reason: str | None
    ) -> None:
        """A random action on a random request: the table refuses what it does not list."""
        rid = data.draw(st.sampled_from(sorted(self.model)), label="request")
        expect = self._expect(who, rid, action) or ANY
        if expect is ANY and action in (A.APPROVE, A.PAY, A.EXPIRE):
            return  # the dedicated rules (and the timers) model these
        result = self._act(who, rid, action, expect, reason=reason)
        if result is not None and RequestState(result.state) in FINAL_STATES:
            self.model[rid].held = 0

    @precondition(lambda self: self._any(S.APPROVED, S.PART_PAID))
    @rule(days=st.sampled_from((0, 1, 5, 13, 20, 31, 45)), hours=st.integers(0, 23))
    def timers(self, days: int, hours: int) -> None:
        self.clock += timedelta(days=days, hours=hours)
        when, today = self.clock, self._today()
        year = financial_year(today)
        expiring = {
            rid
            for rid, req in self.model.items()
            if req.state in (S.APPROVED, S.PART_PAID)
            and req.expires_at is not None
            and req.approved_at is not None
            and (
                req.expires_at <= when or req.approved_at.astimezone(self.zone).date() < year.start
            )
        }
        stale = when - timedelta(days=DRAFT_ARCHIVE_DAYS)
        archiving = {
            rid
            for rid, req in self.model.items()
            if req.state is S.DRAFT and req.updated_at < stale
        }
        report = run_in_transaction(
            self.factory, lambda s: run_timers(s, self.world.consortium_id, when)
        )
        assert report.skipped == []
        assert set(report.expired) == expiring
        assert set(report.archived) == archiving
        for rid in expiring:  # an unpaid approval lapses; a part-paid one is closed as paid
            lapsed = S.EXPIRED if self.model[rid].state is S.APPROVED else S.PAID
            self.model[rid].state, self.model[rid].held = lapsed, 0
        for rid in archiving:
            self.model[rid].state = S.WITHDRAWN

    @precondition(lambda self: self.top_ups < 2)
    @rule()
    def top_up(self) -> None:
        self.top_ups += 1
        fund(self.world, 1_000)

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def requests_agree_with_the_model(self) -> None:
        with self.factory() as session:
            rows = (
                session.execute(
                    select(FundRequest).where(FundRequest.consortium_id == self.world.consortium_id)
                )
                .scalars()
                .all()
            )
        assert {r.id for r in rows} == set(self.model)
        for row in rows:
            req = self.model[row.id]
            assert row.state in STATE_NAMES
            assert row.state == req.state.value, (row.id, row.state, req)
            assert row.paid_cents == req.paid, (row.id, row.paid_cents, req)
            if row.state in (S.APPROVED, S.PART_PAID, S.PAID, S.CANCELLED, S.EXPIRED):
                assert row.approved_cents == req.approved
            if row.approved_cents is not None:
                limit = row.approved_cents + tolerance(row.approved_cents)
                assert row.paid_cents <= limit, (row.id, row.paid_cents, row.approved_cents)

    @invariant()
    def the_ledger_verifies(self) -> None:
        with self.factory() as session:
            assert verify(session, self.world.code) == []

    @invariant()
    def reservations_are_exactly_what_approved_requests_still_hold(self) -> None:
        with self.factory() as session:
            rows = {
                r.id: r
                for r in session.execute(
                    select(FundRequest).where(FundRequest.consortium_id == self.world.consortium_id)
                ).scalars()
            }
            resolution = transfers.alias("resolution")
            open_holds = session.execute(
                select(transfers.c.id, transfers.c.request_id, transfers.c.amount).where(
                    transfers.c.request_id.in_(list(rows) or [0]),
                    transfers.c.phase == Phase.PENDING.value,
                    ~select(resolution.c.id)
                    .where(resolution.c.pending_id == transfers.c.id)
                    .exists(),
                )
            ).all()
            envelope = get_balance(session, self.world.code, ENVELOPE)
            client = get_balance(session, self.world.code, CLIENT)
        holding = {rid for rid, r in rows.items() if r.state in (S.APPROVED, S.PART_PAID)}
        assert sorted(rid for _, rid, _ in open_holds) == sorted(holding), open_holds
        for hold_id, rid, amount in open_holds:
            row = rows[rid]
            assert row.state not in (S.PAID, S.REJECTED, S.WITHDRAWN, S.CANCELLED, S.EXPIRED)
            assert hold_id == row.reservation_id
            assert amount == (row.approved_cents or 0) - row.paid_cents == self.model[rid].held
        expected = sum((rows[rid].approved_cents or 0) - rows[rid].paid_cents for rid in holding)
        assert envelope.held_out == expected == sum(r.held for r in self.model.values())
        assert client.held_in == expected

    @invariant()
    def segregation_of_duties_holds(self) -> None:
        with self.factory() as session:
            requesters = dict(
                session.execute(
                    select(FundRequest.id, FundRequest.requester_id).where(
                        FundRequest.consortium_id == self.world.consortium_id
                    )
                ).all()
            )
            approvals = session.execute(
                select(
                    Decision.request_id,
                    Decision.actor_id,
                    Decision.on_behalf_of_id,
                    Decision.step_id,
                    Decision.round,
                ).where(
                    Decision.request_id.in_(list(requesters) or [0]),
                    Decision.action == A.APPROVE.value,
                )
            ).all()
            payers = session.execute(
                select(Payment.request_id, Payment.recorded_by_id).where(
                    Payment.request_id.in_(list(requesters) or [0])
                )
            ).all()
        steps: dict[tuple[int, int, int], set[int | None]] = defaultdict(set)
        involved: dict[int, set[int]] = defaultdict(set)
        for rid, actor, principal, step, round_ in approvals:
            assert actor != requesters[rid] and principal != requesters[rid]
            steps[rid, round_, actor].add(step)  # SoD 2: one step per person in each round
            involved[rid] |= {actor, principal or actor}
        assert all(len(decided) == 1 for decided in steps.values()), steps
        for rid, payer in payers:
            assert payer != requesters[rid] and payer not in involved[rid]


def machine_on(factory: sessionmaker[Session], start: datetime) -> type[LifecycleMachine]:
    return type(
        "LifecycleMachineOnDatabase", (LifecycleMachine,), {"factory": factory, "start": start}
    )


@pytest.mark.slow
def test_random_request_lifecycles_agree_with_the_reference_model(
    session_factory: sessionmaker[Session], now: datetime
) -> None:
    run_state_machine_as_test(machine_on(session_factory, now), settings=SETTINGS)
