"""A generated region's year of requests, each taken as far as its age allows.

The same mix of endings as the demo's stories (``demo/stories.py``), at national volume: one
unit of work per business day, every step through ``approvals.lifecycle.transitions.transition``.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals.lifecycle.refunds import record_refund
from approvals.lifecycle.requests import create_request, current_approvers
from approvals.lifecycle.states import Action, RequestState
from approvals.lifecycle.transitions import transition
from approvals.models import FundRequest, Payment
from demo.base import CATEGORIES, ZONE, invoice_payment, moment
from demo.region import CATEGORY_WEIGHTS, REQUESTS_PER_CLIENT_YEAR, Region
from demo.stories import demo_request


def history(c: Region, start: date) -> None:
    """Each business day's new requests, each taken as far as its age allows, in one unit."""
    day = start + timedelta(days=62)  # after enrolments: ≈ 216 business days to today
    per_day = len(c.clients) * REQUESTS_PER_CLIENT_YEAR / 216
    while day <= c.today:
        if day.weekday() < 5:
            wanted = per_day * c.rng.uniform(0.5, 1.5)
            count = int(wanted) + (1 if c.rng.random() < wanted - int(wanted) else 0)
            if count:
                c.unit(lambda s, d=day, n=count: _one_day(c, s, d, n))  # type: ignore[misc]
        day += timedelta(days=1)
        if day.day == 1:
            print(
                f"  {c.code}: {day - timedelta(days=1):%b %Y} done, {c.requests} requests",
                file=sys.stderr,
                flush=True,
            )


def _one_day(c: Region, session: Session, day: date, count: int) -> None:
    for _ in range(count):
        made = _new_request(c, session, day)
        if made is not None:
            c.requests += 1
            _story(c, session, made, day)


def _new_request(c: Region, session: Session, day: date) -> tuple[int, str, str] | None:
    client_id, org, need_id, sf = c.rng.choice(c.clients)
    category = c.rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
    typical = CATEGORIES[category][3] * 100
    amount = c.rng.randint(typical // 2, typical * 3 // 2)
    data = demo_request(
        c.categories,
        c.suppliers,
        client_id=client_id,
        need_id=need_id,
        category=category,
        amount_cents=amount,
        needed_by=day + timedelta(days=c.rng.randint(5, 25)),
    )
    at = moment(day, 9)
    request_id = c.attempt(session, sf, lambda s, a: create_request(s, a, data, now=at).id)
    return None if request_id is None else (request_id, sf, c.email("tl", org))


def _act(
    c: Region,
    session: Session,
    who: str,
    request_id: int,
    action: Action,
    at: datetime,
    **extra: object,
) -> FundRequest | None:
    return c.attempt(
        session,
        who,
        lambda s, a: transition(s, a, request_id, action, now=at, **extra),  # type: ignore[arg-type]
    )


def _approve_all(c: Region, session: Session, request_id: int, at: datetime) -> bool:
    """Walk the chain: each step decided by one of its approvers who has not decided yet."""
    emails = {user_id: email for email, user_id in c.users.items()}
    decided: set[int] = set()
    request = session.get_one(FundRequest, request_id)
    for _ in range(8):
        if request.state != RequestState.PENDING:
            return request.state == RequestState.APPROVED
        choices = sorted(current_approvers(session, request) - decided - {request.requester_id})
        if not choices or choices[0] not in emails:
            return False
        acted = _act(c, session, emails[choices[0]], request_id, Action.APPROVE, at)
        if acted is None:
            return False
        decided.add(choices[0])
        request = acted
        at += timedelta(hours=3)
    return False


def _story(c: Region, session: Session, made: tuple[int, str, str], day: date) -> None:
    """The demo's mix of endings, by age: drafts and pending work near today, paid before."""
    request_id, owner, tl = made
    age = (c.today - day).days
    rng = c.rng
    first = moment(day, 10)
    if age < 2:
        if rng.random() < 0.5:
            _act(c, session, owner, request_id, Action.SUBMIT, first)
        return
    roll = rng.random()
    if roll < 0.04:
        _act(c, session, owner, request_id, Action.WITHDRAW, first)
        return
    _act(c, session, owner, request_id, Action.SUBMIT, first)
    decide = moment(day + timedelta(days=1), 11)
    if roll < 0.10:
        _act(c, session, tl, request_id, Action.REJECT, decide, reason="Another program can help")
        return
    if roll < 0.15:
        _act(c, session, tl, request_id, Action.SEND_BACK, decide, reason="Attach a quote")
        if age <= 10:
            return
        _act(c, session, owner, request_id, Action.RESUBMIT, decide + timedelta(days=2))
        decide += timedelta(days=3)
    elif roll < 0.20:
        _act(c, session, tl, request_id, Action.REQUEST_INFO, decide, reason="Housing fund?")
        if age <= 7:
            return
        _act(
            c,
            session,
            owner,
            request_id,
            Action.RESPOND,
            decide + timedelta(days=1),
            reason="Declined last month",
        )
        decide += timedelta(days=2)
    if age < 5 and rng.random() < 0.5:
        return  # still with its approvers
    if not _approve_all(c, session, request_id, decide):
        return
    pay_at = decide + timedelta(days=rng.randint(2, 6))
    if pay_at.astimezone(ZONE).date() >= c.today:
        return
    if roll > 0.975:
        _act(c, session, c.email("pm"), request_id, Action.CANCEL, pay_at, reason="Moved away")
    elif roll > 0.955 or age < 8:
        pass  # approved, waiting for an invoice (the older ones expire on the timer)
    elif roll > 0.935:
        _pay(c, session, request_id, pay_at, part=True)
        if age > 30:
            close_at = pay_at + timedelta(days=14)
            _act(c, session, c.email("fin"), request_id, Action.CLOSE, close_at, reason="Done")
    elif _pay(c, session, request_id, pay_at) and age > 40 and rng.random() < 0.02:
        _refund(c, session, request_id, pay_at + timedelta(days=10))


def _pay(c: Region, session: Session, request_id: int, at: datetime, *, part: bool = False) -> bool:
    request = session.get_one(FundRequest, request_id)
    payment = invoice_payment(request, f"INV-{c.code}-{request.number:05d}", at, part=part)
    return _act(c, session, c.email("fin"), request_id, Action.PAY, at, payment=payment) is not None


def _refund(c: Region, session: Session, request_id: int, at: datetime) -> None:
    payment = (
        session.execute(select(Payment).where(Payment.request_id == request_id)).scalars().first()
    )
    if payment is None or at.astimezone(ZONE).date() > c.today:
        return
    amount = max(payment.charged_cents // 4, 100)
    c.attempt(
        session,
        c.email("fin"),
        lambda s, a: record_refund(
            s,
            a,
            payment.id,
            amount_cents=amount,
            received_on=at.astimezone(ZONE).date(),
            reference=f"Credit note CN-{request_id}",
            now=at,
        ),
    )
