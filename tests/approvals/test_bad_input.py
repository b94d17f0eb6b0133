"""Bad input to any service raises a precise error naming the field, and changes nothing.

Each case is one call a form or the API could make with a wrong value: amounts, dates, ABNs,
oversized text, unknown ids. The whole database is fingerprinted (row counts of every table)
before and after, so a partial write anywhere shows up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.consortium.catalogue import add_category, add_supplier
from approvals.consortium.clients import add_need, enrol_client
from approvals.consortium.people import create_user
from approvals.consortium.setup import add_partner
from approvals.errors import ApprovalError, InvalidInputError, NotFoundError
from approvals.funds import allocate, receive_grant
from approvals.lifecycle.amending import amend_amount
from approvals.lifecycle.payments import PaymentInput
from approvals.lifecycle.requests import RequestInput, create_request
from approvals.lifecycle.transitions import transition
from approvals.policy.delegations import delegate
from ledger.db import Base
from ledger.errors import DomainError
from tests.support.world import A, Desk, as_

LONG = "x" * 5_001
UNKNOWN = 987_654_321


def _fingerprint(desk: Desk) -> dict[str, int]:
    with desk.world.factory() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def _request(desk: Desk, **changes: object) -> RequestInput:
    base = RequestInput(
        client_id=desk.client_id,
        need_id=desk.need_id,
        category_id=desk.categories["groceries"],
        amount_cents=5_000,
        gst_cents=0,
        supplier_id=desk.supplier_id,
        purpose="Groceries",
        no_other_channel="Payment delayed",
        needed_by=date(2026, 12, 1),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


Call = Callable[[Desk, Session, Actor], object]


def _new_request(**changes: object) -> tuple[str, Call]:
    return "sf1", lambda d, s, a: create_request(s, a, _request(d, **changes), now=d.world.now)


CASES: dict[str, tuple[tuple[str, Call], type[Exception], str]] = {
    "request: zero amount": (_new_request(amount_cents=0), InvalidInputError, "amount_cents"),
    "request: negative amount": (
        _new_request(amount_cents=-300),
        InvalidInputError,
        "amount_cents",
    ),
    "request: float amount": (_new_request(amount_cents=12.5), InvalidInputError, "amount_cents"),
    "request: GST above a tenth": (_new_request(gst_cents=2_000), InvalidInputError, "gst_cents"),
    "request: oversized purpose": (_new_request(purpose=LONG), InvalidInputError, "purpose"),
    "request: empty purpose": (_new_request(purpose="   "), InvalidInputError, "purpose"),
    "request: oversized why": (_new_request(no_other_channel=LONG), InvalidInputError, ""),
    "request: unknown client": (_new_request(client_id=UNKNOWN), NotFoundError, ""),
    "request: unknown need": (_new_request(need_id=UNKNOWN), InvalidInputError, "need_id"),
    "request: unknown category": (
        _new_request(category_id=UNKNOWN),
        InvalidInputError,
        "category_id",
    ),
    "request: unknown supplier": (
        _new_request(supplier_id=UNKNOWN),
        InvalidInputError,
        "supplier_id",
    ),
    "request: needed long ago": (
        _new_request(needed_by=date(2020, 1, 1)),
        InvalidInputError,
        "needed_by",
    ),
    "transition: unknown request": (
        ("tl1", lambda d, s, a: transition(s, a, UNKNOWN, A.APPROVE, now=d.world.now)),
        NotFoundError,
        "",
    ),
    "client: bad code": (
        (
            "sf1",
            lambda d, s, a: enrol_client(
                s,
                a,
                code="not a code!",
                initials="AB",
                organisation_id=d.world.organisations["NGO1"],
                support_facilitator_id=d.world.users["sf1"],
                now=d.world.now,
            ),
        ),
        InvalidInputError,
        "code",
    ),
    "client: oversized initials": (
        (
            "sf1",
            lambda d, s, a: enrol_client(
                s,
                a,
                code="C-0999",
                initials=LONG,
                organisation_id=d.world.organisations["NGO1"],
                support_facilitator_id=d.world.users["sf1"],
                now=d.world.now,
            ),
        ),
        InvalidInputError,
        "initials",
    ),
    "need: unknown domain": (
        ("sf1", lambda d, s, a: add_need(s, a, d.client_id, domain="x", goal="g", now=d.world.now)),
        InvalidInputError,
        "domain",
    ),
    "need: oversized goal": (
        (
            "sf1",
            lambda d, s, a: add_need(
                s, a, d.client_id, domain="housing", goal=LONG, now=d.world.now
            ),
        ),
        InvalidInputError,
        "goal",
    ),
    "need: unknown client": (
        (
            "sf1",
            lambda d, s, a: add_need(s, a, UNKNOWN, domain="housing", goal="g", now=d.world.now),
        ),
        NotFoundError,
        "",
    ),
    "supplier: ABN checksum": (
        (
            "fin",
            lambda d, s, a: add_supplier(
                s, a, name="Shop", abn="51 824 753 557", gst_registered=True, now=d.world.now
            ),
        ),
        InvalidInputError,
        "abn",
    ),
    "supplier: oversized name": (
        (
            "fin",
            lambda d, s, a: add_supplier(
                s, a, name=LONG, abn=None, gst_registered=False, now=d.world.now
            ),
        ),
        InvalidInputError,
        "name",
    ),
    "partner: ABN checksum": (
        (
            "admin",
            lambda d, s, a: add_partner(
                s, a, code="NGO9", name="Nine", abn="12 345 678 901", now=d.world.now
            ),
        ),
        InvalidInputError,
        "abn",
    ),
    "category: oversized name": (
        (
            "admin",
            lambda d, s, a: add_category(
                s,
                a,
                code="misc",
                name=LONG,
                gl_code="6-1000",
                tax_code="GST on Expenses",
                now=d.world.now,
            ),
        ),
        InvalidInputError,
        "name",
    ),
    "user: malformed e-mail": (
        (
            "admin",
            lambda d, s, a: create_user(
                s,
                a,
                email="not-an-email",
                display_name="X",
                password="long enough pass",
                now=d.world.now,
            ),
        ),
        InvalidInputError,
        "email",
    ),
    "delegation: unknown delegate": (
        (
            "tl1",
            lambda d, s, a: delegate(
                s,
                a,
                to_user_id=UNKNOWN,
                starts_on=date(2026, 12, 1),
                ends_on=date(2026, 12, 5),
                now=d.world.now,
            ),
        ),
        ApprovalError,
        "",
    ),
    "delegation: ends before it starts": (
        (
            "tl1",
            lambda d, s, a: delegate(
                s,
                a,
                to_user_id=d.world.users["tl2"],
                starts_on=date(2026, 12, 5),
                ends_on=date(2026, 12, 1),
                now=d.world.now,
            ),
        ),
        InvalidInputError,
        "",
    ),
    "grant: zero": (
        (
            "fin",
            lambda d, s, a: receive_grant(
                s, a, amount_cents=0, on=d.world.today, memo="Grant", key=None, now=d.world.now
            ),
        ),
        Exception,
        "",
    ),
    "allocation: unknown partner": (
        (
            "pm",
            lambda d, s, a: allocate(
                s,
                a,
                organisation="NOPE",
                amount_cents=100,
                on=d.world.today,
                memo="m",
                key=None,
                now=d.world.now,
            ),
        ),
        NotFoundError,
        "",
    ),
    "allocation: more than the pool": (
        (
            "pm",
            lambda d, s, a: allocate(
                s,
                a,
                organisation="NGO1",
                amount_cents=10**12,
                on=d.world.today,
                memo="m",
                key=None,
                now=d.world.now,
            ),
        ),
        Exception,
        "",
    ),
}


def test_bad_input_is_refused_precisely_and_changes_nothing(desk: Desk) -> None:
    """Every case against one desk: each call fails in its own transaction, so none leaves a
    trace the next could see (the fingerprint is checked after each)."""
    before = _fingerprint(desk)
    wrong = []
    for case in sorted(CASES):
        (who, call), error, field = CASES[case]
        try:
            as_(desk.world, who, lambda s, a, call=call: call(desk, s, a))  # type: ignore[misc]
        except DomainError as raised:
            if not isinstance(raised, error) or not str(raised).strip():
                wrong.append(f"{case}: {raised!r}")
            elif field and field not in raised.fields:
                wrong.append(f"{case}: no message for {field} in {raised.fields}")
        else:
            wrong.append(f"{case}: accepted")
        if _fingerprint(desk) != before:
            wrong.append(f"{case}: changed the database")
            before = _fingerprint(desk)
    assert not wrong, wrong
    assert len(CASES) >= 25


def test_oversized_reasons_and_payment_text_change_nothing(desk: Desk) -> None:
    request_id = desk.submitted()
    before = _fingerprint(desk)
    with pytest.raises(InvalidInputError) as raised:
        desk.act("tl1", request_id, A.REJECT, reason=LONG)
    assert "reason" in raised.value.fields
    desk.act("tl1", request_id, A.APPROVE)
    after_approval = _fingerprint(desk)
    assert after_approval != before
    for payment in (
        PaymentInput(LONG, 10_000, 0, date(2026, 11, 20), False),
        PaymentInput("INV-1", 10_000, 0, date(1999, 1, 1), False),
        PaymentInput("INV-1", -5, 0, date(2026, 11, 20), False),
    ):
        with pytest.raises(InvalidInputError):
            desk.act("fin", request_id, A.PAY, payment=payment)
    with pytest.raises(ApprovalError):
        as_(
            desk.world,
            "tl1",
            lambda s, a: amend_amount(
                s, a, request_id, amount_cents=-1, gst_cents=0, now=desk.world.now
            ),
        )
    assert _fingerprint(desk) == after_approval
