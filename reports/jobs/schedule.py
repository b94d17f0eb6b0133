"""The one declared job table, what of it is due, and the scheduler process that runs it.

Why due runs are computed, not remembered: APScheduler's triggers only wake the process. What is
due is read from the database each time: for every consortium and job, each period whose due
moment (in the consortium's own timezone and state) has passed within the horizon and that has
no run yet. So a scheduler that was down catches up when it starts, two schedulers compute the
same list, and the claims in ``reports.jobs.tasks`` decide which one runs each item.

Months and financial years are each a file or a close of their own, so every missed one runs.
The timers and the ledger check look at the database as it is now, so only the latest missed
slot or night runs: ten missed nights would verify the same ledger ten times.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from approvals.business_days import is_business_day
from approvals.fiscal import Period, financial_year, month_of
from approvals.models import Consortium
from approvals.zone import local_day, local_today, zone_of
from reports import anchors
from reports.jobs.tasks import (
    RECONCILIATION_JOB,
    TIMERS_JOB,
    VERIFY_JOB,
    YEAR_CLOSE_JOB,
    Clock,
    Outcome,
    job_key,
    monthly_reconciliation,
    nightly_verify,
    slot_label,
    timers_tick,
)
from reports.jobs.year_close import financial_year_close
from reports.models import ExportKind, ExportRun, JobRun
from reports.runs import EXPORTERS

log = logging.getLogger("flexpool.scheduler")

HORIZON = timedelta(days=366)  # missed runs older than a year are a person's decision
SLOT_MINUTES = 15
REPORT_TIME = time(6, 0)  # reconciliation (first business day) and financial-year close
VERIFY_TIME = time(1, 0)  # before 02:00, when daylight saving starts or ends


@dataclass(frozen=True)
class Site:
    """What the planners need of a consortium, read once per pass."""

    id: int
    code: str
    zone: ZoneInfo
    state: str
    created_at: datetime


@dataclass(frozen=True)
class Occasion:
    label: str  # the month, night, slot or year covered
    period: Period | None
    due_at: datetime  # UTC


@dataclass(frozen=True)
class Due:
    job: str
    consortium: str
    label: str
    period: Period | None
    due_at: datetime
    kind: ExportKind | None

    @property
    def key(self) -> str:
        return job_key(self.consortium, self.label)


Planner = Callable[[Site, datetime], list[Occasion]]
Runner = Callable[[sessionmaker[Session], Due, Path, Clock], Outcome]


@dataclass(frozen=True)
class JobSpec:
    name: str
    cron: Mapping[str, str]  # CronTrigger fields, read in each consortium's timezone
    covers: str
    plan: Planner
    run: Runner
    kind: ExportKind | None = None  # an export is claimed through ExportRun, others JobRun


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def first_business_day(year: int, month: int, state: str) -> date:
    day = date(year, month, 1)
    while not is_business_day(day, state):
        day += timedelta(days=1)
    return day


def _in_horizon(due_at: datetime, now: datetime) -> bool:
    return now - HORIZON < due_at


def months_due(site: Site, now: datetime) -> list[Occasion]:
    """Each month whose reconciliation fell due (first business day after it, 06:00)."""
    created = local_day(site.zone, site.created_at)
    period = month_of(local_today(site.zone, now))  # the month under way: never due
    found: list[Occasion] = []
    while True:
        following = period.start
        period = month_of(following - timedelta(days=1))
        first = first_business_day(following.year, following.month, site.state)
        due_at = local_moment(first, REPORT_TIME, site.zone)
        if period.end < created or not _in_horizon(due_at, now):
            return found[::-1]
        if due_at <= now:
            found.append(Occasion(period.label, period, due_at))


def years_due(site: Site, now: datetime) -> list[Occasion]:
    """Each financial year whose close fell due (1 July, 06:00)."""
    created = local_day(site.zone, site.created_at)
    year = financial_year(local_today(site.zone, now))  # the year under way: never due
    found: list[Occasion] = []
    while True:
        year = financial_year(year.start - timedelta(days=1))
        due_at = local_moment(year.end + timedelta(days=1), REPORT_TIME, site.zone)
        if year.end < created or not _in_horizon(due_at, now):
            return found[::-1]
        if due_at <= now:
            found.append(Occasion(year.label, year, due_at))


def latest_night(site: Site, now: datetime) -> list[Occasion]:
    local = now.astimezone(site.zone)
    night = local.date() if local.time() >= VERIFY_TIME else local.date() - timedelta(days=1)
    due_at = local_moment(night, VERIFY_TIME, site.zone)
    return [Occasion(night.isoformat(), None, due_at)] if due_at >= site.created_at else []


def latest_slot(site: Site, now: datetime) -> list[Occasion]:
    utc = now.astimezone(UTC)
    slot = utc.replace(minute=utc.minute - utc.minute % SLOT_MINUTES, second=0, microsecond=0)
    return [Occasion(slot_label(slot), None, slot)] if slot >= site.created_at else []


def _covered(due: Due) -> Period:
    if due.period is None:
        raise ValueError(f"{due.job} {due.key} names no period")
    return due.period


def _reconcile(factory: sessionmaker[Session], due: Due, out_dir: Path, now: Clock) -> Outcome:
    kind = due.kind or ExportKind.RECONCILIATION
    return monthly_reconciliation(
        factory, due.consortium, _covered(due), out_dir, now=now, kind=kind
    )


def _tick(factory: sessionmaker[Session], due: Due, _out_dir: Path, now: Clock) -> Outcome:
    return timers_tick(factory, due.consortium, due.due_at, now=now)


def _verify(factory: sessionmaker[Session], due: Due, out_dir: Path, now: Clock) -> Outcome:
    night = date.fromisoformat(due.label)
    key = anchors.key_from_env()
    return nightly_verify(factory, due.consortium, night, now=now, out_dir=out_dir, key=key)


def _close(factory: sessionmaker[Session], due: Due, out_dir: Path, now: Clock) -> Outcome:
    return financial_year_close(factory, due.consortium, _covered(due), out_dir, now=now)


# INVARIANT: the one job table. The scheduler, its catch-up and `flexpool scheduler --once` all
# run exactly these; nothing else is scheduled anywhere.
JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        RECONCILIATION_JOB,
        {"day": "1-7", "hour": "6", "minute": "0"},
        "the previous month, on the first business day at 06:00",
        months_due,
        _reconcile,
        kind=ExportKind.RECONCILIATION,
    ),
    JobSpec(TIMERS_JOB, {"minute": "*/15"}, "the latest 15 minutes", latest_slot, _tick),
    JobSpec(VERIFY_JOB, {"hour": "1", "minute": "0"}, "the ledger, nightly", latest_night, _verify),
    JobSpec(
        YEAR_CLOSE_JOB,
        {"month": "7", "day": "1", "hour": "6", "minute": "0"},
        "the financial year just ended, on 1 July at 06:00",
        years_due,
        _close,
    ),
)


def due_runs(
    session: Session,
    now: datetime,
    *,
    table: tuple[JobSpec, ...] = JOBS,
    jobs: Collection[str] | None = None,
    consortia: Collection[str] | None = None,
) -> list[Due]:
    """Everything due by ``now`` and not yet claimed, oldest first: the catch-up list."""
    sites = _sites(session, consortia)
    found: list[Due] = []
    for spec in table:
        if jobs is not None and spec.name not in jobs:
            continue
        if spec.kind is not None and spec.kind not in EXPORTERS:
            log.warning("%s skipped: no %s exporter yet", spec.name, spec.kind.value)
            continue
        for site in sites:
            wanted = [
                Due(spec.name, site.code, o.label, o.period, o.due_at, spec.kind)
                for o in spec.plan(site, now)
            ]
            taken = _taken(session, spec, site, [due.label for due in wanted])
            found += [due for due in wanted if due.label not in taken]
    return sorted(found, key=lambda due: due.due_at)


def _sites(session: Session, codes: Collection[str] | None) -> list[Site]:
    query = select(Consortium).order_by(Consortium.code)
    if codes is not None:
        query = query.where(Consortium.code.in_(list(codes)))
    return [
        Site(c.id, c.code, zone_of(c), c.state, c.created_at)
        for c in session.execute(query).scalars()
    ]


def _taken(session: Session, spec: JobSpec, site: Site, labels: list[str]) -> set[str]:
    """Labels already claimed: done, failed or still running, by any scheduler."""
    if not labels:
        return set()
    if spec.kind is not None:
        return set(
            session.execute(
                select(ExportRun.period).where(
                    ExportRun.consortium_id == site.id,
                    ExportRun.kind == spec.kind.value,
                    ExportRun.scheduled.is_(True),
                    ExportRun.period.in_(labels),
                )
            ).scalars()
        )
    keys = {job_key(site.code, label): label for label in labels}
    claimed = session.execute(
        select(JobRun.key).where(JobRun.job == spec.name, JobRun.key.in_(list(keys)))
    ).scalars()
    return {keys[key] for key in claimed}


def run_due(
    factory: sessionmaker[Session],
    out_dir: Path,
    now: Clock,
    *,
    table: tuple[JobSpec, ...] = JOBS,
    jobs: Collection[str] | None = None,
    consortia: Collection[str] | None = None,
    stopping: threading.Event | None = None,
) -> list[Outcome]:
    """Run what is due, oldest first; stop between runs (never inside one) when asked."""
    with factory() as session:
        due = due_runs(session, now(), table=table, jobs=jobs, consortia=consortia)
    runners = {spec.name: spec.run for spec in table}
    outcomes: list[Outcome] = []
    for item in due:
        if stopping is not None and stopping.is_set():
            log.info("stopping: %d due run(s) left for the next start", len(due) - len(outcomes))
            break
        outcome = runners[item.job](factory, item, out_dir, now)
        log.info("%s %s %s %s", outcome.job, outcome.key, outcome.status, outcome.detail[:200])
        outcomes.append(outcome)
    return outcomes
