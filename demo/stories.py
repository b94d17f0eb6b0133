"""The demo's year of requests: each written as an SF would, then taken as far as its age allows.

Every step goes through ``approvals.lifecycle.transitions.transition`` as a person would take it,
so the
demo holds nothing the services would refuse (a step they do refuse, a cap or short funds, leaves
the request where it is, as it would in real life).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import select

from approvals.errors import ApprovalError
from approvals.fiscal import financial_year
from approvals.gst import gst_in_inclusive
from approvals.lifecycle.refunds import record_refund
from approvals.lifecycle.requests import RequestInput, create_request
from approvals.lifecycle.states import Action, RequestState
from approvals.lifecycle.timers import mark_carried_over
from approvals.lifecycle.transitions import transition
from approvals.models import FundRequest, Payment
from approvals.policy.delegations import delegate
from demo.base import CATEGORIES, ZONE, Demo, invoice_payment, moment
from ledger.errors import DomainError


def history(demo: Demo, rng: random.Random, start: date) -> None:
    """About five requests a week for a year, each taken as far as its age allows."""
    delegation_from = start + timedelta(days=120)
    demo.run(
        "tl@ngo2.demo",
        moment(delegation_from),
        lambda s, a: delegate(
            s,
            a,
            to_user_id=demo.users["tl@ngo3.demo"],
            starts_on=delegation_from,
            ends_on=delegation_from + timedelta(days=13),
            now=moment(delegation_from),
        ),
    )
    day, refunded = start + timedelta(days=62), False
    while day <= demo.today:
        if day.weekday() < 5:
            for _ in range(rng.choice((0, 1, 1, 1, 2))):
                request_id = _new_request(demo, rng, day)
                if request_id is not None:
                    refunded = _story(demo, rng, request_id, day, refunded)
        day += timedelta(days=1)


def demo_request(
    categories: dict[str, int],
    suppliers: dict[str, tuple[int, bool]],
    *,
    client_id: int,
    need_id: int,
    category: str,
    amount_cents: int,
    needed_by: date,
) -> RequestInput:
    """A request as an SF would write it: the category's supplier, GST as the invoice states it."""
    supplier_id, registered = suppliers[category]
    return RequestInput(
        client_id=client_id,
        need_id=need_id,
        category_id=categories[category],
        amount_cents=amount_cents,
        gst_cents=gst_in_inclusive(amount_cents) if registered else 0,
        supplier_id=supplier_id,
        purpose=CATEGORIES[category][0],
        no_other_channel="No other program covers this in time",
        needed_by=needed_by,
    )


def _new_request(demo: Demo, rng: random.Random, day: date) -> int | None:
    client_id, _org, need_id, sf = rng.choice(demo.clients)
    category = rng.choice(list(CATEGORIES))
    typical = CATEGORIES[category][3] * 100
    data = demo_request(
        demo.categories,
        demo.suppliers,
        client_id=client_id,
        need_id=need_id,
        category=category,
        amount_cents=rng.randint(typical // 2, typical * 3 // 2),
        needed_by=day + timedelta(days=rng.randint(5, 25)),
    )
    try:
        return demo.run(
            sf, moment(day, 9), lambda s, a: create_request(s, a, data, now=moment(day, 9)).id
        )
    except DomainError:
        return None


def _act(
    demo: Demo, who: str, request_id: int, action: Action, at: datetime, **extra: object
) -> bool:
    try:
        demo.run(who, at, lambda s, a: transition(s, a, request_id, action, now=at, **extra))  # type: ignore[arg-type]
        return True
    except DomainError:
        return False  # short funds, a cap: it stays where it is, as it would in real life


def _approve_all(demo: Demo, request_id: int, at: datetime) -> bool:
    """Walk the chain: each step decided by one of its approvers (or their delegate)."""
    from approvals.models import RequestStep, StepApprover

    emails = {user_id: email for email, user_id in demo.users.items()}
    for _ in range(8):
        with demo.factory() as session:
            request = session.get_one(FundRequest, request_id)
            if request.state != RequestState.PENDING:
                return request.state == RequestState.APPROVED
            approvers = (
                session.execute(
                    select(StepApprover.user_id)
                    .join(RequestStep, RequestStep.id == StepApprover.step_id)
                    .where(
                        RequestStep.request_id == request_id,
                        RequestStep.round == request.round,
                        RequestStep.position == request.current_step,
                    )
                    .order_by(StepApprover.user_id)
                )
                .scalars()
                .all()
            )
            decided = {d for d in session.execute(select(_decider_ids(request_id))).scalars()}
        choices = [emails[user] for user in approvers if user not in decided and user in emails]
        if not choices:
            return False
        who = choices[0]
        day = at.astimezone(ZONE).date()
        in_leave = start_of_leave(demo) <= day <= start_of_leave(demo) + timedelta(days=13)
        if who == "tl@ngo2.demo" and in_leave:
            who = "tl@ngo3.demo"  # approves on Tara's behalf while she is away
        if not _act(demo, who, request_id, Action.APPROVE, at):
            return False
        at += timedelta(hours=3)
    return False


def _decider_ids(request_id: int):  # type: ignore[no-untyped-def]
    from approvals.models import Decision

    return (
        select(Decision.actor_id)
        .where(Decision.request_id == request_id, Decision.action == "approve")
        .subquery()
        .c.actor_id
    )


def start_of_leave(demo: Demo) -> date:
    return demo.today - timedelta(days=364) + timedelta(days=120)


def _pay(demo: Demo, request_id: int, at: datetime, *, part: bool = False) -> bool:
    with demo.factory() as session:
        request = session.get_one(FundRequest, request_id)
        payment = invoice_payment(request, f"INV-{request.number:04d}", at, part=part)
    return _act(demo, "fin@lead.demo", request_id, Action.PAY, at, payment=payment)


def _story(demo: Demo, rng: random.Random, request_id: int, day: date, refunded: bool) -> bool:
    """Take one request as far as its age allows; returns whether the demo's refund happened."""
    age = (demo.today - day).days
    first = moment(day, 10)
    if age < 2:
        if rng.random() < 0.5:
            _act(
                demo, "sf@ngo1.demo", request_id, Action.SUBMIT, first
            )  # may not be theirs: stays a draft
        return refunded
    owner = _owner(demo, request_id)
    roll = rng.random()
    if roll < 0.04:
        _act(demo, owner, request_id, Action.WITHDRAW, first)
        return refunded
    _act(demo, owner, request_id, Action.SUBMIT, first)
    decide = moment(day + timedelta(days=1), 11)
    tl = _team_leader(demo, request_id)
    if roll < 0.10:
        _act(
            demo, tl, request_id, Action.REJECT, decide, reason="Another program can meet this need"
        )
        return refunded
    if roll < 0.16:
        _act(demo, tl, request_id, Action.SEND_BACK, decide, reason="Please attach a written quote")
        if age > 10:
            _act(demo, owner, request_id, Action.RESUBMIT, decide + timedelta(days=2))
            decide += timedelta(days=3)
        else:
            return refunded
    elif roll < 0.22:
        _act(
            demo,
            tl,
            request_id,
            Action.REQUEST_INFO,
            decide,
            reason="Has the client applied to the housing fund?",
        )
        if age > 7:
            _act(
                demo,
                owner,
                request_id,
                Action.RESPOND,
                decide + timedelta(days=1),
                reason="Yes: declined last month",
            )
            decide += timedelta(days=2)
        else:
            return refunded
    if age < 5 and rng.random() < 0.5:
        return refunded  # still with its approvers
    if not _approve_all(demo, request_id, decide):
        return refunded
    pay_at = decide + timedelta(days=rng.randint(2, 6))
    if roll > 0.97:
        _act(
            demo,
            "pm@lead.demo",
            request_id,
            Action.CANCEL,
            pay_at,
            reason="Client moved out of the region",
        )
    elif roll > 0.93 or age < 8:
        pass  # approved, waiting for an invoice (older ones expire)
    elif roll > 0.90:
        _pay(demo, request_id, pay_at, part=True)
        if age > 30:
            _act(
                demo,
                "fin@lead.demo",
                request_id,
                Action.CLOSE,
                pay_at + timedelta(days=14),
                reason="Balance not needed",
            )
    elif _pay(demo, request_id, pay_at) and not refunded and age > 40 and rng.random() < 0.2:
        refunded = _refund(demo, request_id, pay_at + timedelta(days=10))
    return refunded


def _refund(demo: Demo, request_id: int, at: datetime) -> bool:
    with demo.factory() as session:
        payment = (
            session.execute(select(Payment).where(Payment.request_id == request_id))
            .scalars()
            .first()
        )
    if payment is None:
        return False
    amount = max(payment.charged_cents // 4, 100)
    demo.run(
        "fin@lead.demo",
        at,
        lambda s, a: record_refund(
            s,
            a,
            payment.id,
            amount_cents=amount,
            received_on=at.astimezone(ZONE).date(),
            reference="Credit note CN-100",
            now=at,
        ),
    )
    return True


def _owner(demo: Demo, request_id: int) -> str:
    with demo.factory() as session:
        requester = session.get_one(FundRequest, request_id).requester_id
    return next(email for email, user_id in demo.users.items() if user_id == requester)


def _team_leader(demo: Demo, request_id: int) -> str:
    with demo.factory() as session:
        organisation = session.get_one(FundRequest, request_id).organisation_id
    code = next(code for code, org_id in demo.organisations.items() if org_id == organisation)
    return f"tl@{code.lower()}.demo"


def this_week(demo: Demo, rng: random.Random) -> None:
    """Work in hand today, so every screen has something in every state."""
    day = demo.today - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    at = moment(day, 9)
    stories: list[tuple[str, int]] = [
        ("draft", 8_000),
        ("pending", 9_500),
        ("pending_pm", 78_000),
        ("info", 12_000),
        ("returned", 6_500),
        ("approved", 14_000),
        ("part_paid", 30_000),
    ]
    for index, (story, amount) in enumerate(stories):
        client_id, _org, need_id, sf = demo.clients[(index * 7) % len(demo.clients)]
        category = (
            "groceries",
            "travel",
            "furniture",
            "utilities",
            "social",
            "health_gap",
            "education",
        )[index]
        data = demo_request(
            demo.categories,
            demo.suppliers,
            client_id=client_id,
            need_id=need_id,
            category=category,
            amount_cents=amount,
            needed_by=demo.today + timedelta(days=14),
        )
        request_id = demo.run(sf, at, lambda s, a, d=data: create_request(s, a, d, now=at).id)  # type: ignore[misc]
        if story == "draft":
            continue
        _act(demo, sf, request_id, Action.SUBMIT, at)
        tl = _team_leader(demo, request_id)
        later = at + timedelta(hours=2)
        if story == "pending_pm":
            _act(demo, tl, request_id, Action.APPROVE, later)
        elif story == "info":
            _act(
                demo,
                tl,
                request_id,
                Action.REQUEST_INFO,
                later,
                reason="Is there a quote from a second store?",
            )
        elif story == "returned":
            _act(
                demo,
                tl,
                request_id,
                Action.SEND_BACK,
                later,
                reason="Please choose a cheaper option",
            )
        elif story in (RequestState.APPROVED, RequestState.PART_PAID):
            _approve_all(demo, request_id, later)
            if story == "part_paid":
                _pay(demo, request_id, later + timedelta(hours=3), part=True)
            _carry_into_this_year(demo, request_id, later + timedelta(hours=4))


def _carry_into_this_year(demo: Demo, request_id: int, at: datetime) -> None:
    """Work in hand at 30 June stays in hand on 1 July: finance carries it over the year end
    (an approval not carried over lapses when its year ends; see approvals/lifecycle/timers.py)."""
    if financial_year(at.astimezone(ZONE).date()) == financial_year(demo.today):
        return
    try:
        demo.run("finmgr@lead.demo", at, lambda s, a: mark_carried_over(s, a, request_id, now=at))
    except ApprovalError:
        pass  # not approved after all (a cap): nothing to carry
