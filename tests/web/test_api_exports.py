"""``/api/v1/exports``: finance runs an export now, finance and the auditor list and download
it; a download is the recorded file (checked by SHA-256) and is audited; a retry with the same
Idempotency-Key never runs an export twice; an exporter's refusal is answered and replayed."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals import idempotency
from approvals.consortium.setup import create_consortium
from approvals.errors import InvalidInputError
from approvals.models import AuditEvent, Payment
from ledger.db import run_in_transaction
from reports.models import ExportKind, ExportRun
from reports.runs import EXPORTERS, ExportOrder, media_types, run_export
from reports.written import Written
from tests.support.clock import CLOCK
from tests.support.web import sqlite_only_web_db
from tests.web.test_api import Api, assert_error, issue
from web.session import session_factory

# SQLite only, like the exports page: the runner is proven on PostgreSQL in tests/reports.
web_db = pytest.fixture(sqlite_only_web_db)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def api(app: Flask) -> Callable[[str], Api]:
    def make(email: str) -> Api:
        response = issue(app, email)
        assert response.status_code == 201, response.get_json()
        return Api(app, response.get_json()["token"])

    return make


def _runs(app: Flask) -> list[ExportRun]:
    with session_factory(app)() as session:
        return list(session.execute(select(ExportRun).order_by(ExportRun.id)).scalars())


def _downloads(app: Flask, run_id: int) -> list[AuditEvent]:
    with session_factory(app)() as session:
        return list(
            session.execute(
                select(AuditEvent).where(
                    AuditEvent.action == "export.downloaded", AuditEvent.subject_id == run_id
                )
            ).scalars()
        )


def _last_paid_month(app: Flask) -> str:
    with session_factory(app)() as session:
        last = session.execute(select(func.max(Payment.paid_on))).scalar_one()
    return f"{last:%Y-%m}"


def _run(fin: Api, kind: str, period: str | None, **headers: str) -> dict[str, Any]:
    response = fin.post("/exports", {"kind": kind, "period": period}, **headers)
    assert response.status_code == 201, response.get_json()
    payload: dict[str, Any] = response.get_json()
    return payload


def _file(reader: Api, item: dict[str, Any]) -> tuple[bytes, str, str]:
    """The downloaded bytes, their media type and the attachment header."""
    response = reader.client.get(
        item["download"], headers={"Authorization": f"Bearer {reader.token}"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    found = response.get_data(), response.mimetype, response.headers["Content-Disposition"]
    response.close()  # send_file streams from an open file
    return found


# -- running and downloading ----------------------------------------------------------------------


@pytest.mark.calendar
def test_finance_runs_a_journal_and_a_reconciliation_month_and_downloads_exactly_them(
    app: Flask, api: Callable[[str], Api]
) -> None:
    fin = api("fin@lead.demo")
    journal = _run(fin, "journal", "2026-10")
    month = _last_paid_month(app)
    workbook = _run(fin, "reconciliation", month)
    assert (journal["status"], journal["period"], journal["kind"]) == ("done", "2026-10", "journal")
    assert workbook["period"] == month and workbook["row_counts"]
    listed = {item["id"]: item for item in fin.get("/exports").get_json()["items"]}
    for made, media in ((journal, "text/plain"), (workbook, XLSX)):
        item = listed[made["id"]]
        assert item == made and item["download"] == f"/api/v1/exports/{made['id']}/download"
        data, mimetype, disposition = _file(fin, item)
        assert hashlib.sha256(data).hexdigest() == item["sha256"]
        assert mimetype == media and f"filename={item['file_name']}" in disposition


def test_a_run_says_who_asked_and_which_ledger_state_it_was_built_from(
    app: Flask, api: Callable[[str], Api]
) -> None:
    finmgr = api("finmgr@lead.demo")
    made = _run(finmgr, "journal", None)
    me = finmgr.get("/me").get_json()
    assert made["period"] == "all" and made["requested_by"] == f"user:{me['id']}"
    assert made["scheduled"] is False and made["error"] is None and made["finished_at"]
    assert set(made["row_counts"]) == {"entries", "pending"} and made["ledger_sequence"] > 0
    assert len(made["ledger_hash"]) == 64


def test_the_auditor_lists_and_downloads_but_may_not_run(
    app: Flask, api: Callable[[str], Api]
) -> None:
    made = _run(api("fin@lead.demo"), "journal", "2026-10")
    auditor = api("auditor@lead.demo")
    (item,) = auditor.get("/exports").get_json()["items"]
    assert item["id"] == made["id"]
    assert hashlib.sha256(_file(auditor, item)[0]).hexdigest() == made["sha256"]
    refused = assert_error(auditor.post("/exports", {"kind": "journal", "period": "2026-10"}), 403)
    assert refused["error"] == "not_allowed"
    assert len(_runs(app)) == 1


@pytest.mark.parametrize("who", ["sf@ngo1.demo", "tl@ngo1.demo", "pm@lead.demo"])
def test_people_outside_finance_and_audit_are_refused_everything(
    app: Flask, api: Callable[[str], Api], who: str
) -> None:
    made = _run(api("fin@lead.demo"), "journal", "2026-10")
    other = api(who)
    assert_error(other.get("/exports"), 403)
    assert_error(other.post("/exports", {"kind": "journal", "period": "2026-10"}), 403)
    assert_error(other.get(f"/exports/{made['id']}/download"), 403)
    assert len(_runs(app)) == 1 and _downloads(app, made["id"]) == []


def test_the_list_pages_newest_first_with_a_cursor(app: Flask, api: Callable[[str], Api]) -> None:
    fin = api("fin@lead.demo")
    made = [_run(fin, "journal", period)["id"] for period in ("2026-08", "2026-09", "2026-10")]
    first = fin.get("/exports?limit=2").get_json()
    assert [item["id"] for item in first["items"]] == made[:0:-1]
    rest = fin.get(f"/exports?limit=2&cursor={first['next']}").get_json()
    assert [item["id"] for item in rest["items"]] == made[:1] and rest["next"] is None
    assert_error(fin.get("/exports?cursor=not-ours"), 422)


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"kind": "ledger-dump", "period": "2026-10"}, "kind", "Must be one of"),
        ({"period": "2026-10"}, "kind", "required"),
        ({"kind": "journal", "period": "2026-13"}, "period", "not a month"),
        ({"kind": "journal", "period": "FY2025-27"}, "period", "not a financial year"),
        ({"kind": "journal", "period": "0000-01"}, "period", "YYYY-MM"),
        ({"kind": "acquittal", "period": "2026-10"}, "period", "FY2025-26"),
        ({"kind": "reconciliation", "period": None}, "period", "needs a period"),
        ({"kind": "journal", "period": "2026-10", "format": "pdf"}, "format", "Unknown"),
    ],
)
def test_bad_input_names_the_field_and_runs_nothing(
    app: Flask, api: Callable[[str], Api], body: dict[str, Any], field: str, says: str
) -> None:
    refused = assert_error(api("fin@lead.demo").post("/exports", body), 422)
    assert refused["error"] == "invalid_input" and says in refused["fields"][field]
    assert _runs(app) == []


# -- Idempotency-Key ------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_replays_the_run_and_runs_nothing(
    app: Flask, api: Callable[[str], Api]
) -> None:
    fin = api("fin@lead.demo")
    body, key = {"kind": "journal", "period": "2026-10"}, f"x-{uuid.uuid4()}"
    first = fin.post("/exports", body, **{"Idempotency-Key": key})
    again = fin.post("/exports", body, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(_runs(app)) == 1
    other = fin.post("/exports", {**body, "period": "2026-09"}, **{"Idempotency-Key": key})
    assert assert_error(other, 409)["error"] == "idempotency_key_reused"
    assert len(_runs(app)) == 1


def test_a_retry_while_the_first_call_still_runs_is_told_to_retry_and_runs_nothing(
    app: Flask, api: Callable[[str], Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    fin = api("fin@lead.demo")
    body, key = {"kind": "journal", "period": "2026-10"}, f"x-{uuid.uuid4()}"
    journal = EXPORTERS[ExportKind.JOURNAL]
    meanwhile: list[Any] = []

    def retry_midway(*args: Any) -> Written:
        meanwhile.append(fin.post("/exports", body, **{"Idempotency-Key": key}))
        return journal.write(*args)

    monkeypatch.setitem(EXPORTERS, ExportKind.JOURNAL, replace(journal, write=retry_midway))
    first = fin.post("/exports", body, **{"Idempotency-Key": key})
    assert first.status_code == 201
    assert assert_error(meanwhile[0], 409)["error"] == "idempotency_in_progress"
    assert meanwhile[0].headers["Retry-After"] == "2"
    assert len(_runs(app)) == 1
    assert fin.post("/exports", body, **{"Idempotency-Key": key}).get_json() == first.get_json()


class _Killed(BaseException):
    """Stands for SIGKILL: nothing in the call gets to clean up after it."""


def test_a_claim_whose_holder_died_is_released_when_its_lease_ends(
    app: Flask, api: Callable[[str], Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    fin = api("fin@lead.demo")
    body, key = {"kind": "journal", "period": "2026-10"}, f"x-{uuid.uuid4()}"
    journal = EXPORTERS[ExportKind.JOURNAL]

    def die(*_: object) -> Written:
        raise _Killed

    monkeypatch.setitem(EXPORTERS, ExportKind.JOURNAL, replace(journal, write=die))
    with pytest.raises(_Killed):
        fin.post("/exports", body, **{"Idempotency-Key": key})
    monkeypatch.setitem(EXPORTERS, ExportKind.JOURNAL, journal)
    held = fin.post("/exports", body, **{"Idempotency-Key": key})
    assert assert_error(held, 409)["error"] == "idempotency_in_progress"
    later = CLOCK.now() + idempotency.CLAIM_LEASE + timedelta(minutes=1)
    monkeypatch.setattr("web.api.core.now", lambda: later)
    retried = fin.post("/exports", body, **{"Idempotency-Key": key})
    assert retried.status_code == 201, retried.get_json()
    assert "Idempotent-Replayed" not in retried.headers


def test_a_refused_export_answers_its_reason_is_listed_failed_and_replays_the_refusal(
    app: Flask, api: Callable[[str], Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> Written:
        raise InvalidInputError(
            "Row 3: account code 'ZZZ' is not in the chart.", fields={"gl_code": "Unknown."}
        )

    monkeypatch.setitem(
        EXPORTERS, ExportKind.XERO, replace(EXPORTERS[ExportKind.XERO], write=refuse)
    )
    fin = api("fin@lead.demo")
    body, key = {"kind": "xero", "period": "2026-10"}, f"x-{uuid.uuid4()}"
    refused = assert_error(fin.post("/exports", body, **{"Idempotency-Key": key}), 422)
    assert "listed as failed" in refused["message"] and "Row 3" in refused["message"]
    assert refused["fields"] == {"gl_code": "Unknown."}
    again = fin.post("/exports", body, **{"Idempotency-Key": key})
    assert assert_error(again, 422) == refused and again.headers["Idempotent-Replayed"] == "true"
    (run,) = fin.get("/exports").get_json()["items"]
    assert run["status"] == "failed" and "Row 3" in run["error"] and run["download"] is None
    assert_error(fin.get(f"/exports/{run['id']}/download"), 409)


def test_an_export_that_cannot_be_written_is_503_and_the_same_key_may_run_it_again(
    app: Flask, api: Callable[[str], Api], tmp_path: Path
) -> None:
    settings = app.config["FLEXPOOL"]
    blocker = tmp_path / "in-the-way"
    blocker.write_text("a file where the exports folder should be")
    app.config["FLEXPOOL"] = replace(settings, exports_dir=str(blocker))
    fin = api("fin@lead.demo")
    body, key = {"kind": "journal", "period": "2026-10"}, f"x-{uuid.uuid4()}"
    failed = assert_error(fin.post("/exports", body, **{"Idempotency-Key": key}), 503)
    assert "could not be written" in failed["message"]
    (run,) = _runs(app)
    assert run.status == "failed"
    assert "did not finish" in assert_error(fin.get(f"/exports/{run.id}/download"), 409)["message"]
    app.config["FLEXPOOL"] = settings
    assert _run(fin, "journal", "2026-10", **{"Idempotency-Key": key})["status"] == "done"


# -- downloads ------------------------------------------------------------------------------------


def test_each_download_is_written_to_the_audit_trail_with_who_took_it(
    app: Flask, api: Callable[[str], Api]
) -> None:
    made = _run(api("fin@lead.demo"), "journal", "2026-10")
    auditor = api("auditor@lead.demo")
    _file(auditor, made)
    _file(auditor, made)
    events = _downloads(app, made["id"])
    me = auditor.get("/me").get_json()
    assert [event.actor_id for event in events] == [me["id"], me["id"]]
    assert events[0].details == {"kind": "journal", "period": "2026-10"}


def test_a_file_changed_on_disk_is_refused_and_not_audited(
    app: Flask, api: Callable[[str], Api]
) -> None:
    fin = api("fin@lead.demo")
    made = _run(fin, "journal", None)
    path = Path(app.config["FLEXPOOL"].exports_dir) / made["file_name"]
    path.write_text(path.read_text().replace("$", "$1", 1))
    refused = assert_error(fin.get(f"/exports/{made['id']}/download"), 409)
    assert "no longer matches" in refused["message"]
    path.unlink()
    assert_error(fin.get(f"/exports/{made['id']}/download"), 409)
    assert _downloads(app, made["id"]) == []


def _other_consortiums_run(app: Flask) -> int:
    """A finished journal of a second consortium, in the same exports folder."""
    factory = session_factory(app)
    at = CLOCK.now()

    def found(session: Session) -> None:
        create_consortium(
            session,
            code="OTHER",
            name="Elsewhere",
            state="VIC",
            lead_code="ELSE",
            lead_name="Elsewhere Lead",
            lead_abn=None,
            admin_email="admin@other.test",
            admin_name="Other Admin",
            admin_password="a long enough password 1",  # noqa: S106 - a test login
            now=at,
        )

    run_in_transaction(factory, found)
    order = ExportOrder(
        "OTHER", ExportKind.JOURNAL, None, Path(app.config["FLEXPOOL"].exports_dir), "user:0"
    )
    done = run_export(factory, order, now=lambda: at)
    assert done is not None and done.status == "done"
    return done.id


def test_another_consortiums_run_and_an_unknown_id_are_not_found(
    app: Flask, api: Callable[[str], Api]
) -> None:
    elsewhere = _other_consortiums_run(app)
    fin = api("fin@lead.demo")
    assert_error(fin.get(f"/exports/{elsewhere}/download"), 404)
    assert_error(fin.get("/exports/999999999/download"), 404)
    assert elsewhere not in [item["id"] for item in fin.get("/exports").get_json()["items"]]
    assert _downloads(app, elsewhere) == []


def test_the_document_describes_the_download_as_a_file(app: Flask) -> None:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    success = document["paths"]["/exports/{run_id}/download"]["get"]["responses"]["200"]
    assert set(success["content"]) == set(media_types())
    assert success["content"]["text/csv"]["schema"] == {"type": "string", "format": "binary"}
