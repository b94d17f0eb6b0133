"""The job table and its catch-up: what falls due when, and each run happens once per key.

Jobs are driven by calling them with an explicit clock; nothing here waits for a real one. The
monthly export runs as a journal here (the job table's kind is data), so these tests prove the
scheduling whatever the reconciliation workbook's own state.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from approvals.fiscal import parse_financial_year
from approvals.lifecycle.requests import request_label
from approvals.lifecycle.timers import mark_carried_over, run_timers
from approvals.models import AuditEvent, Consortium, FundRequest, Notification
from ledger import verify
from ledger.db import make_engine, make_session_factory, run_in_transaction
from reports.jobs.schedule import JOBS, JobSpec, Site, due_runs, first_business_day, run_due
from reports.jobs.scheduler import build_scheduler
from reports.jobs.tasks import (
    RECONCILIATION_JOB,
    SKIPPED,
    TIMERS_JOB,
    VERIFY_JOB,
    YEAR_CLOSE_JOB,
    Outcome,
    job_key,
    monthly_reconciliation,
    nightly_verify,
    slot_label,
    timers_tick,
)
from reports.jobs.year_close import financial_year_close
from reports.models import ExportKind, ExportRun, JobRun
from tests.ledger.test_integrity import tamper
from tests.support.world import A, World, as_, build_desk, build_world, fund

SYDNEY = ZoneInfo("Australia/Sydney")


def sydney(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SYDNEY).astimezone(UTC)  # type: ignore[misc]


def clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


CREATED = sydney(2026, 6, 10, 9, 0)
TABLE = tuple(
    dataclasses.replace(spec, kind=ExportKind.JOURNAL) if spec.kind is not None else spec
    for spec in JOBS
)


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory, CREATED)


def run_pass(world: World, moment: datetime, out_dir: Path) -> list[Outcome]:
    return run_due(world.factory, out_dir, clock(moment), table=TABLE, consortia={world.code})


def due_labels(world: World, moment: datetime, job: str) -> list[str]:
    with world.factory() as session:
        due = due_runs(session, moment, table=TABLE, jobs={job}, consortia={world.code})
    return [item.label for item in due]


def keys(outcomes: list[Outcome], job: str) -> list[str]:
    return [o.key for o in outcomes if o.job == job and o.status == "done"]


def test_the_job_table_declares_the_four_jobs_once_each() -> None:
    names = [spec.name for spec in JOBS]
    assert sorted(names) == sorted({RECONCILIATION_JOB, TIMERS_JOB, VERIFY_JOB, YEAR_CLOSE_JOB})
    exports = {spec.name: spec.kind for spec in JOBS if spec.kind is not None}
    assert exports == {RECONCILIATION_JOB: ExportKind.RECONCILIATION}


@pytest.mark.parametrize("spec", JOBS, ids=lambda spec: spec.name)
@pytest.mark.parametrize(
    ("zone", "state"), [("Australia/Sydney", "NSW"), ("Australia/Perth", "WA")]
)
def test_each_job_is_woken_at_every_moment_it_falls_due(
    spec: JobSpec, zone: str, state: str
) -> None:
    """Over a year of days: both daylight-saving changes and the year's holidays included."""
    site = Site(1, "X", ZoneInfo(zone), state, datetime(2020, 1, 1, tzinfo=UTC))
    wake_up = CronTrigger(timezone=ZoneInfo(zone), **spec.cron)
    start = datetime(2027, 1, 1, 12, 7, tzinfo=UTC)
    occasions = {o for day in range(365) for o in spec.plan(site, start + timedelta(days=day))}
    assert occasions
    for occasion in occasions:
        assert wake_up.get_next_fire_time(None, occasion.due_at) == occasion.due_at, occasion


def test_on_the_first_business_day_at_six_the_previous_month_falls_due_not_the_current(
    world: World,
) -> None:
    before = due_labels(world, sydney(2026, 11, 2, 5, 59), RECONCILIATION_JOB)
    assert before == ["2026-06", "2026-07", "2026-08", "2026-09"]
    at_six = due_labels(world, sydney(2026, 11, 2, 6, 0), RECONCILIATION_JOB)
    assert at_six == [*before, "2026-10"]


@pytest.mark.parametrize(
    ("year", "month", "state", "first"),
    [
        (2026, 11, "NSW", date(2026, 11, 2)),  # Sunday the 1st
        (2027, 1, "NSW", date(2027, 1, 4)),  # New Year's Day on Friday, then a weekend
        (2027, 3, "WA", date(2027, 3, 2)),  # Labour Day in Western Australia only
        (2027, 3, "NSW", date(2027, 3, 1)),
    ],
)
def test_the_first_business_day_skips_weekends_and_the_states_public_holidays(
    year: int, month: int, state: str, first: date
) -> None:
    assert first_business_day(year, month, state) == first


def test_december_falls_due_after_new_years_day_and_the_weekend(world: World) -> None:
    assert "2026-12" not in due_labels(world, sydney(2027, 1, 1, 7, 0), RECONCILIATION_JOB)
    assert "2026-12" not in due_labels(world, sydney(2027, 1, 3, 23, 0), RECONCILIATION_JOB)
    assert "2026-12" in due_labels(world, sydney(2027, 1, 4, 6, 0), RECONCILIATION_JOB)


def test_after_a_gap_each_missed_month_runs_once_and_the_timers_and_verify_only_for_now(
    world: World, tmp_path: Path
) -> None:
    first = run_pass(world, sydney(2026, 9, 1, 7, 0), tmp_path)
    months = [job_key(world.code, label) for label in ("2026-06", "2026-07", "2026-08")]
    assert keys(first, RECONCILIATION_JOB) == months
    assert keys(first, YEAR_CLOSE_JOB) == [job_key(world.code, "FY2025-26")]

    november = sydney(2026, 11, 2, 6, 0)
    second = run_pass(world, november, tmp_path)
    missed = [job_key(world.code, label) for label in ("2026-09", "2026-10")]
    assert keys(second, RECONCILIATION_JOB) == missed
    assert keys(second, VERIFY_JOB) == [job_key(world.code, "2026-11-02")]
    assert keys(second, TIMERS_JOB) == [job_key(world.code, slot_label(november))]
    assert keys(second, YEAR_CLOSE_JOB) == []
    assert all(o.status == "done" for o in first + second), first + second

    assert run_pass(world, november, tmp_path) == []
    with world.factory() as session:
        periods = session.execute(
            select(ExportRun.period)
            .join(Consortium, Consortium.id == ExportRun.consortium_id)
            .where(
                Consortium.code == world.code,
                ExportRun.scheduled.is_(True),
                ExportRun.kind == ExportKind.JOURNAL.value,
            )
            .order_by(ExportRun.period)
        ).scalars()
        assert [job_key(world.code, p) for p in periods] == months + missed
        nights = session.execute(
            select(JobRun.key).where(JobRun.job == VERIFY_JOB, JobRun.key.startswith(world.code))
        ).scalars()
        assert sorted(nights) == [job_key(world.code, d) for d in ("2026-09-01", "2026-11-02")]
    assert len(list(tmp_path.glob(f"{world.code}-journal-*"))) == len(months + missed)
    assert not list(tmp_path.glob(".*partial"))


def test_asking_twice_for_the_same_key_does_the_work_once(world: World, tmp_path: Path) -> None:
    moment = sydney(2026, 11, 2, 6, 0)
    period = parse_financial_year("FY2025-26")  # any period: the key is what counts
    for run in (
        lambda: timers_tick(world.factory, world.code, moment, now=clock(moment)),
        lambda: nightly_verify(world.factory, world.code, moment.date(), now=clock(moment)),
        lambda: monthly_reconciliation(
            world.factory, world.code, period, tmp_path, now=clock(moment), kind=ExportKind.JOURNAL
        ),
    ):
        assert [run().status, run().status] == ["done", SKIPPED]
    with world.factory() as session:
        counts = session.execute(
            select(JobRun.key, func.count())
            .where(JobRun.key.startswith(world.code))
            .group_by(JobRun.key)
        ).all()
    assert sorted(count for _key, count in counts) == [1, 1]


def test_a_failed_nightly_verify_fails_its_run_is_audited_and_tells_admins_and_auditors(
    world: World, raw_sql: Callable[..., object], dialect: str
) -> None:
    fund(world, 1_000)
    night = sydney(2026, 11, 2, 2, 0)
    clean = nightly_verify(world.factory, world.code, night.date(), now=clock(night))
    assert clean.status == "done" and inbox(world, "ledger_verify_failed") == []
    tamper(
        raw_sql,
        dialect,
        "UPDATE ledger_transfers SET amount = amount + 1 WHERE id = (SELECT min(t.id) "
        "FROM ledger_transfers t JOIN ledger_books b ON b.id = t.book_id WHERE b.code = :code)",
        code=world.code,
    )
    next_night = night + timedelta(days=1)
    failed = nightly_verify(world.factory, world.code, next_night.date(), now=clock(next_night))
    with world.factory() as session:
        findings = verify(session, world.code)
        run = session.execute(select(JobRun).where(JobRun.key == failed.key)).scalar_one()
        audited = (
            session.execute(
                select(AuditEvent.details).where(
                    AuditEvent.consortium_id == world.consortium_id,
                    AuditEvent.action == "ledger.verify_failed",
                )
            )
            .scalars()
            .all()
        )
    assert findings and failed.status == run.status == "failed"
    assert run.detail == "\n".join(str(finding) for finding in findings)
    assert [event["findings"] for event in audited] == [len(findings)]
    told = {world.users["admin"], world.users["auditor"]}
    assert sorted(inbox(world, "ledger_verify_failed")) == sorted(told)
    again = nightly_verify(world.factory, world.code, next_night.date(), now=clock(next_night))
    assert again.status == SKIPPED and len(inbox(world, "ledger_verify_failed")) == len(told)


def inbox(world: World, kind: str) -> list[int]:
    with world.factory() as session:
        return list(
            session.execute(
                select(Notification.user_id).where(
                    Notification.kind == kind,
                    Notification.user_id.in_(list(world.users.values())),
                )
            ).scalars()
        )


@pytest.mark.parametrize("tick_first", [False, True], ids=["close-lapses", "tick-lapsed"])
def test_the_financial_year_closes_once_lapsing_unpaid_approvals_and_telling_finance(
    world: World, tmp_path: Path, tick_first: bool
) -> None:
    desk = build_desk(world)
    june = sydney(2026, 6, 20, 10, 0)
    lapsing, kept = desk.submitted(amount=10_000), desk.submitted(amount=20_000)
    for request_id in (lapsing, kept):
        desk.act("tl1", request_id, A.APPROVE, at=june)
    as_(world, "fin", lambda s, a: mark_carried_over(s, a, kept, now=june))
    if tick_first:  # the 15-minute tick after midnight lapses them before the close runs
        after_midnight = sydney(2026, 7, 1, 0, 15)
        run_in_transaction(
            world.factory, lambda s: run_timers(s, world.consortium_id, after_midnight)
        )
    year = parse_financial_year("FY2025-26")
    moment = clock(sydney(2026, 7, 1, 6, 0))

    def close() -> Outcome:
        return financial_year_close(
            world.factory, world.code, year, tmp_path, now=moment, acquittal=ExportKind.JOURNAL
        )

    closed = close()
    assert (desk.state(lapsing), desk.state(kept)) == ("expired", "approved")
    with world.factory() as session:
        labels = {i: request_label(session.get_one(FundRequest, i)) for i in (lapsing, kept)}
        exported = session.execute(
            select(ExportRun).where(ExportRun.consortium_id == world.consortium_id)
        ).scalar_one()
    assert closed.status == "done"
    assert json.loads(closed.detail) == {
        "lapsed": [labels[lapsing]],
        "carried_over": [labels[kept]],
    }
    told = inbox(world, "year_closed")
    assert sorted(told) == sorted({world.users["fin"], world.users["finmgr"]})
    assert (exported.period, exported.status, exported.scheduled) == (year.label, "done", True)
    assert (tmp_path / str(exported.file_name)).exists()
    assert close().status == SKIPPED
    with world.factory() as session:
        runs = session.scalar(
            select(func.count())
            .select_from(ExportRun)
            .where(ExportRun.consortium_id == world.consortium_id)
        )
    assert runs == 1 and len(inbox(world, "year_closed")) == len(told)


def test_a_pass_asked_to_stop_leaves_what_is_due_for_the_next_start(
    world: World, tmp_path: Path
) -> None:
    stopping = threading.Event()
    stopping.set()
    moment = sydney(2026, 11, 2, 6, 0)
    outcomes = run_due(
        world.factory,
        tmp_path,
        clock(moment),
        table=TABLE,
        consortia={world.code},
        stopping=stopping,
    )
    assert outcomes == []
    assert len(due_labels(world, moment, RECONCILIATION_JOB)) == 5


def test_the_scheduler_wakes_each_job_in_every_timezone_in_use_and_catches_up_first(
    world: World, tmp_path: Path
) -> None:
    run_in_transaction(
        world.factory,
        lambda s: s.execute(
            update(Consortium)
            .where(Consortium.id == world.consortium_id)
            .values(timezone="Australia/Perth")
        ),
    )
    scheduler = build_scheduler(world.factory, tmp_path, table=TABLE)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert "catch-up" in jobs
    for spec in TABLE:
        job = jobs[f"{spec.name}@Australia/Perth"]
        assert str(job.trigger.timezone) == "Australia/Perth"


def test_the_once_command_exits_1_when_a_run_failed_and_refuses_a_future_or_lone_now(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from web.cli import main

    database = tmp_path / "flexpool.db"
    database.write_bytes(sqlite_template.read_bytes())
    engine = make_engine(f"sqlite:///{database}")
    world = build_world(make_session_factory(engine), CREATED)
    fund(world, 1_000)
    monkeypatch.setenv("FLEXPOOL_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("FLEXPOOL_EXPORTS_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("FLEXPOOL_SECRET_KEY", "test-only")
    runner = CliRunner()
    night = "2026-11-02T02:00+11:00"
    clean = runner.invoke(main, ["scheduler", "--once", "--now", night])
    assert clean.exit_code == 0 and f"{VERIFY_JOB} {world.code}:2026-11-02: done" in clean.output
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER ledger_transfers_no_update"))
        connection.execute(text("UPDATE ledger_transfers SET amount = amount + 1 WHERE id = 1"))
    engine.dispose()
    failed = runner.invoke(main, ["scheduler", "--once", "--now", "2026-11-03T02:00+11:00"])
    assert failed.exit_code == 1 and f"{world.code}:2026-11-03: failed" in failed.output
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    for args, message in (
        (["--once", "--now", future], "in the future"),
        (["--once", "--now", "2026-11-02T02:00"], "with its offset"),
        (["--now", night], "--now goes with --once"),
    ):
        refused = runner.invoke(main, ["scheduler", *args])
        assert refused.exit_code == 2 and message in refused.output, refused.output
