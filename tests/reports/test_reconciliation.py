"""The reconciliation workbook: its figures are the ledger's to the cent, for a month and a year.

Expected figures are worked out here from the ledger's transfers and the approvals tables, not
through the module under test; the workbook is read back with openpyxl (and once by LibreOffice).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from approvals.errors import InvalidInputError
from approvals.fiscal import Period, financial_year, month_of
from approvals.lifecycle.payments import PaymentInput
from approvals.models import (
    Attachment,
    Client,
    Consortium,
    FundRequest,
    Organisation,
    Payment,
    Refund,
    RequestException,
    Supplier,
    User,
)
from demo.base import CODE
from ledger.db import make_engine, make_session_factory, run_in_transaction
from ledger.models import accounts, books, transfers
from ledger.posting import post_entry
from ledger.queries import trial_balance
from ledger.values import JournalEntry, Transfer, TransferKind
from reports.cells import TRIGGERS
from reports.ledger_state import ledger_head
from reports.models import BankLine, BankStatement, ExportKind
from reports.reconciliation.workbook import SHEETS, write_reconciliation
from reports.runs import ExportOrder, parse_period, run_export
from reports.written import MISMATCHES, Written
from reports.xlsx import DATE_FORMAT, MONEY_FORMAT
from tests.support.clock import CLOCK
from tests.support.databases import missing_tool
from tests.support.world import A, build_desk, build_world

Rows = list[tuple[Any, ...]]
ZONE = ZoneInfo("Australia/Sydney")
TODAY = CLOCK.today  # the demo's today (see tests/support/clock.py)
PERIODS = {
    "month": month_of(TODAY.replace(day=1) - timedelta(days=1)),  # the last whole month
    "year": financial_year(TODAY - timedelta(days=182)),  # a year the demo fills half of
}
POSTED = ("single", "post_pending")


@pytest.fixture
def copied(demo_sqlite: Path, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A private copy of the demo, for tests that change it."""
    path = tmp_path / "demo.db"
    shutil.copy(demo_sqlite, path)
    engine = make_engine(f"sqlite:///{path}")
    yield make_session_factory(engine)
    engine.dispose()


def _write(factory: sessionmaker[Session], period: Period) -> tuple[bytes, Written]:
    out = io.BytesIO()
    with factory() as session:
        done = write_reconciliation(session, CODE, out, period)
    return out.getvalue(), done


def _sheet(data: bytes, title: str) -> Rows:
    book = load_workbook(io.BytesIO(data), read_only=True)
    try:
        return [tuple(row) for row in book[title].iter_rows(values_only=True)]
    finally:
        book.close()


def _table(rows: Rows) -> tuple[dict[str, int], Rows]:
    """Column positions by header, and the rows up to the first blank one."""
    body: Rows = []
    for row in rows[1:]:
        if not any(value is not None for value in row):
            break
        body.append(row)
    return {name: index for index, name in enumerate(rows[0])}, body


def _row(rows: Rows, label: str) -> tuple[Any, ...]:
    (found,) = [row for row in rows if row and row[0] == label]
    return found


def _cents(value: Any) -> int:
    exact = Decimal(str(value)) * 100
    assert exact == exact.to_integral_value(), value
    return int(exact)


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE).astimezone(UTC)


def _movements(session: Session, period: Period) -> dict[str, tuple[int, int]]:
    """Debits and credits per account, added up from the transfers dated in the period."""
    moved: dict[str, list[int]] = {}
    for side, column in ((transfers.c.debit_account_id, 0), (transfers.c.credit_account_id, 1)):
        rows = session.execute(
            select(accounts.c.code, func.sum(transfers.c.amount))
            .join(accounts, accounts.c.id == side)
            .join(books, books.c.id == transfers.c.book_id)
            .where(
                books.c.code == CODE,
                transfers.c.phase.in_(POSTED),
                transfers.c.effective_date.between(period.start, period.end),
            )
            .group_by(accounts.c.code)
        ).all()
        for code, cents in rows:
            moved.setdefault(code, [0, 0])[column] = int(cents)
    return {code: (debits, credits) for code, (debits, credits) in moved.items()}


def _closing(session: Session, day: date) -> dict[str, int]:
    """Each account's posted balance (debit-positive) at the end of ``day``."""
    return {line.account: line.balance for line in trial_balance(session, CODE, as_of=day)}


def _payments(session: Session, start: date, end: date) -> dict[int, tuple[Any, ...]]:
    rows = session.execute(
        select(
            Payment.id,
            Client.code,
            Payment.inc_gst_cents - Payment.gst_cents,
            Payment.gst_cents,
            Payment.inc_gst_cents,
            Payment.charged_cents,
        )
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .join(Client, Client.id == FundRequest.client_id)
        .join(Consortium, Consortium.id == FundRequest.consortium_id)
        .where(Consortium.code == CODE, Payment.paid_on.between(start, end))
    ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


@pytest.mark.parametrize("which", PERIODS)
def test_the_trial_balance_sheet_is_the_ledgers_to_the_cent(
    demo: sessionmaker[Session], which: str
) -> None:
    period = PERIODS[which]
    data, done = _write(demo, period)
    rows = _sheet(data, "Trial balance")
    columns, body = _table(rows)
    with demo() as session:
        closing = _closing(session, period.end)
        opening = _closing(session, period.start - timedelta(days=1))
        moved = _movements(session, period)
    money = [columns[name] for name in ("Opening (Dr +)", "Debits", "Credits", "Closing (Dr +)")]
    assert {row[0]: tuple(_cents(row[i]) for i in money) for row in body} == {
        code: (opening[code], *moved.get(code, (0, 0)), closing[code]) for code in closing
    }
    debits = sum(debit for debit, _ in moved.values())
    assert debits > 0, "the period has ledger movements"
    total = [_cents(value) for value in _row(rows, "Total")[money[0] : money[-1] + 1]]
    assert total == [0, debits, sum(credit for _, credit in moved.values()), 0]
    assert total[1] == total[2]
    assert done.row_counts[MISMATCHES] == 0


@pytest.mark.parametrize("which", PERIODS)
def test_the_payments_sheet_lists_every_payment_of_the_period_with_its_amounts(
    demo: sessionmaker[Session], which: str
) -> None:
    period = PERIODS[which]
    data, done = _write(demo, period)
    rows = _sheet(data, "Payments")
    columns, body = _table(rows)
    with demo() as session:
        expected = _payments(session, period.start, period.end)
    amounts = [columns[name] for name in ("Ex-GST", "GST", "Inc-GST", "Charged to funds")]
    found = {
        row[columns["Payment"]]: (row[columns["Client code"]], *(_cents(row[i]) for i in amounts))
        for row in body
    }
    assert expected and found == expected
    assert all(row[columns["Approvers"]] for row in body), "every payment was approved by someone"
    assert all(period.start <= row[columns["Paid on"]].date() <= period.end for row in body)
    sums = [sum(values[i] for values in expected.values()) for i in (1, 2, 3, 4)]
    assert [_cents(_row(rows, "Total")[i]) for i in amounts] == sums
    assert done.row_counts["payments"] == len(expected)


def test_every_sheet_is_there_with_a_frozen_header_formats_and_passing_checks(
    demo_sqlite: Path,
) -> None:
    engine = make_engine(f"sqlite:///{demo_sqlite}")
    period = PERIODS["month"]
    try:
        data, done = _write(make_session_factory(engine), period)
        with make_session_factory(engine)() as session:
            head = ledger_head(session, CODE, period.end)
            basis = session.execute(select(Consortium.gst_basis).where(Consortium.code == CODE))
            gst_basis = basis.scalar_one()
    finally:
        engine.dispose()
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == list(SHEETS)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold, sheet.title
    payments = book["Payments"]
    assert payments["N2"].number_format == MONEY_FORMAT and isinstance(
        payments["N2"].value, int | float
    )
    assert payments["P2"].number_format == DATE_FORMAT
    summary = [tuple(cell.value for cell in row) for row in book["Summary"].iter_rows()]
    assert _row(summary, "Ledger sequence")[1] == head[0] == done.ledger_sequence
    assert _row(summary, "Ledger hash-chain head")[1] == head[1] == done.ledger_hash
    assert _row(summary, "GST basis")[1] == gst_basis
    assert _row(summary, "As at")[1] == datetime.combine(period.end, time(0))
    start = summary.index(_row(summary, "Checks")) + 1
    checks = summary[start : summary.index(_row(summary, "Checks failed"))]
    assert len(checks) == done.row_counts["checks"] > 0
    assert [row[3] for row in checks] == ["OK"] * len(checks), checks
    assert done.row_counts[MISMATCHES] == 0
    assert [row[0] for row in summary[-2:]] == ["Prepared by", "Reviewed by"]
    assert all(value is None for row in summary[-2:] for value in row[1:])


@pytest.mark.parametrize("which", PERIODS)
def test_clients_appear_by_their_codes_only(copied: sessionmaker[Session], which: str) -> None:
    with copied.begin() as session:
        ids = session.execute(select(Client.id).order_by(Client.id)).scalars().all()
        for number, client_id in enumerate(ids):
            marker = f"Q{number:02d}"  # initials no other text in the workbook could contain
            session.execute(update(Client).where(Client.id == client_id).values(initials=marker))
        codes = set(session.execute(select(Client.code)).scalars())
    data, _ = _write(copied, PERIODS[which])
    book = load_workbook(io.BytesIO(data), read_only=True)
    text = [str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v]
    book.close()
    markers = {f"Q{number:02d}" for number in range(len(ids))}
    assert not [value for value in text if any(marker in value for marker in markers)]
    columns, body = _table(_sheet(data, "Payments"))
    shown = {row[columns["Client code"]] for row in body}
    assert shown and shown <= codes


@pytest.mark.parametrize("which", PERIODS)
def test_the_same_ledger_state_gives_the_same_bytes(
    demo: sessionmaker[Session], which: str
) -> None:
    period = PERIODS[which]
    first, _ = _write(demo, period)
    second, _ = _write(demo, period)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:  # no clock inside, only the period
        assert {entry.date_time[:5] for entry in archive.infolist()} == {
            (period.end.year, period.end.month, period.end.day, 23, 59)  # zip keeps 2-s steps
        }
        core = archive.read("docProps/core.xml").decode()
    assert core.count(f"{period.end.isoformat()}T23:59:59Z") == 2  # created and modified


def _first_payments(session: Session, period: Period, count: int) -> list[Payment]:
    query = (
        select(Payment)
        .where(Payment.paid_on.between(period.start, period.end))
        .order_by(Payment.id)
        .limit(count)
    )
    found = list(session.execute(query).scalars())
    assert len(found) == count, "the demo pays suppliers every month"
    return found


def _statement(session: Session, lines: list[dict[str, Any]]) -> None:
    consortium_id = session.execute(
        select(Consortium.id).where(Consortium.code == CODE)
    ).scalar_one()
    statement = BankStatement(
        consortium_id=consortium_id,
        file_name=f"statement-{len(lines)}.csv",
        sha256=hashlib.sha256(repr(lines).encode()).hexdigest(),
        line_count=len(lines),
        imported_by="cli:test",
        imported_at=datetime(2027, 1, 1, tzinfo=UTC),
    )
    session.add(statement)
    session.flush()
    for number, line in enumerate(lines, start=2):
        values = {"payee": "", "description": "", "reference": "", "status": "unmatched", **line}
        session.add(
            BankLine(
                statement_id=statement.id, consortium_id=consortium_id, line_number=number, **values
            )
        )


FORMULA = '=HYPERLINK("http://evil.example","click")'


def test_text_typed_as_a_formula_is_written_as_text(copied: sessionmaker[Session]) -> None:
    period = PERIODS["month"]
    with copied.begin() as session:
        paid = _first_payments(session, period, 1)[0]
        session.execute(
            update(Supplier).where(Supplier.id == paid.supplier_id).values(name=FORMULA)
        )
        _statement(session, [{"on": period.start, "amount_cents": -100, "payee": "+61 2 9999"}])
    data, _ = _write(copied, period)
    book = load_workbook(io.BytesIO(data))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    typed = [cell for cell in cells if isinstance(cell.value, str) and FORMULA in cell.value]
    assert "'" + FORMULA in [cell.value for cell in typed]  # the supplier's own cell
    assert not [cell.coordinate for cell in typed if cell.value.startswith(TRIGGERS)]
    assert "'+61 2 9999" in [cell.value for cell in book["Bank match"]["C"]]


def test_bank_match_shows_each_line_and_what_is_open_and_a_wrong_match_fails_a_check(
    copied: sessionmaker[Session],
) -> None:
    period = PERIODS["month"]
    with copied.begin() as session:
        one, other = _first_payments(session, period, 2)
        lines = [
            {"on": one.paid_on, "amount_cents": -one.inc_gst_cents, "status": "matched"}
            | {"payment_id": one.id, "payee": "Matched supplier"},
            {"on": period.end, "amount_cents": -12_345, "payee": "Unknown"},
            {"on": period.start, "amount_cents": 5_000, "status": "explained"}
            | {"explanation": "Bank interest"},
            {"on": period.end + timedelta(days=1), "amount_cents": -99, "payee": "Next period"},
        ]
        _statement(session, lines)
        other_id, other_amount = other.id, other.inc_gst_cents
    data, done = _write(copied, period)
    rows = _sheet(data, "Bank match")
    columns, body = _table(rows)
    assert sorted(row[columns["Payee"]] or "" for row in body) == [
        "",
        "Matched supplier",
        "Unknown",
    ]
    assert [row[columns["Agrees"]] for row in body if row[columns["Status"]] == "matched"] == [
        "yes"
    ]
    unmatched = _row(rows, "Unmatched lines")
    assert (_cents(unmatched[1]), unmatched[2]) == (-12_345, 1)
    assert done.row_counts["bank_lines"] == 3 and done.row_counts[MISMATCHES] == 0
    with copied.begin() as session:
        wrong = {"on": period.start, "amount_cents": 1 - other_amount, "status": "matched"}
        _statement(session, [wrong | {"payment_id": other_id}])
    data, done = _write(copied, period)
    assert done.row_counts[MISMATCHES] == 1
    summary = _sheet(data, "Summary")
    check = _row(summary, "Bank match: matched lines that differ from what they matched")
    assert check[1:] == (0, 1, "MISMATCH")


@pytest.mark.calendar
def test_exceptions_list_what_was_recorded_and_payments_without_a_receipt(
    copied: sessionmaker[Session],
) -> None:
    period = financial_year(TODAY)  # the demo's expiry sweep recorded exceptions today
    # On 1 July nothing is paid yet this year: the receipts are checked over the year before.
    paid_in = period if TODAY > period.start else financial_year(TODAY - timedelta(days=1))
    with copied() as session:
        recorded = Counter(
            session.execute(
                select(RequestException.kind)
                .join(FundRequest, FundRequest.id == RequestException.request_id)
                .join(Consortium, Consortium.id == FundRequest.consortium_id)
                .where(
                    Consortium.code == CODE,
                    RequestException.at >= _utc(period.start),
                    RequestException.at < _utc(period.end + timedelta(days=1)),
                )
            ).scalars()
        )
        payments = _payments(session, paid_in.start, min(paid_in.end, TODAY))
    _, body = _table(_sheet(_write(copied, period)[0], "Exceptions"))
    listed = Counter(row[0] for row in body)
    assert recorded and all(listed[kind] == count for kind, count in recorded.items())
    if paid_in != period:
        listed = Counter(
            row[0] for row in _table(_sheet(_write(copied, paid_in)[0], "Exceptions"))[1]
        )
    assert listed["missing receipt"] == len(payments) > 0  # the demo attaches no receipts
    with copied.begin() as session:
        paid = _first_payments(session, paid_in, 1)[0]
        session.add(
            Attachment(
                request_id=paid.request_id,
                kind="receipt",
                filename="receipt.pdf",
                content_type="application/pdf",
                size_bytes=1,
                sha256="0" * 64,
                uploaded_by_id=session.execute(select(func.min(User.id))).scalar_one(),
                uploaded_at=_utc(paid.paid_on),
            )
        )
        evidenced = session.execute(
            select(func.count()).where(
                Payment.request_id == paid.request_id,
                Payment.paid_on.between(paid_in.start, paid_in.end),
            )
        ).scalar_one()
    _, body = _table(_sheet(_write(copied, paid_in)[0], "Exceptions"))
    assert Counter(row[0] for row in body)["missing receipt"] == len(payments) - evidenced


@pytest.mark.parametrize("which", PERIODS)
def test_budget_spend_per_envelope_is_payments_less_refunds_and_the_rest_is_its_balance(
    demo: sessionmaker[Session], which: str
) -> None:
    period = PERIODS[which]
    year = financial_year(period.end)
    rows = _sheet(_write(demo, period)[0], "Budget vs actual")
    columns, body = _table(rows)
    with demo() as session:
        closing = {code: -balance for code, balance in _closing(session, period.end).items()}
        spent = _net_spend_by_ngo(session, year.start, period.end)
    money = [columns[name] for name in ("Allocated", "Paid", "Committed", "Available")]
    envelopes = [row for row in body if row[columns["Category"]] == "All categories"]
    assert {row[0] for row in envelopes} == {code for code in closing if code.startswith("org:")}
    for row in envelopes:
        allocated, paid, committed, available = (_cents(row[i]) for i in money)
        assert paid == spent.get(row[0], 0), row
        assert allocated - paid == closing[row[0]], row
        assert available == allocated - paid - committed, row
        categories = [r for r in body if r[0] == row[0] and r is not row]
        assert sum(_cents(r[money[1]]) for r in categories) == paid
    elapsed = ((period.end - year.start).days + 1) / ((year.end - year.start).days + 1)
    assert abs(envelopes[0][columns["% of year elapsed"]] - elapsed) < 0.0001


def _net_spend_by_ngo(session: Session, start: date, end: date) -> dict[str, int]:
    """Charged to funds less refunds, per NGO envelope, from the approvals tables."""
    spent: Counter[str] = Counter()
    paid = (
        select(Organisation.code, Payment.charged_cents)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .join(Organisation, Organisation.id == FundRequest.organisation_id)
        .where(Payment.paid_on.between(start, end))
    )
    for code, cents in session.execute(paid):
        spent[f"org:{code}"] += cents
    refunded = (
        select(Organisation.code, Refund.amount_cents)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(FundRequest, FundRequest.id == Payment.request_id)
        .join(Organisation, Organisation.id == FundRequest.organisation_id)
        .where(Refund.received_on.between(start, end))
    )
    for code, cents in session.execute(refunded):
        spent[f"org:{code}"] -= cents
    return dict(spent)


@pytest.mark.calendar
def test_commitments_this_month_are_what_the_envelopes_hold_now(
    demo: sessionmaker[Session],
) -> None:
    columns, body = _table(_sheet(_write(demo, month_of(TODAY))[0], "Commitments"))
    with demo() as session:
        held_now = session.execute(
            select(func.sum(accounts.c.debits_pending))
            .join(books, books.c.id == accounts.c.book_id)
            .where(books.c.code == CODE, accounts.c.code.startswith("org:"))
        ).scalar_one()
        open_requests = session.execute(
            select(FundRequest.number)
            .join(Consortium, Consortium.id == FundRequest.consortium_id)
            .where(Consortium.code == CODE, FundRequest.state.in_(("approved", "part_paid")))
        ).scalars()
        labels = sorted(f"R-{number:04d}" for number in open_requests)
    assert labels, "the demo has approved, unpaid requests"
    assert sum(_cents(row[columns["Held"]]) for row in body) == held_now
    assert sorted(row[columns["Request"]] for row in body) == labels


def test_libreoffice_reads_the_trial_balance_we_wrote(demo_sqlite: Path, tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        missing_tool("needs LibreOffice: apt-get install libreoffice-calc-nogui")
    period = PERIODS["month"]
    engine = make_engine(f"sqlite:///{demo_sqlite}")
    try:
        factory = make_session_factory(engine)
        data, _ = _write(factory, period)
        with factory() as session:
            closing = _closing(session, period.end)
            moved = _movements(session, period)
    finally:
        engine.dispose()
    source = tmp_path / "in" / "reconciliation.xlsx"
    source.parent.mkdir()
    source.write_bytes(data)
    subprocess.run(  # noqa: S603 - our own arguments
        [
            str(soffice),
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path / "out"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    book = load_workbook(tmp_path / "out" / source.name, data_only=True, read_only=True)
    rows = [tuple(row) for row in book["Trial balance"].iter_rows(values_only=True)]
    book.close()
    columns, body = _table(rows)
    closed = columns["Closing (Dr +)"]
    assert {row[0]: _cents(row[closed]) for row in body} == closing
    total = _row(rows, "Total")
    debits = sum(debit for debit, _ in moved.values())
    assert [_cents(total[columns[name]]) for name in ("Debits", "Credits", "Closing (Dr +)")] == [
        debits,
        debits,
        0,
    ]


def test_a_run_records_its_row_counts_and_the_ledger_state_and_reruns_byte_for_byte(
    copied: sessionmaker[Session], tmp_path: Path
) -> None:
    period = parse_period(PERIODS["month"].label, ExportKind.RECONCILIATION)
    assert parse_period(PERIODS["year"].label, ExportKind.RECONCILIATION) == PERIODS["year"]
    order = ExportOrder(CODE, ExportKind.RECONCILIATION, period, tmp_path / "a", "user:test")
    first = run_export(copied, order, now=lambda: datetime(2027, 1, 1, tzinfo=UTC))
    later = replace(order, out_dir=tmp_path / "b")
    second = run_export(copied, later, now=lambda: datetime(2027, 3, 1, tzinfo=UTC))
    assert first is not None and second is not None
    assert first.status == second.status == "done"
    assert first.file_name == second.file_name == f"{CODE}-reconciliation-{period.label}.xlsx"
    assert first.sha256 == second.sha256
    assert (tmp_path / "a" / first.file_name).read_bytes() == (
        tmp_path / "b" / first.file_name
    ).read_bytes()
    counts = json.loads(first.row_counts or "{}")
    with copied() as session:
        head = ledger_head(session, CODE, period.end)
        payments = _payments(session, period.start, period.end)
    assert counts["payments"] == len(payments) and counts[MISMATCHES] == 0
    assert (first.ledger_sequence, first.ledger_hash) == head


@pytest.mark.parametrize(("book", "period"), [("NOPE", PERIODS["month"]), (CODE, None)])
def test_an_unknown_consortium_or_no_period_is_refused_and_nothing_is_written(
    demo_sqlite: Path, book: str, period: Period | None
) -> None:
    engine = make_engine(f"sqlite:///{demo_sqlite}")
    out = io.BytesIO()
    try:
        with make_session_factory(engine)() as session, pytest.raises(InvalidInputError) as refused:
            write_reconciliation(session, book, out, period)
    finally:
        engine.dispose()
    assert refused.value.fields and out.getvalue() == b""
    with pytest.raises(InvalidInputError):
        parse_period(None, ExportKind.RECONCILIATION)


def test_a_gst_refund_from_the_tax_office_is_not_counted_as_a_supplier_refund(
    copied: sessionmaker[Session],
) -> None:
    """Both are REFUND transfers into the bank; the refunds check used to count the tax office's
    too, and so reported a mismatch in every period with a GST refund."""
    period = PERIODS["month"]
    leg = Transfer("bank", "gst_receivable", 500, TransferKind.REFUND)
    entry = JournalEntry(CODE, period.end, "GST refund", "test", (leg,))
    run_in_transaction(copied, lambda s: post_entry(s, entry, now=datetime.now(UTC)))
    data, done = _write(copied, period)
    summary = _sheet(data, "Summary")
    check = _row(summary, "Refunds: refunds recorded equal refunds into the bank in the ledger")
    assert check[1] == check[2] and check[3] == "OK"
    assert done.row_counts[MISMATCHES] == 0


def test_without_gst_credits_funds_pay_inc_gst_and_every_check_still_ties_out(
    session_factory: sessionmaker[Session], now: datetime
) -> None:
    world = build_world(session_factory, now)
    with session_factory.begin() as session:
        session.execute(
            update(Consortium)
            .where(Consortium.id == world.consortium_id)
            .values(gst_basis="no_credits")
        )
    desk = build_desk(world)
    paid, waiting = desk.submitted(amount=11_000, gst=1_000), desk.submitted(amount=4_400)
    for request_id in (paid, waiting):
        desk.act("tl1", request_id, A.APPROVE)
    invoice = PaymentInput("INV-1", 11_000, 1_000, world.today, final=True)
    desk.act("fin", paid, A.PAY, payment=invoice)
    period = month_of(world.today)
    out = io.BytesIO()
    with session_factory() as session:
        done = write_reconciliation(session, world.code, out, period)
    assert done.row_counts == done.row_counts | {"payments": 1, "commitments": 1, MISMATCHES: 0}
    columns, body = _table(_sheet(out.getvalue(), "Payments"))
    amounts = ("Ex-GST", "GST", "Inc-GST", "Charged to funds")
    assert [_cents(body[0][columns[name]]) for name in amounts] == [10_000, 1_000, 11_000, 11_000]
    assert _row(_sheet(out.getvalue(), "Summary"), "GST basis")[1] == "no_credits"
    columns, body = _table(_sheet(out.getvalue(), "Commitments"))
    assert [(row[columns["Client code"]], _cents(row[columns["Held"]])) for row in body] == [
        ("C-0001", 4_400)
    ]
