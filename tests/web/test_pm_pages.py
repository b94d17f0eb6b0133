"""The Program Manager's pages over the demo: figures from the ledger, forms that move money.

PostgreSQL shares one demo database between tests, so each test compares before and after
rather than counting anything global.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select

from approvals.consortium.setup import envelope_account
from approvals.fiscal import financial_year
from approvals.models import Consortium, FundRequest, Organisation, Payment, Refund
from approvals.policy.versions import published_policy
from demo.base import CODE
from ledger.money import format_cents
from ledger.queries import get_balance
from ledger.values import Balance
from tests.support.clock import CLOCK
from tests.support.web import sqlite_only_web_db
from web.charts import SVG_POLICY
from web.security import CONTENT_SECURITY_POLICY

# SQLite only: these pages call services and queries proven on PostgreSQL elsewhere.
web_db = pytest.fixture(sqlite_only_web_db)

PM = "pm@lead.demo"
ROW = re.compile(
    r'<tr data-account="(?P<account>[^"]+)">\s*<th[^>]*>.*?</th>\s*'
    r'<td class="money">(?P<posted>[^<]+)</td>\s*'
    r'<td class="money">(?P<held>[^<]+)</td>\s*'
    r'<td class="money">(?P<available>[^<]+)</td>',
    re.S,
)
CHARTS = (
    "/pm/charts/pool-use.svg",
    "/pm/charts/spend-by-category.svg",
    "/pm/charts/spend-by-ngo.svg",
)


def balance(app: Flask, account: str) -> Balance:
    with app.extensions["flexpool.sessions"]() as session:
        return get_balance(session, CODE, account)


def balances(app: Flask, *accounts: str) -> dict[str, Balance]:
    return {account: balance(app, account) for account in accounts}


def page(response: Any) -> str:
    return str(response.get_data(as_text=True))


@pytest.mark.calendar
def test_home_shows_the_pool_and_every_envelope_as_the_ledger_holds_them(
    app: Flask, login: Any
) -> None:
    response = login(PM).get("/pm/")
    assert response.status_code == 200
    html = page(response)
    rows = {m["account"]: m for m in ROW.finditer(html)}
    with app.extensions["flexpool.sessions"]() as session:
        partners = session.execute(
            select(Organisation.code)
            .join(Consortium, Consortium.id == Organisation.consortium_id)
            .where(Consortium.code == CODE, Organisation.kind == "partner")
        ).scalars()
        # The demo's three, and any partner another test added to the shared PostgreSQL demo.
        envelopes = sorted(envelope_account(code) for code in partners)
    expected = ["pool", *envelopes]
    assert list(rows)[0] == "pool" and sorted(list(rows)[1:]) == envelopes
    assert {"org:NGO1", "org:NGO2", "org:NGO3"} <= set(envelopes)
    for account in expected:
        found = balance(app, account)
        assert rows[account]["posted"] == format_cents(found.posted)
        assert rows[account]["held"] == format_cents(found.held_out)
        assert rows[account]["available"] == format_cents(found.available)
    assert any(balance(app, a).held_out for a in expected[1:]), "the demo holds approved money"
    assert "Allocation to NGO1" in html and "Rebalance to demand" in html
    assert "reversal" in html  # the demo's mistaken allocation and its fix


@pytest.mark.calendar
def test_home_spend_tables_match_payments_less_refunds(app: Flask, login: Any) -> None:
    html = page(login(PM).get("/pm/"))
    with app.extensions["flexpool.sessions"]() as session:
        consortium = session.execute(select(Consortium).where(Consortium.code == CODE)).scalar_one()
        year = financial_year(CLOCK.today)
        paid = session.execute(
            select(func.coalesce(func.sum(Payment.charged_cents), 0))
            .join(FundRequest, FundRequest.id == Payment.request_id)
            .where(
                FundRequest.consortium_id == consortium.id,
                Payment.paid_on.between(year.start, year.end),
            )
        ).scalar_one()
        refunded = session.execute(
            select(func.coalesce(func.sum(Refund.amount_cents), 0))
            .join(Payment, Payment.id == Refund.payment_id)
            .join(FundRequest, FundRequest.id == Payment.request_id)
            .where(
                FundRequest.consortium_id == consortium.id,
                Refund.received_on.between(year.start, year.end),
            )
        ).scalar_one()
    net = format_cents(int(paid) - int(refunded))
    assert paid > 0 or CLOCK.today == year.start  # on 1 July the tables must say $0.00
    for table in ("by-category", "by-ngo"):
        section = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
        assert f'Total</th><td class="money">{net}</td>' in section
    assert f'Spent this year (net of refunds)</th><td class="money">{net}</td>' in html
    assert year.label in html


@pytest.mark.calendar
def test_charts_are_svg_images_with_a_table_beside_them(app: Flask, login: Any) -> None:
    pm = login(PM)
    html = page(pm.get("/pm/"))
    for url in CHARTS:
        assert re.search(rf'<img src="{re.escape(url)}" alt="[^"]{{20,}}"', html), url
        response = pm.get(url)
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"
        assert response.headers["Content-Security-Policy"] == SVG_POLICY
        assert "no-store" in response.headers["Cache-Control"]
        svg = response.get_data()
        assert b"<svg" in svg and b"pygal" in svg
        assert b"<script src" not in svg and b'href="http' not in svg
    assert "style=" not in html and "<script>" not in html
    assert pm.get("/pm/").headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    if CLOCK.today != financial_year(CLOCK.today).start:  # nothing is spent yet on 1 July
        assert b"NGO1" in pm.get("/pm/charts/spend-by-ngo.svg").get_data()


def test_allocating_moves_money_from_the_pool_to_the_envelope(app: Flask, login: Any) -> None:
    pm = login(PM)
    form = pm.get("/pm/allocate")
    assert form.status_code == 200 and 'for="f-organisation"' in page(form)
    key = re.search(r'name="key" value="([^"]+)"', page(form))
    assert key
    before = balances(app, "pool", "org:NGO2")
    data = {
        "organisation": "NGO2",
        "amount": "1,234.56",
        "on": CLOCK.today.isoformat(),
        "memo": "Top-up for winter demand",
        "key": key.group(1),
    }
    response = pm.post("/pm/allocate", data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/pm/")
    after = balances(app, "pool", "org:NGO2")
    assert after["pool"].posted == before["pool"].posted - 123456
    assert after["org:NGO2"].posted == before["org:NGO2"].posted + 123456
    home = page(pm.get("/pm/"))
    assert "Allocated $1,234.56 from the pool to NGO2." in home
    assert "Top-up for winter demand" in home
    again = pm.post("/pm/allocate", data)  # the same form sent twice: posted once
    assert again.status_code == 302
    assert balance(app, "org:NGO2").posted == after["org:NGO2"].posted
    assert "already recorded" in page(pm.get("/pm/"))


def test_bad_allocation_shows_each_problem_and_changes_nothing(app: Flask, login: Any) -> None:
    pm = login(PM)
    before = balances(app, "pool", "org:NGO1")
    response = pm.post(
        "/pm/allocate",
        {"organisation": "NGO9", "amount": "12.345", "on": "31/12/2026", "memo": ""},
    )
    assert response.status_code == 422
    html = page(response)
    assert 'id="e-organisation">Choose one from the list.' in html
    assert 'id="e-amount">The amount has more than two decimal places' in html
    assert 'id="e-on">A date like 2026-07-31.' in html
    assert 'id="e-memo">Required.' in html
    assert 'value="12.345"' in html  # what they typed comes back
    assert balances(app, "pool", "org:NGO1") == before


def test_allocating_more_than_the_pool_holds_is_a_conflict(app: Flask, login: Any) -> None:
    pm = login(PM)
    before = balances(app, "pool", "org:NGO3")
    too_much = format_cents(before["pool"].available + 100).lstrip("$")
    response = pm.post(
        "/pm/allocate",
        {"organisation": "NGO3", "amount": too_much, "on": "2026-08-01", "memo": "Too much"},
    )
    assert response.status_code == 409
    assert "Insufficient funds in pool" in page(response)
    assert balances(app, "pool", "org:NGO3") == before


def test_moving_between_envelopes(app: Flask, login: Any) -> None:
    pm = login(PM)
    before = balances(app, "org:NGO1", "org:NGO3", "pool")
    response = pm.post(
        "/pm/move",
        {"source": "NGO1", "target": "NGO3", "amount": "250", "on": "2026-08-01", "memo": "Demand"},
    )
    assert response.status_code == 302
    after = balances(app, "org:NGO1", "org:NGO3", "pool")
    assert after["org:NGO1"].posted == before["org:NGO1"].posted - 25000
    assert after["org:NGO3"].posted == before["org:NGO3"].posted + 25000
    assert after["pool"] == before["pool"]
    assert "Moved $250.00 from NGO1 to NGO3." in page(pm.get("/pm/"))


def test_moving_to_the_same_envelope_or_beyond_what_is_available_is_refused(
    app: Flask, login: Any
) -> None:
    pm = login(PM)
    before = balances(app, "org:NGO1", "org:NGO2")
    same = pm.post(
        "/pm/move",
        {"source": "NGO1", "target": "NGO1", "amount": "5", "on": "2026-08-01", "memo": "x"},
    )
    assert same.status_code == 422
    assert 'id="e-target">Not the same as the source.' in page(same)
    beyond = format_cents(before["org:NGO1"].available + 1).lstrip("$")
    short = pm.post(
        "/pm/move",
        {"source": "NGO1", "target": "NGO2", "amount": beyond, "on": "2026-08-01", "memo": "x"},
    )
    assert short.status_code == 409 and "Insufficient funds in org:NGO1" in page(short)
    assert balances(app, "org:NGO1", "org:NGO2") == before


def test_policy_page_shows_the_published_rules(app: Flask, login: Any) -> None:
    response = login(PM).get("/pm/policy")
    assert response.status_code == 200
    html = page(response)
    with app.extensions["flexpool.sessions"]() as session:
        consortium_id = session.execute(
            select(Consortium.id).where(Consortium.code == CODE)
        ).scalar_one()
        policy, rules = published_policy(session, consortium_id)
    assert f"Version {policy.version}" in html
    for rule in rules:
        assert str(escape(rule.name)) in html
    assert "TL of the requesting NGO" in html and "PM at the lead agency" in html
    assert "Amount above $500.00" in html and "Every request (fallback rule)" in html


@pytest.mark.parametrize("email", ["sf@ngo1.demo", "auditor@lead.demo", "fin@lead.demo"])
def test_others_are_refused(app: Flask, login: Any, email: str) -> None:
    other = login(email)
    for url in ("/pm/", "/pm/allocate", "/pm/move", "/pm/policy", *CHARTS):
        assert other.get(url).status_code == 403, url
    before = balances(app, "pool", "org:NGO1")
    response = other.post(
        "/pm/allocate",
        {"organisation": "NGO1", "amount": "10", "on": "2026-08-01", "memo": "Not mine"},
    )
    assert response.status_code == 403
    assert balances(app, "pool", "org:NGO1") == before


def test_signed_out_people_are_sent_to_sign_in(client: Any) -> None:
    response = client.get("/pm/charts/pool-use.svg")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.calendar
def test_spend_follows_a_refund_and_a_renamed_category_at_once(app: Flask, login: Any) -> None:
    """The spend figures are remembered per process until the book moves: prove they move."""
    from approvals.consortium.actors import load_actor
    from approvals.lifecycle.refunds import record_refund
    from approvals.models import Category, User
    from approvals.spend import net_spend
    from ledger.db import run_in_transaction

    sessions = app.extensions["flexpool.sessions"]
    today = CLOCK.today
    with sessions() as session:
        consortium = session.execute(select(Consortium).where(Consortium.code == CODE)).scalar_one()
        year = financial_year(today)
        before = net_spend(session, consortium.id, year)
        # The latest payment: its refund counts in the year it is received, this one, even on
        # 1 July when nothing has been paid this year yet.
        payment = (
            session.execute(
                select(Payment)
                .join(FundRequest, FundRequest.id == Payment.request_id)
                .where(FundRequest.consortium_id == consortium.id)
                .order_by(Payment.id.desc())
            )
            .scalars()
            .first()
        )
        assert payment is not None
        category = session.execute(
            select(Category)
            .join(FundRequest, FundRequest.category_id == Category.id)
            .where(FundRequest.id == payment.request_id)
        ).scalar_one()
        fin = session.execute(select(User.id).where(User.email == "fin@lead.demo")).scalar_one()

    def refund(session: Any) -> None:
        actor = load_actor(session, user_id=fin, consortium_id=consortium.id, today=today)
        record_refund(
            session,
            actor,
            payment.id,
            amount_cents=1,
            received_on=today,
            reference="cache test",
            now=CLOCK.now(),
        )

    def rename(session: Any) -> None:  # no money moves: the book's sequence stays put
        session.get_one(Category, category.id).name = "Renamed for the test"

    run_in_transaction(sessions, refund)
    with sessions() as session:
        after = net_spend(session, consortium.id, year)
    assert after.total == before.total - 1
    run_in_transaction(sessions, rename)
    with sessions() as session:
        after = net_spend(session, consortium.id, year)
    assert "Renamed for the test" in dict(after.by_category)
    assert category.name not in dict(after.by_category)
    assert "Renamed for the test" in page(login(PM).get("/pm/"))
