"""Closing a month: only on a clean reconciliation of the ledger as it stands, in order, by a
finance officer who did not pay that month; then nothing can be dated in it again."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from approvals import funds
from approvals.consortium.actors import Actor, load_actor
from approvals.errors import ConflictError, InvalidInputError, NotAllowedError
from approvals.fiscal import Period, financial_year, month
from approvals.models import AuditEvent, Consortium, Payment, User
from demo.base import CODE
from ledger.db import make_engine, make_session_factory, run_in_transaction
from ledger.errors import PeriodClosedError
from ledger.models import books
from reports.closing import sign_off_month
from reports.ledger_state import ledger_head
from reports.models import BankLine, BankStatement, ExportKind, ExportRun, MonthSignOff
from reports.runs import ExportOrder, run_export
from reports.written import MISMATCHES
from tests.support.clock import CLOCK

# The suite's clock: the demo is loaded at it, and the ledger refuses dates a year past now.
NOW = CLOCK.start


@pytest.fixture
def factory(demo_sqlite: Path, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    path = tmp_path / "demo.db"
    shutil.copy(demo_sqlite, path)
    engine = make_engine(f"sqlite:///{path}")
    yield make_session_factory(engine)
    engine.dispose()


def _last_paid_month(factory: sessionmaker[Session]) -> Period:
    with factory() as session:
        last = session.execute(select(func.max(Payment.paid_on))).scalar_one()
    return month(last.year, last.month)


def _as(factory: sessionmaker[Session], email: str, work: Callable[[Session, Actor], Any]) -> Any:
    def unit(session: Session) -> Any:
        user_id = session.execute(select(User.id).where(User.email == email)).scalar_one()
        consortium_id = session.execute(select(Consortium.id)).scalar_one()
        today = NOW.date() + timedelta(days=40)
        return work(
            session, load_actor(session, user_id=user_id, consortium_id=consortium_id, today=today)
        )

    return run_in_transaction(factory, unit)


def _close(factory: sessionmaker[Session], period: Period, who: str = "finmgr@lead.demo") -> Any:
    today = max(NOW.date(), period.end + timedelta(days=1))
    return _as(factory, who, lambda s, a: sign_off_month(s, a, period, today=today, now=NOW))


def _reconcile(factory: sessionmaker[Session], period: Period, folder: Path) -> ExportRun:
    order = ExportOrder(CODE, ExportKind.RECONCILIATION, period, folder, "user:test")
    run = run_export(factory, order, now=lambda: NOW)
    assert run is not None and run.status == "done"
    return run


@pytest.mark.calendar
def test_a_month_closes_on_a_clean_reconciliation_and_is_then_locked(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    period = _last_paid_month(factory)
    run = _reconcile(factory, period, tmp_path)
    assert json.loads(run.row_counts or "{}")[MISMATCHES] == 0
    _close(factory, period)
    with factory() as session:
        sign_off = session.execute(select(MonthSignOff)).scalar_one()
        assert (sign_off.period, sign_off.export_run_id) == (period.label, run.id)
        assert (sign_off.ledger_sequence, sign_off.ledger_hash) == ledger_head(
            session, CODE, period.end
        )
        assert session.execute(select(books.c.closed_through)).scalar() == period.end
        assert session.scalar(select(func.count()).where(AuditEvent.action == "period.closed")) == 1
    with pytest.raises(PeriodClosedError):
        _as(
            factory,
            "finmgr@lead.demo",
            lambda s, a: funds.receive_grant(
                s, a, amount_cents=100, on=period.end, memo="late", key=None, now=NOW
            ),
        )
    with pytest.raises(ConflictError, match="already closed"):
        _close(factory, period)


def test_a_month_without_a_reconciliation_cannot_close(factory: sessionmaker[Session]) -> None:
    with pytest.raises(ConflictError, match="reconciliation first"):
        _close(factory, _last_paid_month(factory))


def test_a_reconciliation_with_failed_checks_cannot_close_its_month(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    period = _last_paid_month(factory)
    run = _reconcile(factory, period, tmp_path)
    with factory.begin() as session:  # a finished run is fixed: this one is forged underneath
        session.execute(text("DROP TRIGGER export_runs_finished_fixed"))
        session.get_one(ExportRun, run.id).row_counts = json.dumps({MISMATCHES: 1})
    with pytest.raises(ConflictError, match="failed checks"):
        _close(factory, period)


def test_a_posting_dated_in_the_month_after_reconciling_makes_it_stale(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    period = _last_paid_month(factory)
    _reconcile(factory, period, tmp_path)
    _as(
        factory,
        "finmgr@lead.demo",
        lambda s, a: funds.receive_grant(
            s, a, amount_cents=100, on=period.start, memo="late receipt", key=None, now=NOW
        ),
    )
    with pytest.raises(ConflictError, match="changed since"):
        _close(factory, period)
    _reconcile(factory, period, tmp_path / "again")
    _close(factory, period)


def test_an_unmatched_bank_line_of_the_month_blocks_the_close(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    period = _last_paid_month(factory)
    _reconcile(factory, period, tmp_path)
    with factory.begin() as session:
        consortium_id = session.execute(select(Consortium.id)).scalar_one()
        statement = BankStatement(
            consortium_id=consortium_id,
            file_name="s.csv",
            sha256="0" * 64,
            line_count=1,
            imported_by="cli:test",
            imported_at=NOW,
        )
        session.add(statement)
        session.flush()
        session.add(
            BankLine(
                statement_id=statement.id,
                consortium_id=consortium_id,
                line_number=2,
                on=period.start,
                amount_cents=-4_200,
                payee="X",
                description="",
                reference="",
                status="unmatched",
            )
        )
    with pytest.raises(ConflictError, match="1 bank statement line"):
        _close(factory, period)


def test_whoever_paid_in_the_month_cannot_close_it(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    period = _last_paid_month(factory)
    _reconcile(factory, period, tmp_path)
    with pytest.raises(NotAllowedError, match="someone else"):
        _close(factory, period, who="fin@lead.demo")
    with pytest.raises(NotAllowedError):
        _close(factory, period, who="pm@lead.demo")


def test_months_close_in_order(factory: sessionmaker[Session], tmp_path: Path) -> None:
    period = _last_paid_month(factory)
    earlier = month(*_previous(period.start))
    before = month(*_previous(earlier.start))
    _reconcile(factory, before, tmp_path)
    _close(factory, before)
    _reconcile(factory, period, tmp_path)
    with pytest.raises(ConflictError, match=f"Close {earlier.label} first"):
        _close(factory, period)


def _previous(day: date) -> tuple[int, int]:
    last = day.replace(day=1) - timedelta(days=1)
    return last.year, last.month


def test_only_a_month_can_be_closed(factory: sessionmaker[Session]) -> None:
    year = financial_year(_last_paid_month(factory).start)
    with pytest.raises(InvalidInputError, match="Only a month"):
        _close(factory, year)
