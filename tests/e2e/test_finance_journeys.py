"""Finance at month end, in a real browser: import the bank statement, reconcile, close the month.

This module has its own server on its own copy of the demo database (``live_app`` is
module-scoped), so the month closed here is closed for these tests only. The month closed is the
last full month with payments, never the current one: the statements imported for the
accessibility scans are dated today, so they never land in it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from approvals.models import Payment, Supplier
from reports.bank.match import REVIEW_WINDOW_DAYS
from tests.support.browser import serious_accessibility_violations, sydney_today
from web.session import session_factory

NOTHING_MATCHES = "-13.57"  # no demo payment, refund or grant is for $13.57
EXPLANATION = "Bank's monthly account-keeping fee"
# Without Playwright the module skips, as the conftest's fixtures do, rather than fail to import.
expect = pytest.importorskip(
    "playwright.sync_api", reason="needs Playwright for Python: pip install playwright"
).expect


@dataclass(frozen=True)
class Paid:
    on: date
    amount: str  # inc-GST dollars, as a statement shows it
    supplier: str
    invoice: str


def _payments(app: Flask, *, since: date, before: date) -> list[Paid]:
    """The recorded payments dated in ``[since, before)``, newest first."""
    with session_factory(app)() as session:
        rows = session.execute(
            select(Payment.paid_on, Payment.inc_gst_cents, Supplier.name, Payment.invoice_number)
            .join(Supplier, Supplier.id == Payment.supplier_id)
            .where(Payment.paid_on >= since, Payment.paid_on < before)
            .order_by(Payment.paid_on.desc(), Payment.id.desc())
        ).all()
    return [Paid(on, f"{cents / 100:.2f}", name, invoice) for on, cents, name, invoice in rows]


def _last_payment_of_the_last_full_month(app: Flask) -> Paid:
    first_of_this_month = sydney_today().replace(day=1)
    paid = _payments(app, since=date.min, before=first_of_this_month)
    assert paid, "the demo should have payments before this month"
    return paid[0]


def _statement(*lines: tuple[date, str, str, str, str]) -> dict[str, Any]:
    """A statement CSV in Xero's layout, ready for ``set_input_files``."""
    body = io.StringIO()
    writer = csv.writer(body)
    writer.writerow(["*Date", "*Amount", "Payee", "Description", "Reference"])
    writer.writerows([f"{on:%d/%m/%Y}", *rest] for on, *rest in lines)
    return {"name": "statement.csv", "mimeType": "text/csv", "buffer": body.getvalue().encode()}


def _import(page: Any, statement: dict[str, Any]) -> None:
    page.get_by_label("Statement file (CSV)").set_input_files(statement)
    page.get_by_role("button", name="Import", exact=True).click()


def test_finance_manager_imports_a_statement_explains_its_odd_line_and_closes_the_month(
    new_page: Any, live_app: Flask
) -> None:
    paid = _last_payment_of_the_last_full_month(live_app)
    month = f"{paid.on:%Y-%m}"
    page = new_page("finmgr@lead.demo")
    page.goto("/finance/")
    page.get_by_role("link", name="Bank statements").click()
    expect(page.get_by_role("heading", name="Bank statements", level=1)).to_be_visible()

    _import(
        page,
        _statement(
            (paid.on, f"-{paid.amount}", paid.supplier, "Supplier payment", paid.invoice),
            (paid.on, NOTHING_MATCHES, "Northcoast Bank", "Account fee", "FEE"),
        ),
    )
    expect(page.get_by_role("status")).to_have_text(
        "Imported 2 line(s): 1 matched automatically, 1 to review."
    )
    resolved = page.get_by_role("region", name="Recently matched and explained")
    expect(resolved.get_by_role("row").filter(has_text=paid.invoice)).to_contain_text("automatic")

    to_review = page.get_by_role("region", name=re.compile("^To review"))
    fee = to_review.get_by_role("article").filter(has_text="Northcoast Bank")
    fee.get_by_label("Or explain why it needs no match").fill(EXPLANATION)
    fee.get_by_role("button", name=re.compile("^Explain")).click()
    expect(page.get_by_role("status")).to_have_text("The line is explained.")
    expect(to_review.get_by_role("article").filter(has_text="Northcoast Bank")).to_have_count(0)
    explained = resolved.get_by_role("row").filter(has_text="Northcoast Bank")
    expect(explained).to_contain_text("explained")
    expect(explained).to_contain_text(EXPLANATION)

    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name="Finance").click()
    page.get_by_role("link", name="Exports").click()
    page.get_by_label("Kind").select_option(label="reconciliation workbook")
    page.get_by_label("Period").fill(month)
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("status")).to_contain_text("Exported")
    history = page.get_by_role("region", name="History")
    expect(
        history.get_by_role("row").filter(has_text="reconciliation").filter(has_text=month).first
    ).to_contain_text("done")

    closing = page.get_by_role("region", name="Close a month")
    closing.get_by_label("Month").fill(month)
    closing.get_by_role("button", name="Close the month").click()
    expect(page.get_by_role("status")).to_have_text(
        f"{month} is closed: nothing can be dated in it any more."
    )
    closed = page.get_by_role("region", name="Closed months")
    expect(closed.get_by_role("row").filter(has_text=month)).to_contain_text("Fatima Finance")


def test_bank_statements_with_lines_to_review_have_no_serious_accessibility_violation(
    new_page: Any, live_app: Flask
) -> None:
    today = sydney_today()
    recent = _payments(live_app, since=today - timedelta(days=REVIEW_WINDOW_DAYS), before=today)
    assert recent, "the demo should have a payment in the review window"
    candidate = recent[-1]
    page = new_page("fin@lead.demo")  # fin recorded it, so it stays to review, shown disabled
    page.goto("/bank/")
    _import(
        page,
        _statement(
            (today, f"-{candidate.amount}", candidate.supplier, "Cleared today", ""),
            (today, NOTHING_MATCHES, "Unknown payee", "Card fee", ""),
        ),
    )
    expect(page.get_by_role("status")).to_contain_text("Imported 2 line(s)")
    to_review = page.get_by_role("region", name=re.compile("^To review"))
    expect(to_review.get_by_role("article").filter(has_text="Unknown payee")).to_be_visible()
    expect(to_review.get_by_text("You recorded this").first).to_be_visible()
    bad = serious_accessibility_violations(page)
    assert not bad, bad


def test_the_exports_page_has_no_serious_accessibility_violation(new_page: Any) -> None:
    page = new_page("finmgr@lead.demo")
    page.goto("/exports/")
    expect(page.get_by_role("heading", name="Exports", level=1)).to_be_visible()
    bad = serious_accessibility_violations(page)
    assert not bad, bad
