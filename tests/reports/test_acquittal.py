"""The financial-year acquittal: its figures are the ledger's, its checks hold, it names no one.

Expected figures are worked out here straight from the ledger's transfers and the payments
register (not through the module under test), and the workbook is read back with openpyxl.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from approvals.consortium.clients import add_need, change_status, enrol_client
from approvals.errors import InvalidInputError
from approvals.fiscal import Period, financial_year, parse_financial_year, parse_month
from approvals.funds import receive_grant, return_to_funder, reverse
from approvals.lifecycle.payments import PaymentInput
from approvals.models import (
    Client,
    ClientStatus,
    Consortium,
    FundRequest,
    Need,
    NeedDomain,
    Payment,
    Refund,
)
from demo.base import CODE
from ledger.db import make_engine, make_session_factory
from ledger.models import accounts, books, transfers
from reports.acquittal import workbook as acquittal_workbook
from reports.acquittal.domains import DomainFigures, hidden_domains
from reports.acquittal.workbook import share, write_acquittal
from reports.models import ExportKind
from reports.runs import ExportOrder, parse_period, run_export
from reports.xlsx import MONEY_FORMAT, Percent
from tests.support.world import A, Desk, World, as_, build_desk, build_world

Rows = list[tuple[Any, ...]]


def _workbook(factory: sessionmaker[Session], book: str, period: Period) -> bytes:
    out = io.BytesIO()
    with factory() as session:
        write_acquittal(session, book, out, period)
    return out.getvalue()


def _sheets(data: bytes) -> dict[str, Rows]:
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook}


def _cents(value: Any) -> int:
    exact = Decimal(str(value)) * 100
    assert exact == exact.to_integral_value(), value
    return int(exact)


def _row(rows: Rows, label: str) -> tuple[Any, ...]:
    (found,) = [row for row in rows if row and row[0] == label]
    return found


def _years_with_entries(factory: sessionmaker[Session]) -> list[Period]:
    with factory() as session:
        first, last = session.execute(
            select(func.min(transfers.c.effective_date), func.max(transfers.c.effective_date))
            .join(books, books.c.id == transfers.c.book_id)
            .where(books.c.code == CODE)
        ).one()
    years = sorted({financial_year(first), financial_year(last)})
    assert years, "the demo has ledger entries"
    return years


def _from_the_ledger(factory: sessionmaker[Session], book: str, year: Period) -> dict[str, int]:
    """Received, spent and committed, added up here in Python from the raw transfers."""
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    with factory() as session:
        rows = session.execute(
            select(
                transfers.c.id,
                transfers.c.kind,
                transfers.c.phase,
                transfers.c.pending_id,
                transfers.c.amount,
                transfers.c.effective_date,
                debit.c.code.label("debit"),
                credit.c.code.label("credit"),
            )
            .join(books, books.c.id == transfers.c.book_id)
            .join(debit, debit.c.id == transfers.c.debit_account_id)
            .join(credit, credit.c.id == transfers.c.credit_account_id)
            .where(books.c.code == book)
        ).all()
    posted = [r for r in rows if r.phase != "pending" and r.effective_date in year]
    resolved = {r.pending_id for r in rows if r.pending_id and r.effective_date <= year.end}
    return {
        "received": sum(
            r.amount
            for r in posted
            if (r.debit, r.credit, r.kind) == ("bank", "pool", "grant_receipt")
        ),
        "spent": sum(
            r.amount for r in posted if r.debit.startswith("client:") and r.credit == "bank"
        )
        - sum(r.amount for r in posted if r.debit == "bank" and r.credit.startswith("client:")),
        "committed": sum(
            r.amount
            for r in rows
            if r.phase == "pending" and r.effective_date <= year.end and r.id not in resolved
        ),
    }


def _from_the_register(factory: sessionmaker[Session], book: str, year: Period) -> int:
    """Payments charged to funds less refunds, dated in the year, from their own tables."""
    with factory() as session:
        mine = select(Consortium.id).where(Consortium.code == book).scalar_subquery()
        paid = session.scalar(
            select(func.coalesce(func.sum(Payment.charged_cents), 0))
            .join(FundRequest, FundRequest.id == Payment.request_id)
            .where(FundRequest.consortium_id == mine, Payment.paid_on.between(year.start, year.end))
        )
        refunded = session.scalar(
            select(func.coalesce(func.sum(Refund.amount_cents), 0))
            .join(Payment, Payment.id == Refund.payment_id)
            .join(FundRequest, FundRequest.id == Payment.request_id)
            .where(
                FundRequest.consortium_id == mine,
                Refund.received_on.between(year.start, year.end),
            )
        )
    return int(paid or 0) - int(refunded or 0)


def test_each_demo_year_states_the_ledgers_receipts_spend_and_commitments(
    demo: sessionmaker[Session],
) -> None:
    seen: dict[str, int] = {"spent": 0, "committed": 0}
    for year in _years_with_entries(demo):
        summary = _sheets(_workbook(demo, CODE, year))["Summary"]
        ledger = _from_the_ledger(demo, CODE, year)
        seen = {name: seen[name] + ledger[name] for name in seen}
        assert _cents(_row(summary, "Add: received from the funder")[1]) == ledger["received"]
        spent = _cents(_row(summary, "Less: spent (payments less refunds)")[1])
        assert spent == ledger["spent"] == _from_the_register(demo, CODE, year)
        assert _cents(_row(summary, "Less: committed at 30 June")[1]) == ledger["committed"]
        assert _row(summary, "Financial year")[1] == year.label
    assert seen["spent"] > 0 and seen["committed"] > 0  # so the comparisons above mean something


def test_the_latest_year_closes_on_the_balances_the_accounts_hold_now(
    demo: sessionmaker[Session],
) -> None:
    """Nothing is dated after the demo's last year, so its 30 June is the counters' today."""
    year = _years_with_entries(demo)[-1]
    summary = _sheets(_workbook(demo, CODE, year))["Summary"]
    with demo() as session:
        closing, held = session.execute(
            select(
                func.sum(accounts.c.credits_posted - accounts.c.debits_posted),
                func.sum(accounts.c.debits_pending),
            )
            .join(books, books.c.id == accounts.c.book_id)
            .where(books.c.code == CODE, accounts.c.type == "fund")
        ).one()
    assert _cents(_row(summary, "Equals: closing funds (30 June)")[1]) == closing
    assert _cents(_row(summary, "Less: committed at 30 June")[1]) == held
    unspent = _cents(_row(summary, "Equals: unspent and uncommitted")[1])
    assert unspent == closing - held


def test_every_check_in_each_demo_year_says_ok_and_the_sheets_add_up(
    demo: sessionmaker[Session],
) -> None:
    for year in _years_with_entries(demo):
        sheets = _sheets(_workbook(demo, CODE, year))
        summary = sheets["Summary"]
        checks = summary[summary.index(_row(summary, "Checks")) + 1 :]
        assert len(checks) >= 5 and {row[1] for row in checks} == {"OK"}, checks
        spent = _cents(_row(summary, "Less: spent (payments less refunds)")[1])
        spend = sheets["Spend by category and NGO"]
        lines = spend[1 : spend.index(_row(spend, "Total"))]
        assert sum(_cents(line[9]) for line in lines) == _cents(_row(spend, "Total")[9]) == spent
        holders = sheets["Funds by holder"]
        closing = _cents(_row(summary, "Equals: closing funds (30 June)")[1])
        assert _cents(_row(holders, "Total")[2]) == closing


def test_no_group_of_fewer_than_five_clients_is_shown_in_any_demo_year(
    demo: sessionmaker[Session],
) -> None:
    for year in _years_with_entries(demo):
        outcomes = _sheets(_workbook(demo, CODE, year))["Outcomes by need domain"]
        for row in outcomes[1:7]:
            assert isinstance(row[1], str) or row[1] == 0 or row[1] >= 5, row
            if isinstance(row[1], str):
                assert all(value is None for value in row[2:]), row


def test_the_workbook_names_no_client_by_code_initials_or_goal(
    demo: sessionmaker[Session],
) -> None:
    with demo() as session:
        clients = session.execute(select(Client.code, Client.initials)).all()
        goals = set(session.scalars(select(Need.goal)))
    assert clients and goals
    for year in _years_with_entries(demo):
        data = _workbook(demo, CODE, year)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            text = "".join(archive.read(name).decode("utf-8") for name in archive.namelist())
        cells = {
            str(value).strip() for rows in _sheets(data).values() for row in rows for value in row
        }
        for code, initials in clients:
            assert code not in text
            assert initials not in cells
        assert not any(goal in text for goal in goals)
        assert not re.search(r"client:[A-Za-z0-9]", text)  # not even an account code


def test_the_same_ledger_state_writes_the_same_bytes_and_a_run_records_it(
    demo_sqlite: Path, tmp_path: Path
) -> None:
    database = tmp_path / "demo.db"
    shutil.copy(demo_sqlite, database)  # the runs are recorded in it
    engine = make_engine(f"sqlite:///{database}")
    factory = make_session_factory(engine)
    year = _years_with_entries(factory)[0]
    order = ExportOrder(CODE, ExportKind.ACQUITTAL, year, tmp_path / "a", "user:test")
    first = run_export(factory, order, now=lambda: datetime(2027, 1, 2, tzinfo=UTC))
    second = run_export(
        factory,
        replace(order, out_dir=tmp_path / "b"),
        now=lambda: datetime(2027, 3, 4, tzinfo=UTC),
    )
    engine.dispose()
    assert first is not None and second is not None and first.status == "done"
    assert first.file_name == f"{CODE}-acquittal-{year.label}.xlsx"
    one = (tmp_path / "a" / first.file_name).read_bytes()
    assert one == (tmp_path / "b" / first.file_name).read_bytes()
    assert first.sha256 == second.sha256 and first.ledger_hash == second.ledger_hash
    assert first.row_counts and '"mismatches": 0' in first.row_counts
    assert _row(_sheets(one)["Summary"], "Ledger chain hash")[1] == first.ledger_hash


def test_rewriting_on_each_database_gives_identical_bytes(demo: sessionmaker[Session]) -> None:
    year = _years_with_entries(demo)[-1]
    assert _workbook(demo, CODE, year) == _workbook(demo, CODE, year)


def test_a_month_or_no_period_is_refused_because_an_acquittal_covers_a_financial_year(
    demo_sqlite: Path,
) -> None:
    with pytest.raises(InvalidInputError, match="covers a financial year") as refused:
        parse_period("2026-10", ExportKind.ACQUITTAL)
    assert refused.value.fields == {"period": "Use FY2025-26."}
    with pytest.raises(InvalidInputError, match="needs a period"):
        parse_period(None, ExportKind.ACQUITTAL)
    assert parse_period("FY2025-26", ExportKind.ACQUITTAL) == parse_financial_year("FY2025-26")
    engine = make_engine(f"sqlite:///{demo_sqlite}")
    try:
        with make_session_factory(engine)() as session, pytest.raises(InvalidInputError):
            write_acquittal(session, CODE, io.BytesIO(), parse_month("2026-10"))
    finally:
        engine.dispose()


# -- a small year built through the services: groups small enough to hide ---------------------

GROUPS = {  # domain: (clients, cents each client is paid); the desk's own client comes first
    NeedDomain.DAILY_LIVING: (5, 6_100),
    NeedDomain.HOUSING: (6, 10_000),
    NeedDomain.TRANSPORT: (2, 3_750),
}


def _client(desk: Desk, number: int, domain: NeedDomain) -> Desk:
    world = desk.world

    def enrol(session: Session, actor: Any) -> tuple[int, int]:
        client = enrol_client(
            session,
            actor,
            code=f"C-{number:04d}",
            initials="XY",
            organisation_id=world.organisations["NGO1"],
            support_facilitator_id=world.users["sf1"],
            now=world.now,
        )
        change_status(session, actor, client.id, ClientStatus.ACTIVE, now=world.now)
        need = add_need(session, actor, client.id, domain=domain.value, goal="Goal", now=world.now)
        return client.id, need.id

    client_id, need_id = as_(world, "sf1", enrol)
    return replace(desk, client_id=client_id, need_id=need_id)


def _paid(desk: Desk, cents: int, invoice: str) -> None:
    request_id = desk.submitted(amount=cents)
    desk.act("tl1", request_id, A.APPROVE)
    payment = PaymentInput(invoice, cents, 0, desk.world.today, final=True)
    desk.act("fin", request_id, A.PAY, payment=payment)


def _small_year(factory: sessionmaker[Session]) -> tuple[World, Desk]:
    world = build_world(factory, datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    desk = build_desk(world)
    number = 1
    for domain, (clients, cents) in GROUPS.items():
        for _ in range(clients):
            paying = desk if number == 1 else _client(desk, number, domain)
            _paid(paying, cents, f"INV-{number}")
            number += 1
    return world, desk


def test_a_small_group_is_hidden_with_a_complement_so_subtraction_reveals_only_five_or_more(
    session_factory: sessionmaker[Session],
) -> None:
    world, _ = _small_year(session_factory)
    data = _workbook(session_factory, world.code, financial_year(world.today))
    sheets = _sheets(data)
    outcomes, summary = sheets["Outcomes by need domain"], sheets["Summary"]
    transport_row, daily = _row(outcomes, "Transport"), _row(outcomes, "Daily living")
    assert transport_row[1] == "fewer than 5 clients"
    assert isinstance(daily[1], str) and "withheld" in daily[1]  # the complement
    assert all(value is None for value in transport_row[2:] + daily[2:])
    housing, total = _row(outcomes, "Housing"), _row(outcomes, "Total of the domains shown")
    assert housing[1:4] == total[1:4] == (6, 6, 6)
    assert _cents(housing[4]) == _cents(total[4]) == 6 * 10_000
    spent = _cents(_row(summary, "Less: spent (payments less refunds)")[1])
    transport, daily_spend = 2 * 3_750, 5 * 6_100
    assert spent - _cents(total[4]) == transport + daily_spend  # only the 7 clients together
    amounts = _money_cells(data)
    assert transport not in amounts and daily_spend not in amounts


def _money_cells(data: bytes) -> set[int]:
    """Every amount of money anywhere in the workbook, in cents."""
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    return {
        _cents(cell.value)
        for sheet in workbook
        for row in sheet.iter_rows()
        for cell in row
        if getattr(cell, "number_format", None) == MONEY_FORMAT and cell.value is not None
    }


def test_returns_to_the_funder_and_reversed_grants_keep_the_identity_and_are_shown(
    session_factory: sessionmaker[Session],
) -> None:
    world, _ = _small_year(session_factory)
    on, now = world.today, world.now
    grant = as_(
        world,
        "fin",
        lambda s, a: receive_grant(
            s, a, amount_cents=50_000, on=on, memo="Top-up", key=None, now=now
        ),
    )
    as_(
        world,
        "finmgr",
        lambda s, a: reverse(
            s,
            a,
            transaction_id=grant.transaction_id,
            on=on,
            memo="Keyed in error",
            key=None,
            now=now,
        ),
    )
    as_(
        world,
        "finmgr",
        lambda s, a: return_to_funder(
            s, a, amount_cents=100_000, on=on, memo="Unspent", key=None, now=now
        ),
    )
    summary = _sheets(_workbook(session_factory, world.code, financial_year(on)))["Summary"]
    money = {label: _cents(_row(summary, label)[1]) for label in _FUND_LINES}
    assert money["Add: received from the funder"] == 10_000_000 + 50_000
    assert money["Less: returned to the funder"] == 100_000
    assert money["Add: other movements (reversals, adjustments)"] == -50_000
    assert money["Opening funds (1 July)"] == 0
    spent = sum(clients * cents for clients, cents in GROUPS.values())
    assert money["Equals: closing funds (30 June)"] == 10_000_000 - spent - 100_000
    checks = summary[summary.index(_row(summary, "Checks")) + 1 :]
    assert {row[1] for row in checks} == {"OK"}, checks


_FUND_LINES = (
    "Opening funds (1 July)",
    "Add: received from the funder",
    "Less: returned to the funder",
    "Add: other movements (reversals, adjustments)",
    "Equals: closing funds (30 June)",
)


@pytest.mark.postgres
def test_a_grant_committed_while_the_workbook_is_written_is_left_out_of_all_of_it(
    postgres_migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL reads at READ COMMITTED; the workbook must still come from one snapshot."""
    engine = make_engine(postgres_migrated)
    factory = make_session_factory(engine)
    world = build_world(factory, datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    build_desk(world)
    real = acquittal_workbook.open_holds

    def meanwhile(session: Session, book: str, through: Any) -> dict[str, int]:
        as_(
            world,
            "fin",
            lambda s, a: receive_grant(
                s, a, amount_cents=12_345, on=world.today, memo="Late", key=None, now=world.now
            ),
        )
        return real(session, book, through)

    monkeypatch.setattr(acquittal_workbook, "open_holds", meanwhile)
    try:
        summary = _sheets(_workbook(factory, world.code, financial_year(world.today)))["Summary"]
        monkeypatch.undo()
        ledger = _from_the_ledger(factory, world.code, financial_year(world.today))
    finally:
        engine.dispose()
    assert ledger["received"] == 10_000_000 + 12_345  # it did arrive, after the snapshot
    assert _cents(_row(summary, "Add: received from the funder")[1]) == 10_000_000
    checks = summary[summary.index(_row(summary, "Checks")) + 1 :]
    assert {row[1] for row in checks} == {"OK"}, checks


# -- the suppression rule on its own ---------------------------------------------------------


def _domains(**sizes: int) -> list[DomainFigures]:
    """Each domain's clients numbered from 0, so domains share clients unless offset."""
    figures, start = [], 0
    for domain in NeedDomain:
        size = sizes.get(domain.value, 0)
        clients = frozenset(range(start, start + size))
        figures.append(DomainFigures(domain, clients, clients, clients, 100 * size))
        start += size
    return figures


@pytest.mark.parametrize(
    ("sizes", "hidden"),
    [
        ({"housing": 9, "transport": 7}, set()),
        ({"housing": 9, "transport": 7, "daily_living": 3}, {"daily_living", "transport"}),
        ({"housing": 9, "transport": 2, "daily_living": 3}, {"daily_living", "transport"}),
        (
            {"housing": 9, "transport": 1, "daily_living": 1},
            {"daily_living", "transport", "housing"},
        ),
        ({"housing": 4}, {"housing"}),
        ({"housing": 5, "transport": 0, "daily_living": 4}, {"daily_living", "housing"}),
    ],
)
def test_hidden_domains_hold_five_or_more_clients_together_or_are_all_there_is(
    sizes: dict[str, int], hidden: set[str]
) -> None:
    assert hidden_domains(_domains(**sizes)) == {NeedDomain(name) for name in hidden}


def test_a_client_in_two_small_domains_is_counted_once_when_deciding_the_complement() -> None:
    shared = frozenset({1, 2, 3})
    domains = [
        DomainFigures(NeedDomain.HOUSING, shared, shared, shared, 300),
        DomainFigures(NeedDomain.TRANSPORT, shared | {4}, shared, shared, 400),
        DomainFigures(NeedDomain.DAILY_LIVING, frozenset(range(10, 20)), shared, shared, 900),
    ]
    assert hidden_domains(domains) == {d.domain for d in domains}  # 4 people, not 7


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(1, 3, 3_333), (2, 3, 6_667), (-1, 3, -3_333), (1, 20_000, 1), (1, 20_001, 0), (5, 5, 10_000)],
)
def test_a_share_is_in_basis_points_rounded_half_away_from_zero(
    part: int, whole: int, expected: int
) -> None:
    assert share(part, whole) == Percent(expected)
    assert share(part, 0) is None
