"""The scheduler's timers: expiry (including 30 June), reminders, escalation, draft archiving."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from approvals.errors import NotAllowedError
from approvals.lifecycle.timers import TimerReport, mark_carried_over, run_timers
from approvals.models import FundRequest, Notification, RequestException, StepApprover
from ledger import verify
from ledger.db import run_in_transaction
from tests.support.world import A, Desk, as_


def run(desk: Desk, at: datetime) -> TimerReport:
    return run_in_transaction(
        desk.world.factory, lambda s: run_timers(s, desk.world.consortium_id, at)
    )


def approved(desk: Desk, at: datetime | None = None, amount: int = 10_000) -> int:
    request_id = desk.submitted(amount=amount)
    desk.act("tl1", request_id, A.APPROVE, at=at)
    return request_id


def test_an_unpaid_approval_expires_and_releases_its_money_once(desk: Desk) -> None:
    request_id = approved(desk)
    with desk.world.factory() as session:
        expires_at = session.get_one(FundRequest, request_id).expires_at
    assert expires_at is not None
    assert run(desk, expires_at - timedelta(minutes=1)).expired == []
    assert run(desk, expires_at).expired == [request_id]
    assert desk.state(request_id) == "expired" and desk.envelope() == (300_000, 0)
    assert run(desk, expires_at + timedelta(days=1)).expired == []
    with desk.world.factory() as session:
        assert verify(session, desk.world.code) == []


def test_approvals_of_a_finished_financial_year_expire_unless_carried_over(desk: Desk) -> None:
    june = datetime(2026, 6, 20, 2, 0, tzinfo=UTC)
    lapsing, kept = approved(desk, at=june), approved(desk, at=june, amount=20_000)
    as_(desk.world, "fin", lambda s, a: mark_carried_over(s, a, kept, now=june))
    first_of_july = datetime(2026, 6, 30, 15, 0, tzinfo=UTC)  # 1 July, 1 am in Sydney
    assert run(desk, first_of_july - timedelta(hours=2)).expired == []  # still 30 June locally
    assert run(desk, first_of_july).expired == [lapsing]
    assert (desk.state(lapsing), desk.state(kept)) == ("expired", "approved")
    assert desk.envelope() == (280_000, 20_000)


def test_only_finance_carries_approvals_over(desk: Desk) -> None:
    request_id = approved(desk)
    with pytest.raises(NotAllowedError):
        as_(desk.world, "pm", lambda s, a: mark_carried_over(s, a, request_id, now=desk.world.now))


def test_nobody_but_the_scheduler_expires_an_approval(desk: Desk) -> None:
    request_id = approved(desk)
    with pytest.raises(NotAllowedError, match="expire by themselves"):
        desk.act("pm", request_id, A.EXPIRE)


def test_reminders_go_to_the_steps_approvers_and_a_breach_escalates(desk: Desk) -> None:
    world = desk.world
    request_id = desk.submitted()  # Friday 20 November 2026, TL step, SLA 2 business days
    monday = world.now + timedelta(days=3)
    assert run(desk, monday).reminded == [request_id]
    assert run(desk, monday).reminded == []  # once
    thursday = world.now + timedelta(days=6)  # past Tuesday's deadline
    assert run(desk, thursday).escalated == [request_id]
    with world.factory() as session:
        approvers = set(session.execute(select(StepApprover.user_id, StepApprover.via)).all())
        inbox = session.execute(
            select(Notification.user_id, Notification.kind).where(
                Notification.request_id == request_id
            )
        ).all()
        kinds = (
            session.execute(
                select(RequestException.kind).where(RequestException.request_id == request_id)
            )
            .scalars()
            .all()
        )
    assert (world.users["pm"], "escalation") in approvers
    assert (world.users["tl1"], "reminder") in inbox and (world.users["pm"], "escalated") in inbox
    assert all(user != world.users["sf2"] for user, _kind in inbox)
    assert "escalated" in kinds
    assert desk.act("pm", request_id, A.APPROVE, at=thursday).state == "approved"


def test_the_clock_stops_while_information_is_requested(desk: Desk) -> None:
    request_id = desk.submitted()
    desk.act("tl1", request_id, A.REQUEST_INFO, reason="Which store?")
    assert run(desk, desk.world.now + timedelta(days=10)).escalated == []


def test_drafts_left_alone_are_archived(desk: Desk) -> None:
    draft = desk.new()
    assert run(desk, desk.world.now + timedelta(days=89)).archived == []
    assert run(desk, desk.world.now + timedelta(days=91)).archived == [draft]
    assert desk.state(draft) == "withdrawn"


@pytest.mark.parametrize(
    ("approved_on", "needed_by", "expected_utc"),
    [
        # needed-by + 14 days ends 4 October 2026, when daylight saving starts: 11 hours ahead.
        (
            datetime(2026, 9, 1, 1, 0, tzinfo=UTC),
            date(2026, 9, 20),
            datetime(2026, 10, 4, 12, 59, 59, tzinfo=UTC),
        ),
        # ... and on 4 April 2027, the day it ends: 10 hours ahead again.
        (
            datetime(2027, 3, 1, 1, 0, tzinfo=UTC),
            date(2027, 3, 21),
            datetime(2027, 4, 4, 13, 59, 59, tzinfo=UTC),
        ),
        # 30 days after approval is later than needed-by plus 14 days.
        (
            datetime(2026, 11, 20, 1, 0, tzinfo=UTC),
            date(2026, 11, 21),
            datetime(2026, 12, 20, 1, 0, tzinfo=UTC),
        ),
    ],
)
def test_expiry_is_the_end_of_a_sydney_day_across_daylight_saving(
    desk: Desk, approved_on: datetime, needed_by: date, expected_utc: datetime
) -> None:
    request_id = desk.new(needed_by=needed_by, at=approved_on)
    desk.act("sf1", request_id, A.SUBMIT, at=approved_on)
    desk.act("tl1", request_id, A.APPROVE, at=approved_on)
    with desk.world.factory() as session:
        assert session.get_one(FundRequest, request_id).expires_at == expected_utc


def test_a_part_paid_request_past_its_expiry_is_closed_and_its_remainder_released(
    desk: Desk,
) -> None:
    from approvals.lifecycle.payments import PaymentInput

    request_id = approved(desk, amount=20_000)
    desk.act("fin", request_id, A.PAY, payment=PaymentInput("INV-T1", 5_000, 0, date(2026, 11, 20)))
    with desk.world.factory() as session:
        expires_at = session.get_one(FundRequest, request_id).expires_at
    assert expires_at is not None
    assert run(desk, expires_at).expired == [request_id]
    assert desk.state(request_id) == "paid" and desk.envelope() == (295_000, 0)
