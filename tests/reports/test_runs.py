"""Export runs: recorded with their checksum, written whole or not at all, scheduled once."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from approvals.errors import InvalidInputError
from approvals.fiscal import parse_month
from demo.base import CODE
from ledger.db import make_engine, make_session_factory
from reports.models import ExportKind, ExportRun
from reports.runs import ExportOrder, parse_period, run_export
from tests.support.clock import CLOCK


def _now() -> datetime:
    return CLOCK.start  # one moment for every run of a test, so reruns compare byte for byte


LAST_MONTH = f"{CLOCK.today.replace(day=1) - timedelta(days=1):%Y-%m}"  # whole, in the demo


@pytest.fixture
def database(demo_sqlite: Path, tmp_path: Path) -> str:
    path = tmp_path / "demo.db"
    shutil.copy(demo_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture
def factory(database: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database)
    yield make_session_factory(engine)
    engine.dispose()


def _order(folder: Path, **changes: object) -> ExportOrder:
    values: dict[str, object] = {
        "consortium": CODE,
        "kind": ExportKind.JOURNAL,
        "period": parse_month(LAST_MONTH),
        "out_dir": folder,
        "requested_by": "user:test",
    }
    values.update(changes)
    return ExportOrder(**values)  # type: ignore[arg-type]


@pytest.mark.calendar
def test_a_run_records_the_file_checksum_and_the_ledger_state_and_reruns_byte_for_byte(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    first = run_export(factory, _order(tmp_path / "a"), now=_now)
    second = run_export(factory, _order(tmp_path / "b"), now=_now)
    assert first is not None and second is not None
    assert first.status == second.status == "done"
    one = (tmp_path / "a" / first.file_name).read_bytes()  # type: ignore[operator]
    assert one == (tmp_path / "b" / second.file_name).read_bytes()  # type: ignore[operator]
    assert first.sha256 == second.sha256 == hashlib.sha256(one).hexdigest()
    assert (
        first.ledger_sequence and first.ledger_hash and f"{first.ledger_sequence}," in one.decode()
    )
    assert first.row_counts and '"entries"' in first.row_counts
    assert [p.name for p in (tmp_path / "a").iterdir()] == [first.file_name]  # no partial left


def test_a_scheduled_period_runs_once_however_often_it_is_asked(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    order = _order(tmp_path, scheduled=True, requested_by="scheduler")
    assert run_export(factory, order, now=_now) is not None
    assert run_export(factory, order, now=_now) is None
    assert run_export(factory, _order(tmp_path), now=_now) is not None  # a person may re-run
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(ExportRun)) == 2  # no third row


def test_a_run_that_cannot_write_is_failed_with_its_reason_and_leaves_no_file(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("in the way")
    with pytest.raises(OSError):
        run_export(factory, _order(blocker), now=_now)
    with factory() as session:
        run = session.execute(select(ExportRun)).scalar_one()
    assert run.status == "failed" and run.error and run.sha256 is None
    assert blocker.read_text() == "in the way"


@pytest.mark.parametrize("label", ["2026-13", "FY2025-27", "October", "2026-1O"])
def test_a_bad_period_is_refused_clearly(label: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_period(label, ExportKind.JOURNAL)


def test_the_cli_prints_each_file_written_and_refuses_bad_input_with_a_message(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.cli import main

    monkeypatch.setenv("FLEXPOOL_DATABASE_URL", database)
    monkeypatch.setenv("FLEXPOOL_SECRET_KEY", "test-only")
    runner = CliRunner()
    out = tmp_path / "out"
    done = runner.invoke(main, ["export", "run", "--kind", "journal", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == str(out / f"{CODE}-journal-all.journal")
    assert (out / f"{CODE}-journal-all.journal").exists()
    for args, message in (
        (["--period", "2026-13"], "not a month"),
        (["--consortium", "NOPE"], "no consortium"),
        (["--kind", "quickbooks"], "Invalid value for '--kind'"),
    ):
        refused = runner.invoke(main, ["export", "run", "--kind", "journal", *args])
        assert refused.exit_code == 2 and message in refused.output, refused.output
    blocker = tmp_path / "in-the-way"
    blocker.write_text("not a folder")
    refused = runner.invoke(main, ["export", "run", "--kind", "journal", "--out", str(blocker)])
    assert refused.exit_code == 2 and "is a file" in refused.output, refused.output
    inside = str(blocker / "exports")  # cannot be made: its parent is a file
    failed = runner.invoke(main, ["export", "run", "--kind", "journal", "--out", inside])
    assert failed.exit_code == 1 and f"{CODE}: FAILED" in failed.output, failed.output
