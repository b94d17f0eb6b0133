"""The exports page: finance runs one now, everyone who may downloads it, checked by checksum."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from approvals.errors import InvalidInputError
from approvals.models import AuditEvent, Payment
from reports.models import ExportKind, ExportRun, MonthSignOff
from reports.runs import EXPORTERS, Written
from tests.support.clock import TestClock
from tests.support.web import sqlite_only_web_db
from web.session import session_factory

# SQLite only: the runner and the journal are proven on PostgreSQL in tests/reports.
web_db = pytest.fixture(sqlite_only_web_db)


def _runs(app: Flask) -> list[ExportRun]:
    with session_factory(app)() as session:
        return list(session.execute(select(ExportRun).order_by(ExportRun.id)).scalars())


def test_finance_runs_a_month_and_the_auditor_downloads_exactly_that_file(
    app: Flask, login: Any
) -> None:
    fin = login("fin@lead.demo")
    done = fin.post("/exports/run", {"kind": "journal", "period": "2026-10"})
    assert done.status_code == 302
    (run,) = _runs(app)
    assert run.status == "done" and run.period == "2026-10" and run.requested_by.startswith("user:")
    page = fin.get("/exports/").get_data(as_text=True)
    assert run.sha256 in page and "Run now" in page and "Finn Officer" in page
    auditor = login("auditor@lead.demo")
    listing = auditor.get("/exports/").get_data(as_text=True)
    assert run.sha256 in listing and "Run now" not in listing
    file = auditor.get(f"/exports/{run.id}/download")
    assert file.status_code == 200
    assert f"filename={run.file_name}" in file.headers["Content-Disposition"]
    assert hashlib.sha256(file.get_data()).hexdigest() == run.sha256
    file.close()  # send_file streams from an open file
    with session_factory(app)() as session:
        taken = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "export.downloaded", AuditEvent.subject_id == run.id)
        )
    assert taken == 1


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"kind": "journal", "period": "2026-13"}, "period", "not a month"),
        ({"kind": "journal", "period": "FY2025-27"}, "period", "not a financial year"),
        ({"kind": "ledger-dump", "period": "2026-10"}, "kind", "Choose one"),
        ({"period": "2026-10"}, "kind", "Choose one"),
    ],
)
def test_a_bad_export_form_names_the_field_and_runs_nothing(
    app: Flask, login: Any, form: dict[str, str], field: str, message: str
) -> None:
    response = login("fin@lead.demo").post("/exports/run", form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert _runs(app) == []


def test_a_file_changed_after_its_export_is_refused_not_served(app: Flask, login: Any) -> None:
    fin = login("fin@lead.demo")
    fin.post("/exports/run", {"kind": "journal", "period": ""})
    (run,) = _runs(app)
    path = Path(app.config["FLEXPOOL"].exports_dir) / str(run.file_name)
    path.write_text(path.read_text().replace("$", "$1", 1))
    refused = fin.get(f"/exports/{run.id}/download")
    assert refused.status_code == 409
    assert "no longer matches" in refused.get_data(as_text=True)
    assert fin.get("/exports/999999/download").status_code == 404


def test_an_export_that_cannot_be_written_says_so_and_its_run_cannot_be_downloaded(
    app: Flask, login: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "in-the-way"
    blocker.write_text("a file where the exports folder should be")
    app.config["FLEXPOOL"] = replace(app.config["FLEXPOOL"], exports_dir=str(blocker))
    fin = login("fin@lead.demo")
    response = fin.post("/exports/run", {"kind": "journal", "period": "2026-10"})
    assert response.status_code == 302
    listing = fin.get("/exports/").get_data(as_text=True)
    assert "could not be written" in listing and "failed" in listing
    (run,) = _runs(app)
    assert run.status == "failed" and run.error
    refused = fin.get(f"/exports/{run.id}/download")
    assert refused.status_code == 409
    assert "did not finish" in refused.get_data(as_text=True)


def _last_finished_month_with_payments(app: Flask, today: date) -> str:
    """Only a month that has ended can close: the demo's latest payment may be in this one."""
    with session_factory(app)() as session:
        last = session.execute(
            select(func.max(Payment.paid_on)).where(Payment.paid_on < today.replace(day=1))
        ).scalar_one()
    return f"{last:%Y-%m}"


@pytest.mark.calendar
def test_finance_closes_a_month_on_its_reconciliation_and_sees_it_listed(
    app: Flask, login: Any, clock: TestClock
) -> None:
    label = _last_finished_month_with_payments(app, clock.today)
    finmgr = login("finmgr@lead.demo")
    early = finmgr.post("/exports/close", {"close_period": label})
    assert early.status_code == 409
    assert 'id="close_period-error"' in early.get_data(as_text=True)
    assert (
        finmgr.post("/exports/run", {"kind": "reconciliation", "period": label}).status_code == 302
    )
    payer = login("fin@lead.demo").post("/exports/close", {"close_period": label})
    assert payer.status_code == 403 and "someone else" in payer.get_data(as_text=True)
    assert finmgr.post("/exports/close", {"close_period": label}).status_code == 302
    listing = finmgr.get("/exports/").get_data(as_text=True)
    assert 'id="sign-offs"' in listing and label in listing and "Fatima Finance" in listing
    with session_factory(app)() as session:
        assert session.execute(select(MonthSignOff.period)).scalars().all() == [label]


@pytest.mark.parametrize("value", ["", "2026-13", "FY2025-26", "October"])
def test_a_bad_month_to_close_is_named_next_to_the_field(
    app: Flask, login: Any, value: str
) -> None:
    response = login("finmgr@lead.demo").post("/exports/close", {"close_period": value})
    assert response.status_code == 422
    assert 'id="close_period-error"' in response.get_data(as_text=True)
    with session_factory(app)() as session:
        assert session.execute(select(func.count()).select_from(MonthSignOff)).scalar() == 0


def test_an_export_its_pre_flight_refuses_is_listed_as_failed_with_the_reason(
    app: Flask, login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> Written:
        raise InvalidInputError("Row 3: account code 'ZZZ' is not in the chart.")

    monkeypatch.setitem(
        EXPORTERS, ExportKind.XERO, replace(EXPORTERS[ExportKind.XERO], write=refuse)
    )
    fin = login("fin@lead.demo")
    assert fin.post("/exports/run", {"kind": "xero", "period": "2026-10"}).status_code == 302
    listing = fin.get("/exports/").get_data(as_text=True)
    assert "refused and is listed as failed" in listing and "Row 3: account code" in listing
    (run,) = _runs(app)
    assert run.status == "failed" and "Row 3" in (run.error or "")
    assert list(Path(app.config["FLEXPOOL"].exports_dir).glob("*.csv")) == []
