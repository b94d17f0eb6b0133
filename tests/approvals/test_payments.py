"""Paying against approvals: GST split, part payments, tolerance, duplicates and SoD 3."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from approvals.errors import DuplicateError, InvalidInputError, NotAllowedError
from approvals.lifecycle.payments import PaymentInput
from approvals.models import RequestException
from ledger import get_balance, verify
from tests.support.world import A, Desk


def approved(desk: Desk, amount: int, gst: int = 0) -> int:
    request_id = desk.submitted(amount=amount, gst=gst)
    desk.act("tl1", request_id, A.APPROVE)
    return request_id


def paying(
    invoice: str, inc: int, gst: int = 0, final: bool = False, on: date | None = None
) -> PaymentInput:
    return PaymentInput(invoice, inc, gst, on or date(2026, 11, 20), final)


def balances(desk: Desk) -> dict[str, int]:
    with desk.world.factory() as session:
        return {
            code: get_balance(session, desk.world.code, code).posted
            for code in ("bank", "gst_receivable", "org:NGO1", "client:C-0001")
        }


def test_a_payment_with_gst_charges_funds_ex_gst_and_books_the_gst(desk: Desk) -> None:
    request_id = approved(desk, 8_800, 800)
    before = balances(desk)
    paid = desk.act("fin", request_id, A.PAY, payment=paying("INV-1", 8_800, 800))
    assert paid.state == "paid" and paid.paid_cents == 8_000
    after = balances(desk)
    assert after["bank"] == before["bank"] - 8_800
    assert after["gst_receivable"] == before["gst_receivable"] + 800
    assert after["org:NGO1"] == before["org:NGO1"] - 8_000 and after["client:C-0001"] == 0
    assert desk.envelope() == (292_000, 0)
    with desk.world.factory() as session:
        assert verify(session, desk.world.code) == []


def test_a_part_payment_keeps_the_rest_reserved_until_paid_or_closed(desk: Desk) -> None:
    request_id = approved(desk, 20_000)
    assert desk.act("fin", request_id, A.PAY, payment=paying("INV-2", 5_000)).state == "part_paid"
    assert desk.envelope() == (280_000, 15_000)
    assert desk.act("fin", request_id, A.PAY, payment=paying("INV-3", 5_000)).state == "part_paid"
    with pytest.raises(InvalidInputError, match="reason"):
        desk.act("fin", request_id, A.CLOSE)
    assert (
        desk.act("fin", request_id, A.CLOSE, reason="Client no longer needs the rest").state
        == "paid"
    )
    assert desk.envelope() == (290_000, 0)


def test_a_final_payment_below_the_approval_releases_the_remainder(desk: Desk) -> None:
    request_id = approved(desk, 20_000)
    assert (
        desk.act("fin", request_id, A.PAY, payment=paying("INV-4", 18_000, final=True)).state
        == "paid"
    )
    assert desk.envelope() == (282_000, 0)


def test_paying_a_little_above_approval_is_allowed_and_recorded(desk: Desk) -> None:
    request_id = approved(desk, 10_000)
    assert (
        desk.act("fin", request_id, A.PAY, payment=paying("INV-5", 12_000)).state == "paid"
    )  # $20 tolerance
    assert desk.envelope() == (288_000, 0)
    with desk.world.factory() as session:
        kinds = (
            session.execute(
                select(RequestException.kind).where(RequestException.request_id == request_id)
            )
            .scalars()
            .all()
        )
    assert "paid_above_approved" in kinds


def test_paying_beyond_the_tolerance_needs_a_new_approval(desk: Desk) -> None:
    request_id = approved(desk, 10_000)
    before = balances(desk)
    with pytest.raises(InvalidInputError, match="tolerance of \\$20.00"):
        desk.act("fin", request_id, A.PAY, payment=paying("INV-6", 12_001))
    assert balances(desk) == before and desk.state(request_id) == "approved"


def test_the_same_invoice_is_never_paid_twice(desk: Desk) -> None:
    first = approved(desk, 5_000)
    second = approved(desk, 6_000)
    desk.act("fin", first, A.PAY, payment=paying("INV-7", 5_000))
    with pytest.raises(DuplicateError, match="already been paid"):
        desk.act("fin", second, A.PAY, payment=paying("INV-7", 6_000))


@pytest.mark.parametrize("who", ["tl1", "sf1", "pm", "auditor"])
def test_only_finance_records_payments(desk: Desk, who: str) -> None:
    request_id = approved(desk, 5_000)
    with pytest.raises(NotAllowedError):
        desk.act(who, request_id, A.PAY, payment=paying("INV-8", 5_000))


def test_whoever_approved_a_request_does_not_pay_it(desk: Desk) -> None:
    request_id = desk.submitted(amount=250_000)  # TL, PM, then FIN_MGR
    for who in ("tl1", "pm", "finmgr"):
        desk.act(who, request_id, A.APPROVE)
    with pytest.raises(NotAllowedError, match="someone else must record"):
        desk.act("finmgr", request_id, A.PAY, payment=paying("INV-9", 250_000))
    assert desk.act("fin", request_id, A.PAY, payment=paying("INV-9", 250_000)).state == "paid"


@pytest.mark.parametrize(
    ("payment", "field"),
    [
        (paying("", 5_000), "invoice_number"),
        (paying("INV-10", 0), "inc_gst_cents"),
        (paying("INV-10", 5_000, gst=-1), "gst_cents"),
        (paying("INV-10", 5_000, gst=4_000), "gst_cents"),
        (paying("INV-10", 5_000, on=date(2026, 11, 20) + timedelta(days=5)), "paid_on"),
    ],
)
def test_bad_payment_details_are_refused_by_field(
    desk: Desk, payment: PaymentInput, field: str
) -> None:
    request_id = approved(desk, 5_000)
    with pytest.raises(InvalidInputError) as raised:
        desk.act("fin", request_id, A.PAY, payment=payment)
    assert field in raised.value.fields
    assert desk.state(request_id) == "approved"


def test_a_supplier_refund_returns_through_the_client_to_the_envelope(desk: Desk) -> None:
    from approvals.lifecycle.refunds import record_refund
    from approvals.models import Payment
    from tests.support.world import as_

    request_id = approved(desk, 8_800, 800)
    desk.act("fin", request_id, A.PAY, payment=paying("INV-R", 8_800, 800))
    with desk.world.factory() as session:
        payment_id = session.execute(
            select(Payment.id).where(Payment.request_id == request_id)
        ).scalar_one()
    before = balances(desk)
    as_(
        desk.world,
        "fin",
        lambda s, a: record_refund(
            s,
            a,
            payment_id,
            amount_cents=3_000,
            received_on=date(2026, 11, 20),
            reference="CN-55",
            now=desk.world.now,
        ),
    )
    after = balances(desk)
    assert (
        after["bank"] == before["bank"] + 3_000 and after["org:NGO1"] == before["org:NGO1"] + 3_000
    )
    assert after["client:C-0001"] == 0
    with pytest.raises(InvalidInputError, match=r"At most \$50.00"):
        as_(
            desk.world,
            "fin",
            lambda s, a: record_refund(
                s,
                a,
                payment_id,
                amount_cents=5_001,
                received_on=date(2026, 11, 20),
                reference="CN-56",
                now=desk.world.now,
            ),
        )
    with pytest.raises(NotAllowedError):
        as_(
            desk.world,
            "tl1",
            lambda s, a: record_refund(
                s,
                a,
                payment_id,
                amount_cents=1,
                received_on=date(2026, 11, 20),
                reference="CN-57",
                now=desk.world.now,
            ),
        )
    with desk.world.factory() as session:
        assert verify(session, desk.world.code) == []
