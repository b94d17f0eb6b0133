"""Money rules raced by twenty real connections: refunds, client and category caps, invoices.

Each race releases its racers together (a barrier) on their own PostgreSQL connections; afterwards
the ledger verifies clean, the rule holds exactly, and every loser got a domain error, never a
database error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from approvals.errors import CapExceededError, DuplicateError, InvalidInputError
from approvals.lifecycle.payments import PaymentInput
from approvals.lifecycle.refunds import record_refund
from approvals.lifecycle.states import Action
from approvals.lifecycle.transitions import transition
from approvals.models import Category, Consortium, FundRequest, Payment, Refund
from ledger import verify
from tests.support.world import A, Desk, race

pytestmark = pytest.mark.postgres
RACERS = 20


def _ledger_is_clean(desk: Desk) -> None:
    with desk.world.factory() as session:
        assert verify(session, desk.world.code) == []


def _as(
    desk: Desk, who: str, work: Callable[[Session, object], object]
) -> Callable[[Session], object]:
    return lambda s: work(s, desk.world.actor(s, who))


def test_refunds_raced_on_one_payment_never_refund_more_than_was_paid(
    pg_desk: Desk, postgres_migrated: str
) -> None:
    desk = pg_desk
    payment_id = desk.paid(1_700, invoice="INV-R1")
    available_before = desk.envelope()[0]
    works = [
        _as(
            desk,
            "fin",
            lambda s, a, i=i: (
                record_refund(
                    s,
                    a,  # type: ignore[arg-type]
                    payment_id,
                    amount_cents=500,
                    received_on=date(2026, 11, 20),
                    reference=f"CN-{i}",
                    now=desk.world.now,
                ).id
            ),
        )
        for i in range(RACERS)
    ]
    outcomes = race(postgres_migrated, works)
    won = [o for o in outcomes if isinstance(o, int)]
    lost = [o for o in outcomes if not isinstance(o, int)]
    assert len(won) == 3, outcomes  # $15 of the $17 paid; a fourth $5 would pass it
    assert all(isinstance(o, InvalidInputError) for o in lost), lost
    with desk.world.factory() as session:
        refunds = session.execute(
            select(Refund.amount_cents, Refund.ledger_transaction_id).where(
                Refund.payment_id == payment_id
            )
        ).all()
    assert sum(cents for cents, _ in refunds) == 1_500
    assert len({txn for _, txn in refunds}) == len(refunds) == 3  # one ledger transaction each
    assert desk.envelope()[0] == available_before + 1_500
    _ledger_is_clean(desk)


@pytest.mark.parametrize("cap", ["client", "category"])
def test_final_approvals_raced_for_one_client_never_pass_the_cap(
    pg_desk: Desk, postgres_migrated: str, cap: str
) -> None:
    desk = pg_desk
    with desk.world.factory.begin() as session:  # a $600 cap, STOP
        if cap == "client":
            session.execute(
                update(Consortium)
                .where(Consortium.id == desk.world.consortium_id)
                .values(client_fy_cap_cents=60_000, cap_mode="stop")
            )
        else:
            session.execute(
                update(Category)
                .where(Category.id == desk.categories["groceries"])
                .values(client_fy_cap_cents=60_000)
            )
    first = desk.submitted(amount=50_000)
    desk.act("tl1", first, A.APPROVE)  # the client stands at $500
    requests = [desk.submitted(amount=2_000) for _ in range(RACERS)]
    works = [
        _as(
            desk,
            "tl1",
            lambda s, a, r=r: transition(s, a, r, Action.APPROVE, now=desk.world.now).state,  # type: ignore[arg-type]
        )
        for r in requests
    ]
    outcomes = race(postgres_migrated, works)
    assert outcomes.count("approved") == 5, outcomes  # $500 + 5 x $20 = the $600 cap
    assert all(isinstance(o, CapExceededError) for o in outcomes if o != "approved"), outcomes
    with desk.world.factory() as session:
        total = session.execute(
            select(func.sum(FundRequest.approved_cents)).where(
                FundRequest.client_id == desk.client_id,
                FundRequest.state == "approved",
            )
        ).scalar_one()
    assert total == 60_000
    _ledger_is_clean(desk)


def test_one_invoice_number_paid_on_many_requests_at_once_is_paid_once(
    pg_desk: Desk, postgres_migrated: str
) -> None:
    desk = pg_desk
    requests = []
    for _ in range(RACERS):
        request_id = desk.submitted(amount=1_000)
        desk.act("tl1", request_id, A.APPROVE)
        requests.append(request_id)
    payment = PaymentInput("INV-SAME", 1_000, 0, date(2026, 11, 20))
    works = [
        _as(
            desk,
            "fin",
            lambda s, a, r=r: (
                transition(  # type: ignore[arg-type]
                    s, a, r, Action.PAY, now=desk.world.now, payment=payment
                ).state
            ),
        )
        for r in requests
    ]
    outcomes = race(postgres_migrated, works)
    assert outcomes.count("paid") == 1, outcomes
    losers = [o for o in outcomes if o != "paid"]
    assert all(isinstance(o, DuplicateError) for o in losers), losers
    with desk.world.factory() as session:
        assert (
            session.execute(
                select(func.count())
                .select_from(Payment)
                .where(
                    Payment.supplier_id == desk.supplier_id, Payment.invoice_number == "INV-SAME"
                )
            ).scalar_one()
            == 1
        )
    _ledger_is_clean(desk)
