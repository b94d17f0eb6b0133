"""``flexpool bank import``: what an operator sees, the exit codes, and nothing written on error."""

from __future__ import annotations

import getpass
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from approvals.models import Payment
from demo.base import CODE
from ledger.db import make_engine, make_session_factory
from ledger.errors import ConcurrencyError
from ledger.money import cents_to_decimal_text
from reports.models import BankLine, BankStatement
from tests.support.web import on_the_suite_clock
from web.cli import main

HEADER = "*Date,*Amount,Payee,Description,Reference"


@pytest.fixture
def database(demo_sqlite: Path, tmp_path: Path) -> str:
    shutil.copy(demo_sqlite, tmp_path / "demo.db")
    return f"sqlite:///{tmp_path / 'demo.db'}"


def run(database: str, *args: str) -> Result:
    runner = CliRunner(env={"FLEXPOOL_DATABASE_URL": database})
    return runner.invoke(
        main, ["bank", "import", *args], catch_exceptions=False, obj=on_the_suite_clock()
    )


def rows(database: str) -> tuple[list[BankStatement], list[BankLine], Payment]:
    engine = make_engine(database)
    try:
        with make_session_factory(engine)() as session:
            statements = list(session.execute(select(BankStatement)).scalars())
            lines = list(session.execute(select(BankLine).order_by(BankLine.id)).scalars())
            latest = session.execute(
                select(Payment).order_by(Payment.paid_on.desc(), Payment.id.desc()).limit(1)
            ).scalar_one()
    finally:
        engine.dispose()
    return statements, lines, latest


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "statement.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def test_an_import_prints_what_was_matched_and_records_the_operator(
    database: str, tmp_path: Path
) -> None:
    payment = rows(database)[2]
    amount = cents_to_decimal_text(-payment.inc_gst_cents)
    path = write(tmp_path, f"{payment.paid_on:%d/%m/%Y},{amount},S,,", "01/07/2026,-4.95,Bank,,")
    result = run(database, str(path), "--consortium", CODE)
    assert result.exit_code == 0, result.output
    assert "2 line(s), 1 matched, 1 unmatched" in result.output
    (statement,), lines, _ = rows(database)
    assert statement.imported_by == f"cli:{getpass.getuser()}" and statement.imported_by_id is None
    assert [line.payment_id for line in lines] == [payment.id, None]
    again = run(database, str(path), "--consortium", CODE)
    assert again.exit_code == 2 and "already imported" in again.output


def test_a_bad_file_exits_2_listing_every_bad_line_and_writes_nothing(
    database: str, tmp_path: Path
) -> None:
    path = write(tmp_path, "01/11/2026,-5,ok,,", "31/02/2026,-5,,,", "01/11/2026,1e3,,,")
    result = run(database, str(path), "--consortium", CODE)
    assert result.exit_code == 2
    assert "Line 3:" in result.stderr and "Line 4:" in result.stderr
    assert "Line 2:" not in result.stderr
    statements, lines, _ = rows(database)
    assert statements == [] and lines == []


def test_an_unknown_consortium_exits_2(database: str, tmp_path: Path) -> None:
    result = run(database, str(write(tmp_path, "01/11/2026,-5,,,")), "--consortium", "NOPE")
    assert result.exit_code == 2 and "no consortium 'NOPE'" in result.stderr
    assert rows(database)[0] == []


def test_a_busy_database_exits_2_with_the_reason_not_a_traceback(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any refusal of the domain (here the ledger's "busy") is an operator's message."""

    def busy(*_args: object, **_kwargs: object) -> None:
        raise ConcurrencyError("The database stayed busy; try again.")

    monkeypatch.setattr("reports.bank.statement_import.import_statement", busy)
    result = run(database, str(write(tmp_path, "01/11/2026,-5,,,")), "--consortium", CODE)
    assert result.exit_code == 2 and "stayed busy" in result.stderr
    assert rows(database)[0] == []
