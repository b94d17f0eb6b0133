"""The bank page: finance uploads a statement and reviews the matches; a bad file is refused
whole with its line numbers; the auditor only reads; nobody else gets in."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from approvals.models import Payment
from ledger.money import cents_to_decimal_text
from reports.models import BankLine, BankStatement
from tests.support.web import sqlite_only_web_db
from web.session import session_factory

# SQLite only: import and matching are proven on PostgreSQL in tests/reports/test_bank.py.
web_db = pytest.fixture(sqlite_only_web_db)

HEADER = "*Date,*Amount,Payee,Description,Reference"


def latest_payment(app: Flask) -> Payment:
    with session_factory(app)() as session:
        query = select(Payment).order_by(Payment.paid_on.desc(), Payment.id.desc())
        found = session.execute(query).scalars().first()
    assert found is not None
    return found


def csv_for(payment: Payment, *extra: str) -> bytes:
    row = f"{payment.paid_on:%d/%m/%Y},{cents_to_decimal_text(-payment.inc_gst_cents)},Supplier,,"
    return ("\n".join([HEADER, row, *extra]) + "\n").encode()


def upload(browser: Any, data: bytes, name: str = "november.csv") -> Any:
    browser.get("/bank/")
    return browser.post("/bank/import", {"file": (io.BytesIO(data), name)})


def lines(app: Flask) -> list[BankLine]:
    with session_factory(app)() as session:
        return list(session.execute(select(BankLine).order_by(BankLine.id)).scalars())


def statements(app: Flask) -> int:
    with session_factory(app)() as session:
        return session.scalar(select(func.count()).select_from(BankStatement)) or 0


def test_finance_uploads_a_statement_and_sees_matched_and_open_lines(
    app: Flask, login: Any
) -> None:
    payment = latest_payment(app)
    fee_day = payment.paid_on + timedelta(days=1)
    data = csv_for(payment, f"{fee_day:%d/%m/%Y},-4.95,Our Bank,Account fee,")
    finmgr = login("finmgr@lead.demo")
    done = upload(finmgr, data)
    assert done.status_code == 302
    matched, fee = lines(app)
    assert matched.payment_id == payment.id and fee.status == "unmatched"
    page = finmgr.get("/bank/").get_data(as_text=True)
    assert "november.csv" in page and "Our Bank" in page and "Account fee" in page
    assert f"invoice {payment.invoice_number}" in page and "automatic" in page
    assert f'id="reason-{fee.id}"' in page and 'for="file"' in page


def test_a_bad_file_is_refused_whole_with_every_line_number(app: Flask, login: Any) -> None:
    payment = latest_payment(app)
    data = csv_for(payment, "31/02/2026,-10.00,x,,", "01/11/2026,-12.505,x,,")
    response = upload(login("fin@lead.demo"), data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="file-error"' in html and "nothing was imported" in html
    assert "Line 3:" in html and "Line 4:" in html and "Line 2:" not in html
    assert statements(app) == 0 and lines(app) == []


def test_an_upload_without_a_file_or_without_the_csrf_token_is_refused(
    app: Flask, login: Any
) -> None:
    fin = login("fin@lead.demo")
    fin.get("/bank/")
    assert fin.post("/bank/import", {}).status_code == 422
    forged = fin.client.post(
        "/bank/import", data={"file": (io.BytesIO(csv_for(latest_payment(app))), "x.csv")}
    )
    assert forged.status_code == 400
    assert statements(app) == 0


def test_lines_are_matched_explained_and_unmatched_through_the_forms(
    app: Flask, login: Any
) -> None:
    payment = latest_payment(app)
    fin = login("fin@lead.demo")  # the demo's payer: their import leaves it for someone else
    upload(fin, csv_for(payment, f"{payment.paid_on:%d/%m/%Y},-4.95,Our Bank,Account fee,"))
    line, fee = lines(app)
    assert line.status == "unmatched"
    token = f"payment:{payment.id}"
    page = fin.get("/bank/").get_data(as_text=True)
    assert f'value="{token}" disabled' in page and "You recorded this" in page
    refused = fin.post(f"/bank/lines/{line.id}/match", {"target": token})
    assert refused.status_code == 403 and "segregation of duties" in refused.get_data(as_text=True)
    finmgr = login("finmgr@lead.demo")
    finmgr.get("/bank/")
    assert finmgr.post(f"/bank/lines/{line.id}/match", {"target": token}).status_code == 302
    blank = finmgr.post(f"/bank/lines/{fee.id}/explain", {"reason": "  "})
    assert blank.status_code == 422 and f'id="reason-{fee.id}-error"' in blank.get_data(
        as_text=True
    )
    assert finmgr.post(f"/bank/lines/{fee.id}/explain", {"reason": "Bank fee"}).status_code == 302
    assert [(b.status, b.payment_id) for b in lines(app)] == [
        ("matched", payment.id),
        ("explained", None),
    ]
    assert finmgr.post(f"/bank/lines/{line.id}/unmatch").status_code == 302
    assert lines(app)[0].status == "unmatched"


def test_the_auditor_reads_the_bank_page_but_changes_nothing(app: Flask, login: Any) -> None:
    payment = latest_payment(app)
    upload(login("finmgr@lead.demo"), csv_for(payment, "01/07/2026,-4.95,Our Bank,Fee,"))
    auditor = login("auditor@lead.demo")
    page = auditor.get("/bank/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "november.csv" in html and "Our Bank" in html
    assert "/bank/import" not in html and "/explain" not in html and "/unmatch" not in html
    fee = lines(app)[1]
    explained = auditor.post(f"/bank/lines/{fee.id}/explain", {"reason": "Fee"})
    assert explained.status_code == 403 and lines(app)[1].status == "unmatched"


@pytest.mark.parametrize("who", ["sf@ngo1.demo", "tl@ngo1.demo", "pm@lead.demo"])
def test_people_outside_finance_cannot_open_or_use_the_bank_page(
    app: Flask, login: Any, who: str
) -> None:
    browser = login(who)
    assert browser.get("/bank/").status_code in (403, 404)
    data = csv_for(latest_payment(app))
    assert browser.post("/bank/import", {"file": (io.BytesIO(data), "x.csv")}).status_code in (
        403,
        404,
    )
    assert statements(app) == 0


def test_every_field_of_the_bank_page_has_a_label_and_no_inline_script(
    app: Flask, login: Any
) -> None:
    fin = login("fin@lead.demo")
    upload(fin, csv_for(latest_payment(app), "01/07/2026,-4.95,Our Bank,Fee,"))
    page = fin.get("/bank/").get_data(as_text=True)
    assert "<script>" not in page and "style=" not in page
    fields = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page)
    assert "file" in fields and len(fields) >= 4
    for field in fields:
        assert f'for="{field}"' in page, field


def test_match_again_matches_a_line_the_payer_s_import_had_to_leave(app: Flask, login: Any) -> None:
    payment = latest_payment(app)
    fin = login("fin@lead.demo")  # recorded every demo payment: the import leaves it open
    assert upload(fin, csv_for(payment)).status_code == 302
    (line,) = lines(app)
    assert line.status == "unmatched"
    assert "Match again" in fin.get("/bank/").get_data(as_text=True)
    fin.post("/bank/rematch", {})
    assert "No open line has a single certain match" in fin.get("/bank/").get_data(as_text=True)
    finmgr = login("finmgr@lead.demo")
    assert finmgr.post("/bank/rematch", {}).status_code == 302
    assert "1 line(s) matched automatically" in finmgr.get("/bank/").get_data(as_text=True)
    (line,) = lines(app)
    assert line.status == "matched" and line.payment_id == payment.id
