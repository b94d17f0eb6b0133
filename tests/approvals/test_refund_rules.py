"""A refund is one row and one ledger transaction, and refunds never exceed their payment."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from approvals.errors import DuplicateError, InvalidInputError
from approvals.lifecycle.refunds import record_refund
from approvals.models import Refund
from ledger import verify
from ledger.models import books, transactions
from tests.support.world import Desk, as_


def refund(desk: Desk, payment_id: int, cents: int, reference: str) -> int:
    return as_(
        desk.world,
        "fin",
        lambda s, a: (
            record_refund(
                s,
                a,
                payment_id,
                amount_cents=cents,
                received_on=date(2026, 11, 20),
                reference=reference,
                now=desk.world.now,
            ).id
        ),
    )


def test_the_same_refund_recorded_again_is_refused_and_leaves_one_row_and_one_transaction(
    desk: Desk,
) -> None:
    payment_id = desk.paid(5_000)
    refund(desk, payment_id, 1_000, "CN-1")
    for _ in range(2):
        with pytest.raises(DuplicateError, match="CN-1"):
            refund(desk, payment_id, 1_000, "CN-1")
    with desk.world.factory() as session:
        rows = session.execute(
            select(Refund.ledger_transaction_id).where(Refund.payment_id == payment_id)
        ).all()
        memos = session.execute(
            select(func.count())
            .select_from(transactions.join(books, books.c.id == transactions.c.book_id))
            .where(books.c.code == desk.world.code, transactions.c.memo.like("Refund on %: CN-1"))
        ).scalar_one()
        assert verify(session, desk.world.code) == []
    assert len(rows) == 1 and memos == 1


def test_the_database_refuses_refunds_beyond_their_payment_and_a_transaction_refunded_twice(
    desk: Desk,
) -> None:
    payment_id = desk.paid(1_700)
    refund(desk, payment_id, 1_000, "CN-1")
    with desk.world.factory() as session:
        first = session.execute(select(Refund).where(Refund.payment_id == payment_id)).scalar_one()
        written_underneath = {
            "payment_id": payment_id,
            "received_on": first.received_on,
            "recorded_by_id": first.recorded_by_id,
            "recorded_at": first.recorded_at,
        }
    for extra in (
        {"amount_cents": 701, "reference": "CN-2", "ledger_transaction_id": 10**9},
        {"amount_cents": 100, "reference": "CN-1", "ledger_transaction_id": 10**9},
        {
            "amount_cents": 100,
            "reference": "CN-3",
            "ledger_transaction_id": first.ledger_transaction_id,
        },
    ):
        with pytest.raises(DBAPIError), desk.world.factory.begin() as session:
            session.add(Refund(**written_underneath, **extra))
            session.flush()
    with desk.world.factory() as session:
        assert (
            session.execute(
                select(func.count()).select_from(Refund).where(Refund.payment_id == payment_id)
            ).scalar_one()
            == 1
        )


def test_refunds_add_up_to_the_payment_and_no_further(desk: Desk) -> None:
    payment_id = desk.paid(1_700)
    for i in range(3):
        refund(desk, payment_id, 500, f"CN-{i}")
    with pytest.raises(InvalidInputError, match=r"At most \$2.00"):
        refund(desk, payment_id, 500, "CN-3")
    refund(desk, payment_id, 200, "CN-4")
    with desk.world.factory() as session:
        assert (
            session.execute(
                select(func.sum(Refund.amount_cents)).where(Refund.payment_id == payment_id)
            ).scalar_one()
            == 1_700
        )
