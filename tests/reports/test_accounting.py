"""Xero and MYOB journals: re-parsed, they balance, use known codes and restate the ledger.

The ledger's own figures (trial-balance movements, client-to-bank transfers) are computed here
independently of the writers; the pre-flight is proven on hand-made lines, one fault at a time.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from approvals.consortium.actors import Actor, load_actor
from approvals.fiscal import Period, financial_year, month
from approvals.funds import receive_gst_refund, return_to_funder, reverse
from approvals.models import Category, Consortium, Payment, User
from demo.base import CODE
from ledger.db import make_engine, make_session_factory, run_in_transaction
from ledger.models import accounts, books, transfers
from ledger.posting import post_entry
from ledger.queries import trial_balance
from ledger.values import POSTED_PHASES, JournalEntry, Transfer, TransferKind
from reports.accounting.rows import (
    MYOB_FIELDS,
    XERO_HEADER,
    AccountingMap,
    ExportRejectedError,
    Line,
    MyobLayout,
    myob_rules,
    preflight,
    xero_rules,
)
from reports.accounting.xero_myob import write_myob, write_xero
from reports.cells import TRIGGERS
from reports.models import ExportKind, ExportRun
from reports.runs import ExportOrder, run_export

CHART = AccountingMap()
CATEGORY_CODES = ("6-1100", "6-1200")


# -- the pre-flight, on lines made by hand ---------------------------------------------------


def _journal(pairs: int = 2) -> list[Line]:
    """A balanced journal: each expense line followed by the bank line that pays it."""
    lines: list[Line] = []
    for number in range(pairs):
        cents = 1_000 + number
        expense = CATEGORY_CODES[number % 2]
        lines.append(
            Line("flexpool T 2026-10", "31/10/2026", "Spend", expense, "BAS Excluded", cents)
        )
        lines.append(
            Line("flexpool T 2026-10", "31/10/2026", "Paid", CHART.bank, "BAS Excluded", -cents)
        )
    return lines


def test_a_balanced_journal_of_known_codes_passes_both_preflights() -> None:
    lines = _journal()
    assert preflight(lines, xero_rules(CATEGORY_CODES, CHART)) == []
    myob = [replace(line, tax="N-T") for line in lines]
    assert preflight(myob, myob_rules(CATEGORY_CODES, CHART)) == []


@pytest.mark.parametrize(
    ("change", "row", "says"),
    [
        ({"amount": 999}, 2, "does not balance"),
        ({"account": "9-9999"}, 3, "not a known account code"),
        ({"tax": "GST on Expense"}, 4, "tax 'GST on Expense'"),
        ({"date": "2026-10-31"}, 5, "dd/mm/yyyy"),
        ({"date": "31/02/2026"}, 5, "not a real date"),
    ],
)
def test_the_preflight_names_the_row_and_the_fault(
    change: dict[str, object], row: int, says: str
) -> None:
    lines = _journal()
    lines[row - 2] = replace(lines[row - 2], **change)  # type: ignore[arg-type]
    findings = preflight(lines, xero_rules(CATEGORY_CODES, CHART))
    assert any(row in f.rows and says in f.problem for f in findings), findings


def test_a_zero_line_is_refused_even_when_the_journal_balances() -> None:
    lines = [*_journal(), replace(_journal()[0], amount=0)]
    findings = preflight(lines, xero_rules(CATEGORY_CODES, CHART))
    assert [str(f) for f in findings] == [f"row {len(lines) + 1}: the amount is zero"]


def test_more_than_xero_allows_in_one_file_is_refused_naming_the_rows_past_the_limit() -> None:
    lines = _journal(151)  # 302 lines
    findings = preflight(lines, xero_rules(CATEGORY_CODES, CHART))
    assert len(findings) == 1 and findings[0].rows == (302, 303)
    assert "302 lines" in findings[0].problem
    assert preflight(lines[:300], xero_rules(CATEGORY_CODES, CHART)) == []


def test_myob_refuses_an_account_not_shaped_like_its_numbers_that_xero_accepts() -> None:
    lines = [
        replace(line, account="420") if line.account == "6-1100" else line for line in _journal()
    ]
    assert preflight(lines, xero_rules(("420", "6-1200"), CHART)) == []
    myob = [replace(line, tax="N-T") for line in lines]
    findings = preflight(myob, myob_rules(("420", "6-1200"), CHART))
    assert [f.rows for f in findings] == [(2,)] and "6-1234" in findings[0].problem


def test_every_fault_is_reported_at_once_with_its_rows() -> None:
    lines = _journal(3)
    lines[1] = replace(lines[1], account="nope")
    lines[2] = replace(lines[2], tax="Mystery")
    lines[4] = replace(lines[4], amount=lines[4].amount + 1)
    findings = preflight(lines, xero_rules(CATEGORY_CODES, CHART))
    assert sorted(row for f in findings for row in f.rows if len(f.rows) == 1) == [3, 4]
    assert [f.rows for f in findings if "balance" in f.problem] == [(2, 3, 4, 5, 6, 7)]
    error = ExportRejectedError("Xero manual journal", findings)
    assert "3 problem(s)" in error.message and "row 3:" in error.message
    assert "rows 2-7:" in error.message and error.findings == tuple(findings)


def test_a_myob_layout_names_only_fields_myob_knows() -> None:
    assert MyobLayout(columns=MYOB_FIELDS[:6]).columns == MYOB_FIELDS[:6]
    with pytest.raises(ValueError, match="Journal Nr"):
        MyobLayout(columns=("Journal Nr", "Date"))


# -- the demo book ---------------------------------------------------------------------------


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def demo(request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        url = f"sqlite:///{request.getfixturevalue('demo_sqlite')}"
    else:
        url = str(request.getfixturevalue("demo_postgres"))
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def busiest_month(session: Session) -> Period:
    days = session.execute(select(Payment.paid_on)).scalars().all()
    (year, number), _ = max(Counter((d.year, d.month) for d in days).items(), key=lambda i: i[::-1])
    return month(year, number)


@pytest.fixture(params=["month", "year"])
def period(request: pytest.FixtureRequest, demo: sessionmaker[Session]) -> Period:
    with demo() as session:
        busy = busiest_month(session)
    return busy if request.param == "month" else financial_year(busy.start)


def _movement(session: Session, account: str, period: Period) -> int:
    """Net debit of a ledger account over the period, from two as-of trial balances."""

    def balance(day: object) -> int:
        lines = trial_balance(session, CODE, as_of=day)  # type: ignore[arg-type]
        return sum(line.balance for line in lines if line.account == account)

    return balance(period.end) - balance(period.start - timedelta(days=1))


def _spend(session: Session, period: Period) -> int:
    """Client money paid out of the bank in the period, less what suppliers refunded."""
    debit, credit = accounts.alias("d"), accounts.alias("c")
    query = (
        select(debit.c.code, credit.c.code, func.sum(transfers.c.amount))
        .join(books, books.c.id == transfers.c.book_id)
        .join(debit, debit.c.id == transfers.c.debit_account_id)
        .join(credit, credit.c.id == transfers.c.credit_account_id)
        .where(
            books.c.code == CODE,
            transfers.c.effective_date.between(period.start, period.end),
            transfers.c.phase.in_([p.value for p in POSTED_PHASES]),
        )
        .group_by(debit.c.code, credit.c.code)
    )
    spend = 0
    for debit_code, credit_code, amount in session.execute(query):
        if credit_code == "bank" and debit_code.startswith("client:"):
            spend += int(amount)
        elif debit_code == "bank" and credit_code.startswith("client:"):
            spend -= int(amount)
    return spend


def _category_codes(session: Session) -> set[str]:
    return set(session.execute(select(Category.gl_code)).scalars())


def _cents(text: str) -> int:
    return int(Decimal(text) * 100)


def _parse(raw: bytes, delimiter: str) -> list[list[str]]:
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF throughout
    return list(csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), delimiter=delimiter))


def test_the_xero_journal_balances_uses_known_codes_and_restates_the_ledger(
    demo: sessionmaker[Session], period: Period
) -> None:
    with demo() as session:
        out = io.BytesIO()
        written = write_xero(session, CODE, out, period)
        header, *rows = _parse(out.getvalue(), ",")
        categories = _category_codes(session)
        totals: dict[str, int] = defaultdict(int)
        journals: dict[tuple[str, str], int] = defaultdict(int)
        for row in rows:
            journals[(row[0], row[1])] += _cents(row[5])
            totals[row[3] if row[3] not in categories else "expense"] += _cents(row[5])
        assert header == list(XERO_HEADER) and written.row_counts["lines"] == len(rows) > 0
        assert list(journals.values()) == [0] and written.row_counts["journals"] == 1
        assert {row[1] for row in rows} == {period.end.strftime("%d/%m/%Y")}
        assert {row[3] for row in rows} <= categories | CHART.own_accounts()
        assert {row[4] for row in rows} <= CHART.xero_tax_names()
        assert all(_cents(row[5]) != 0 for row in rows)
        assert totals["expense"] == _spend(session, period)
        assert totals[CHART.gst_paid] == _movement(session, "gst_receivable", period)
        assert totals[CHART.bank] == _movement(session, "bank", period)


def test_the_myob_journal_balances_uses_known_codes_and_restates_the_ledger(
    demo: sessionmaker[Session], period: Period
) -> None:
    with demo() as session:
        out = io.BytesIO()
        write_myob(session, CODE, out, period)
        header, *rows = _parse(out.getvalue(), "\t")
        categories = _category_codes(session)
        cells = [dict(zip(header, row, strict=True)) for row in rows]
        signed = [
            _cents(c["Debit Amount"] or "0") - _cents(c["Credit Amount"] or "0") for c in cells
        ]
        expense = sum(
            s for s, c in zip(signed, cells, strict=True) if c["Account Number"] in categories
        )
        gst = sum(
            s for s, c in zip(signed, cells, strict=True) if c["Account Number"] == CHART.gst_paid
        )
        assert tuple(header) == MyobLayout().columns and sum(signed) == 0 and 0 not in signed
        assert {c["Account Number"] for c in cells} <= categories | CHART.own_accounts()
        assert {c["Tax Code"] for c in cells} <= {code for _, code in CHART.tax_rates}
        assert len({c["Journal Number"] for c in cells}) == 1
        assert expense == _spend(session, period)
        assert gst == _movement(session, "gst_receivable", period)


# -- runs on a copy of the demo book ---------------------------------------------------------


def _now() -> datetime:
    return datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def factory(demo_sqlite: Path, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    path = tmp_path / "demo.db"
    shutil.copy(demo_sqlite, path)
    engine = make_engine(f"sqlite:///{path}")
    yield make_session_factory(engine)
    engine.dispose()


def _order(kind: ExportKind, folder: Path, period: Period) -> ExportOrder:
    return ExportOrder(CODE, kind, period, folder, "user:test")


def _busy(factory: sessionmaker[Session]) -> Period:
    with factory() as session:
        return busiest_month(session)


def _change(factory: sessionmaker[Session], statement: object) -> None:
    run_in_transaction(factory, lambda s: s.execute(statement))  # type: ignore[call-overload]


@pytest.mark.parametrize("kind", [ExportKind.XERO, ExportKind.MYOB])
def test_a_run_records_its_checksum_and_reruns_byte_for_byte(
    factory: sessionmaker[Session], tmp_path: Path, kind: ExportKind
) -> None:
    period = _busy(factory)
    first = run_export(factory, _order(kind, tmp_path / "a", period), now=_now)
    second = run_export(factory, _order(kind, tmp_path / "b", period), now=_now)
    assert first is not None and second is not None and first.status == "done"
    assert first.file_name == second.file_name and first.sha256 == second.sha256
    name = str(first.file_name)
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first.row_counts and '"lines"' in first.row_counts


@pytest.mark.parametrize(
    ("kind", "gl_code", "says"),
    [(ExportKind.XERO, "=1+1", "not a Xero account code"), (ExportKind.MYOB, "420", "6-1234")],
)
def test_a_run_the_preflight_rejects_is_failed_with_its_rows_listed_and_writes_no_file(
    factory: sessionmaker[Session], tmp_path: Path, kind: ExportKind, gl_code: str, says: str
) -> None:
    _change(factory, update(Category).values(gl_code=gl_code))
    with pytest.raises(ExportRejectedError) as rejected:
        run_export(factory, _order(kind, tmp_path / "out", _busy(factory)), now=_now)
    rows = sorted({row for finding in rejected.value.findings for row in finding.rows})
    with factory() as session:
        run = session.execute(select(ExportRun)).scalar_one()
    assert run.status == "failed" and run.file_name is None and run.error
    assert says in run.error and f"row {rows[0]}:" in run.error
    assert list((tmp_path / "out").iterdir()) == []  # no file, no partial


def test_user_text_cannot_become_a_formula_in_either_file(
    factory: sessionmaker[Session],
) -> None:
    _change(factory, update(Category).values(name='=HYPERLINK("http://x.example","y")'))
    period = _busy(factory)
    with factory() as session:
        xero, myob = io.BytesIO(), io.BytesIO()
        write_xero(session, CODE, xero, period)
        write_myob(session, CODE, myob, period)
    _, *xero_rows = _parse(xero.getvalue(), ",")
    header, *myob_rows = _parse(myob.getvalue(), "\t")
    text_cells = [c for row in xero_rows for i, c in enumerate(row) if i != 5]
    assert any(c.startswith("'=HYPERLINK") for c in text_cells)
    assert not any(c.startswith(TRIGGERS) for c in text_cells)
    memos = [row[header.index("Allocation Memo")] for row in myob_rows]
    assert any(m.startswith("'=HYPERLINK") for m in memos)
    assert not any(c.startswith(TRIGGERS) for row in myob_rows for c in row)


def _as_finance_manager(session: Session, day: date) -> Actor:
    user_id = session.execute(select(User.id).where(User.email == "finmgr@lead.demo")).scalar_one()
    consortium_id = session.execute(
        select(Consortium.id).where(Consortium.code == CODE)
    ).scalar_one()
    return load_actor(session, user_id=user_id, consortium_id=consortium_id, today=day)


def test_gst_refunds_returns_and_their_reversals_post_to_their_own_accounts(
    factory: sessionmaker[Session],
) -> None:
    period = _busy(factory)
    day, now = period.end, _now()

    def post(session: Session) -> None:
        actor = _as_finance_manager(session, day)
        receive_gst_refund(
            session, actor, amount_cents=4_321, on=day, memo="BAS", key=None, now=now
        )
        return_to_funder(
            session, actor, amount_cents=12_345, on=day, memo="Left", key=None, now=now
        )
        twice = return_to_funder(
            session, actor, amount_cents=500, on=day, memo="Twice", key=None, now=now
        )
        reverse(
            session,
            actor,
            transaction_id=twice.transaction_id,
            on=day,
            memo="Twice",
            key=None,
            now=now,
        )

    run_in_transaction(factory, post)
    with factory() as session:
        out = io.BytesIO()
        write_xero(session, CODE, out, period)
        _, *rows = _parse(out.getvalue(), ",")
        bank = _movement(session, "bank", period)
    lines = {(row[2], row[3]): _cents(row[5]) for row in rows if not row[9]}  # the pool's own
    assert lines[("GST refunds from the tax office", CHART.gst_paid)] == -4_321
    assert lines[("GST refunds from the tax office", CHART.bank)] == 4_321
    assert lines[("Unspent funds returned to the funder", CHART.returned_to_funder)] == 12_845
    assert lines[("Unspent funds returned to the funder", CHART.bank)] == -12_845
    assert lines[("Returns to the funder reversed", CHART.returned_to_funder)] == -500
    assert lines[("Returns to the funder reversed", CHART.bank)] == 500
    assert sum(_cents(row[5]) for row in rows if row[3] == CHART.bank) == bank


def test_a_bank_movement_no_rule_maps_fails_the_preflight_by_name(
    factory: sessionmaker[Session],
) -> None:
    period = _busy(factory)
    fee = Transfer("org:NGO1", "bank", 250, TransferKind.ADJUSTMENT)
    entry = JournalEntry(CODE, period.end, "Bank fee", "test", (fee,))
    run_in_transaction(factory, lambda s: post_entry(s, entry, now=_now()))
    with factory() as session, pytest.raises(ExportRejectedError) as rejected:
        write_xero(session, CODE, io.BytesIO(), period)
    assert "'ledger:org:NGO1' is not a known account code" in rejected.value.message


@pytest.mark.parametrize(
    ("debit", "credit"), [("bank", "pool"), ("pool", "bank"), ("bank", "gst_receivable")]
)
def test_an_adjustment_of_the_bank_is_not_filed_as_grant_income_or_gst(
    factory: sessionmaker[Session], debit: str, credit: str
) -> None:
    """Bank interest booked as an adjustment used to become "Grants received" (or a GST refund):
    a kind with no rule of its own now fails the pre-flight, and finance posts it by hand."""
    period = _busy(factory)
    interest = Transfer(debit, credit, 137, TransferKind.ADJUSTMENT)
    entry = JournalEntry(CODE, period.end, "Bank interest", "test", (interest,))
    run_in_transaction(factory, lambda s: post_entry(s, entry, now=_now()))
    with factory() as session, pytest.raises(ExportRejectedError) as rejected:
        write_xero(session, CODE, io.BytesIO(), period)
    other = debit if credit == "bank" else credit
    assert f"'ledger:{other}' is not a known account code" in rejected.value.message


def test_without_gst_credits_every_expense_line_is_bas_excluded(
    factory: sessionmaker[Session],
) -> None:
    _change(factory, update(Consortium).values(gst_basis="no_credits"))
    with factory() as session:
        out = io.BytesIO()
        write_xero(session, CODE, out, _busy(factory))
        categories = _category_codes(session)
    _, *rows = _parse(out.getvalue(), ",")
    assert {row[4] for row in rows if row[3] in categories} == {CHART.bas_excluded}
