"""The finance pages over the demo: what awaits payment, and every form that moves money.

Each test makes the request it pays (PostgreSQL shares one demo database between tests) and
compares the ledger before and after rather than counting anything global.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor, load_actor
from approvals.gst import gst_in_inclusive
from approvals.lifecycle.requests import RequestInput, create_request
from approvals.lifecycle.states import Action
from approvals.lifecycle.transitions import transition
from approvals.models import (
    Category,
    Client,
    Consortium,
    FundRequest,
    Need,
    Payment,
    Supplier,
    User,
)
from demo.base import CODE
from ledger.db import run_in_transaction
from ledger.errors import DomainError
from ledger.money import format_cents
from ledger.queries import get_balance
from ledger.values import Balance
from tests.support.clock import CLOCK

T = TypeVar("T")
FIN, FIN_MGR = "fin@lead.demo", "finmgr@lead.demo"
APPROVERS = ("tl@ngo1.demo", "pm@lead.demo", "finmgr@lead.demo", "ceo@lead.demo")
FINANCE_PAGES = (
    "/finance/",
    "/finance/payments",
    "/finance/grants/new",
    "/finance/gst-refund",
    "/finance/return",
    "/finance/suppliers",
    "/finance/suppliers/new",
)


def today() -> str:
    return CLOCK.today.isoformat()


def page(response: Any) -> str:
    return str(response.get_data(as_text=True))


def as_user(app: Flask, email: str, work: Callable[[Session, Actor], T]) -> T:
    def unit(session: Session) -> T:
        user_id = session.execute(select(User.id).where(User.email == email)).scalar_one()
        consortium_id = session.execute(
            select(Consortium.id).where(Consortium.code == CODE)
        ).scalar_one()
        who = load_actor(
            session,
            user_id=user_id,
            consortium_id=consortium_id,
            today=CLOCK.today,
        )
        return work(session, who)

    return run_in_transaction(app.extensions["flexpool.sessions"], unit)


def approved_request(app: Flask, amount_cents: int = 2_200, category: str = "travel") -> int:
    """A new NGO1 request, submitted by its SF and approved through its whole chain."""

    def draft(session: Session, who: Actor) -> int:
        spent = (
            select(func.coalesce(func.sum(FundRequest.amount_cents), 0))
            .where(FundRequest.client_id == Client.id)
            .scalar_subquery()
        )
        client, need = session.execute(
            select(Client.id, func.min(Need.id))
            .join(Need, Need.client_id == Client.id)
            .where(
                Client.support_facilitator_id == who.user_id,
                Client.status == "active",
                Need.status == "open",
            )
            .group_by(Client.id)
            .order_by(spent, Client.id)
        ).first() or (0, 0)  # the client with least spent so far, far from any cap
        category_id = session.execute(
            select(Category.id).where(Category.code == category)
        ).scalar_one()
        supplier = session.execute(
            select(Supplier).where(Supplier.name == "Valley Taxi Co-op")
        ).scalar_one()
        data = RequestInput(
            client_id=client,
            need_id=need,
            category_id=category_id,
            amount_cents=amount_cents,
            gst_cents=gst_in_inclusive(amount_cents),
            supplier_id=supplier.id,
            purpose="Taxi to the clinic",
            no_other_channel="No transport program covers this trip",
            needed_by=CLOCK.today + timedelta(days=10),
        )
        now = CLOCK.now()
        request = create_request(session, who, data, now=now)
        transition(session, who, request.id, Action.SUBMIT, now=now)
        return request.id

    request_id = as_user(app, "sf@ngo1.demo", draft)
    for _ in range(6):
        for email in APPROVERS:
            try:
                as_user(
                    app,
                    email,
                    lambda s, w: transition(s, w, request_id, Action.APPROVE, now=CLOCK.now()),
                )
            except DomainError:
                continue
        if load(app, request_id).state == "approved":
            return request_id
    raise AssertionError(f"request {request_id} was not approved: {load(app, request_id).state}")


def load(app: Flask, request_id: int) -> FundRequest:
    with app.extensions["flexpool.sessions"]() as session:
        found = session.get_one(FundRequest, request_id)
        session.expunge(found)
        return found


def balances(app: Flask, *accounts: str) -> dict[str, Balance]:
    with app.extensions["flexpool.sessions"]() as session:
        return {account: get_balance(session, CODE, account) for account in accounts}


def invoice() -> str:
    return f"INV-{uuid.uuid4().hex[:8]}"


def test_home_lists_what_awaits_payment_with_its_figures(app: Flask, login: Any) -> None:
    request_id = approved_request(app)
    response = login(FIN).get("/finance/")
    assert response.status_code == 200
    html = page(response)
    with app.extensions["flexpool.sessions"]() as session:
        waiting = session.execute(
            select(FundRequest.id).where(FundRequest.state.in_(("approved", "part_paid")))
        ).scalars()
        expected = set(waiting)
    shown = {int(found) for found in re.findall(r'<tr id="request-(\d+)">', html)}
    assert shown == expected and request_id in shown
    row = html.split(f'<tr id="request-{request_id}">', 1)[1].split("</tr>", 1)[0]
    request = load(app, request_id)
    assert f"R-{request.number:04d}" in row and "Valley Taxi Co-op" in row
    approved = request.approved_cents or 0
    assert [format_cents(approved), "$0.00", format_cents(approved)] == re.findall(
        r'<td class="money">([^<]+)</td>', row
    )
    assert request.needed_by.strftime("%d/%m/%Y") in row
    assert f'href="/finance/requests/{request_id}/pay"' in row
    bank = balances(app, "bank")["bank"]
    assert format_cents(bank.posted) in html


@pytest.mark.calendar
def test_part_then_final_payment_moves_the_money(app: Flask, login: Any) -> None:
    request_id = approved_request(app, 2_200)
    approved = load(app, request_id).approved_cents
    assert approved == 2_000  # GST credits are claimed: funds are charged ex-GST
    fin = login(FIN)
    assert fin.get(f"/finance/requests/{request_id}/pay").status_code == 200
    accounts = ("bank", "org:NGO1", "gst_receivable")
    before = balances(app, *accounts)
    response = fin.post(
        f"/finance/requests/{request_id}/pay",
        {
            "invoice_number": invoice(),
            "inc_gst_cents": "11.00",
            "gst_cents": "1.00",
            "paid_on": today(),
        },
    )
    assert response.status_code == 302, page(response)
    request = load(app, request_id)
    assert request.state == "part_paid" and request.paid_cents == 1_000
    after = balances(app, *accounts)
    assert after["bank"].posted == before["bank"].posted - 1_100
    assert after["gst_receivable"].posted == before["gst_receivable"].posted + 100
    assert after["org:NGO1"].posted == before["org:NGO1"].posted - 1_000
    assert after["org:NGO1"].held_out == before["org:NGO1"].held_out - 1_000
    assert "it is now part paid" in page(fin.get("/finance/"))
    final = fin.post(
        f"/finance/requests/{request_id}/pay",
        {
            "invoice_number": invoice(),
            "inc_gst_cents": "11",
            "gst_cents": "1",
            "paid_on": today(),
            "final": "1",
        },
    )
    assert final.status_code == 302
    assert load(app, request_id).state == "paid"
    assert balances(app, "org:NGO1")["org:NGO1"].held_out == before["org:NGO1"].held_out - 2_000
    gone = page(fin.get("/finance/"))
    assert f'<tr id="request-{request_id}">' not in gone
    assert "nothing to pay" in page(fin.get(f"/finance/requests/{request_id}/pay"))


@pytest.mark.calendar
def test_bad_payment_shows_each_problem_and_changes_nothing(app: Flask, login: Any) -> None:
    request_id = approved_request(app)
    fin = login(FIN)
    url = f"/finance/requests/{request_id}/pay"
    before = balances(app, "bank", "org:NGO1")
    typed = fin.post(
        url, {"invoice_number": "", "inc_gst_cents": "abc", "gst_cents": "-1", "paid_on": "soon"}
    )
    assert typed.status_code == 422
    html = page(typed)
    assert 'id="e-invoice_number">Required.' in html
    assert 'id="e-inc_gst_cents">The amount is not an amount in dollars and cents' in html
    assert 'id="e-gst_cents">The amount must not be negative' in html
    assert 'id="e-paid_on">A date like 2026-07-31.' in html
    future = (CLOCK.now() + timedelta(days=3)).date().isoformat()
    checked = fin.post(
        url,
        {
            "invoice_number": invoice(),
            "inc_gst_cents": "11.00",
            "gst_cents": "5.00",
            "paid_on": future,
        },
    )
    assert checked.status_code == 422
    html = page(checked)
    assert 'id="e-gst_cents">GST should be one eleventh' in html
    assert 'id="e-paid_on">The date it was paid: today or earlier' in html
    over = fin.post(
        url,
        {
            "invoice_number": invoice(),
            "inc_gst_cents": "99.00",
            "gst_cents": "9.00",
            "paid_on": today(),
        },
    )
    assert over.status_code == 422 and 'id="e-inc_gst_cents">More than approved.' in page(over)
    assert load(app, request_id).paid_cents == 0 and load(app, request_id).state == "approved"
    assert balances(app, "bank", "org:NGO1") == before


def test_an_invoice_is_paid_once_and_never_by_its_approver(app: Flask, login: Any) -> None:
    first, second = approved_request(app), approved_request(app)
    fin = login(FIN)
    number = invoice()
    data = {"invoice_number": number, "inc_gst_cents": "11", "gst_cents": "1", "paid_on": today()}
    assert fin.post(f"/finance/requests/{first}/pay", data).status_code == 302
    again = fin.post(f"/finance/requests/{second}/pay", data)
    assert again.status_code == 409
    assert 'id="e-invoice_number">Already paid.' in page(again)
    assert load(app, second).paid_cents == 0
    big = approved_request(app, 330_000)  # $3,000 ex-GST: the finance manager approves it
    refused = login(FIN_MGR).post(
        f"/finance/requests/{big}/pay",
        {
            "invoice_number": invoice(),
            "inc_gst_cents": "110",
            "gst_cents": "10",
            "paid_on": today(),
        },
    )
    assert refused.status_code == 403
    assert "someone else must record its payment" in page(refused)
    assert load(app, big).paid_cents == 0


@pytest.mark.calendar
def test_closing_a_part_paid_request_releases_the_rest(app: Flask, login: Any) -> None:
    request_id = approved_request(app)
    fin = login(FIN)
    fin.post(
        f"/finance/requests/{request_id}/pay",
        {
            "invoice_number": invoice(),
            "inc_gst_cents": "5.50",
            "gst_cents": "0.50",
            "paid_on": today(),
        },
    )
    assert load(app, request_id).state == "part_paid"
    url = f"/finance/requests/{request_id}/close"
    before = balances(app, "org:NGO1")["org:NGO1"]
    assert "$15.00 still held" in page(fin.get(url))
    missing = fin.post(url, {"reason": "  "})
    assert missing.status_code == 422 and 'id="e-reason">Required.' in page(missing)
    assert load(app, request_id).state == "part_paid"
    done = fin.post(url, {"reason": "The client needs no more trips"})
    assert done.status_code == 302
    assert load(app, request_id).state == "paid"
    after = balances(app, "org:NGO1")["org:NGO1"]
    assert after.held_out == before.held_out - 1_500 and after.posted == before.posted
    assert "Only a part-paid request can be closed" in page(fin.get(url))


def test_supplier_refund_returns_money_to_the_envelope(app: Flask, login: Any) -> None:
    request_id = approved_request(app)
    fin = login(FIN)
    number = invoice()
    fin.post(
        f"/finance/requests/{request_id}/pay",
        {"invoice_number": number, "inc_gst_cents": "22", "gst_cents": "2", "paid_on": today()},
    )
    with app.extensions["flexpool.sessions"]() as session:
        payment_id = session.execute(
            select(Payment.id).where(Payment.request_id == request_id)
        ).scalar_one()
    listing = page(fin.get(f"/finance/payments?q={number}"))
    assert f'<tr id="payment-{payment_id}">' in listing and listing.count("<tr id=") == 1
    url = f"/finance/payments/{payment_id}/refund"
    before = balances(app, "bank", "org:NGO1")
    too_much = fin.post(url, {"amount_cents": "25", "received_on": today(), "reference": "CN-1"})
    assert too_much.status_code == 422
    assert 'id="e-amount_cents">At most $20.00 is left to refund' in page(too_much)
    blank = fin.post(url, {"amount_cents": "", "received_on": "", "reference": ""})
    assert blank.status_code == 422 and 'id="e-reference">Required.' in page(blank)
    assert balances(app, "bank", "org:NGO1") == before
    done = fin.post(url, {"amount_cents": "5", "received_on": today(), "reference": "CN-1"})
    assert done.status_code == 302
    after = balances(app, "bank", "org:NGO1")
    assert after["bank"].posted == before["bank"].posted + 500
    assert after["org:NGO1"].posted == before["org:NGO1"].posted + 500
    assert "$15.00" in page(fin.get(url))  # left to refund


@pytest.mark.calendar
def test_grant_receipts_and_gst_refunds(app: Flask, login: Any) -> None:
    fin = login(FIN)
    accounts = ("bank", "pool", "gst_receivable")
    before = balances(app, *accounts)
    form = page(fin.get("/finance/grants/new"))
    key = re.search(r'name="key" value="([^"]+)"', form)
    assert key and 'for="f-amount"' in form
    grant = {"amount": "150,000.00", "on": today(), "memo": "Instalment 3", "key": key.group(1)}
    assert fin.post("/finance/grants/new", grant).status_code == 302
    assert fin.post("/finance/grants/new", grant).status_code == 302  # sent twice, posted once
    refund = {"amount": "1.00", "on": today(), "memo": "BAS refund"}
    assert fin.post("/finance/gst-refund", refund).status_code == 302
    after = balances(app, *accounts)
    assert after["pool"].posted == before["pool"].posted + 15_000_000
    assert after["bank"].posted == before["bank"].posted + 15_000_000 + 100
    assert after["gst_receivable"].posted == before["gst_receivable"].posted - 100
    bad = fin.post("/finance/grants/new", {"amount": "0", "on": "", "memo": "x" * 301})
    assert bad.status_code == 422
    html = page(bad)
    assert 'id="e-amount">The amount must be more than $0.00.' in html
    assert 'id="e-on">Required.' not in html and 'id="e-on">A date like' in html
    assert 'id="e-memo">At most 300 characters.' in html
    assert balances(app, *accounts) == after


def test_only_the_finance_manager_returns_funds(app: Flask, login: Any) -> None:
    fin = login(FIN)
    assert fin.get("/finance/return").status_code == 403
    assert 'href="/finance/return"' not in page(fin.get("/finance/"))
    before = balances(app, "pool", "bank")
    data = {"amount": "1.00", "on": today(), "memo": "Year-end return"}
    assert fin.post("/finance/return", data).status_code == 403
    assert balances(app, "pool", "bank") == before
    manager = login(FIN_MGR)
    assert 'href="/finance/return"' in page(manager.get("/finance/"))
    assert manager.post("/finance/return", data).status_code == 302
    after = balances(app, "pool", "bank")
    assert after["pool"].posted == before["pool"].posted - 100
    assert after["bank"].posted == before["bank"].posted - 100


def test_suppliers_are_added_and_verified_by_a_second_person(app: Flask, login: Any) -> None:
    fin = login(FIN)
    name = f"Test Removals {uuid.uuid4().hex[:6]}"
    bad = fin.post(
        "/finance/suppliers/new",
        {"name": name, "abn": "12 345 678 901", "gst_registered": "1", "bsb": "062000"},
    )
    assert bad.status_code == 422
    assert 'id="e-abn">That ABN fails its checksum' in page(bad)
    assert 'id="e-bsb">Give both a BSB and an account number, or neither.' in page(bad)
    added = fin.post(
        "/finance/suppliers/new",
        {
            "name": name,
            "abn": "51 824 753 556",
            "gst_registered": "1",
            "bsb": "062-000",
            "account_number": "12345678",
        },
    )
    assert added.status_code == 302
    with app.extensions["flexpool.sessions"]() as session:
        supplier = session.execute(select(Supplier).where(Supplier.name == name)).scalar_one()
        assert supplier.abn == "51824753556" and supplier.verified_at is None
    listing = page(fin.get("/finance/suppliers"))
    row = listing.split(f'<tr id="supplier-{supplier.id}">', 1)[1].split("</tr>", 1)[0]
    assert "51 824 753 556" in row and "a second person must verify" in row
    url = f"/finance/suppliers/{supplier.id}/verify"
    refused = fin.post(url)
    assert refused.status_code == 403 and "A second person must verify" in page(refused)
    manager = login(FIN_MGR)
    assert "062000" in page(manager.get(url))
    assert manager.post(url).status_code == 302
    with app.extensions["flexpool.sessions"]() as session:
        assert session.get_one(Supplier, supplier.id).verified_at is not None
    assert "Verified by Fatima Finance" in page(manager.get(url))


@pytest.mark.parametrize("email", ["sf@ngo1.demo", "auditor@lead.demo", "pm@lead.demo"])
def test_others_are_refused(app: Flask, login: Any, email: str) -> None:
    request_id = approved_request(app)
    other = login(email)
    with app.extensions["flexpool.sessions"]() as session:
        payment_id = session.execute(select(Payment.id).limit(1)).scalar_one()
        supplier_id = session.execute(select(Supplier.id).limit(1)).scalar_one()
    urls = (
        *FINANCE_PAGES,
        f"/finance/requests/{request_id}/pay",
        f"/finance/requests/{request_id}/close",
        f"/finance/payments/{payment_id}/refund",
        f"/finance/suppliers/{supplier_id}/verify",
    )
    for url in urls:
        assert other.get(url).status_code == 403, url
    response = other.post(
        f"/finance/requests/{request_id}/pay",
        {"invoice_number": invoice(), "inc_gst_cents": "11", "gst_cents": "1", "paid_on": today()},
    )
    assert response.status_code == 403
    assert load(app, request_id).paid_cents == 0


def test_unknown_objects_are_not_found(login: Any) -> None:
    fin = login(FIN)
    for url in (
        "/finance/requests/999999999/pay",
        "/finance/requests/999999999/close",
        "/finance/payments/999999999/refund",
        "/finance/suppliers/999999999/verify",
    ):
        assert fin.get(url).status_code == 404, url
