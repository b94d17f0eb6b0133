"""What the scheduler last did for a consortium, job by job: the admin's view of the table.

Why: a nightly verify that found a broken chain, or a month whose reconciliation failed, must be
visible where someone looks every day, not only in a log. Each declared job is listed with the
period it covers and its latest run (exports through ``ExportRun``, the rest through ``JobRun``,
each kept with its consortium).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reports.jobs.schedule import JOBS, JobSpec
from reports.jobs.tasks import job_key
from reports.models import ExportKind, ExportRun, JobRun


@dataclass(frozen=True)
class LastRun:
    job: str
    covers: str
    label: str | None  # the period, night or slot of the latest run; None if never run
    status: str | None
    at: datetime | None
    detail: str | None


def job_status(session: Session, consortium_id: int, consortium_code: str) -> list[LastRun]:
    return [_last(session, spec, consortium_id, consortium_code) for spec in JOBS]


def _last(session: Session, spec: JobSpec, consortium_id: int, code: str) -> LastRun:
    if spec.kind is not None:
        return _last_export(session, spec, spec.kind, consortium_id)
    found = session.execute(
        select(JobRun)
        .where(JobRun.consortium_id == consortium_id, JobRun.job == spec.name)
        .order_by(JobRun.id.desc())
        .limit(1)
    ).scalar()
    if found is None:
        return LastRun(spec.name, spec.covers, None, None, None, None)
    label = found.key.removeprefix(job_key(code, ""))
    at = found.finished_at or found.started_at
    return LastRun(spec.name, spec.covers, label, found.status, at, found.detail)


def _last_export(session: Session, spec: JobSpec, kind: ExportKind, consortium_id: int) -> LastRun:
    run = session.execute(
        select(ExportRun)
        .where(
            ExportRun.consortium_id == consortium_id,
            ExportRun.kind == kind.value,
            ExportRun.scheduled.is_(True),
        )
        .order_by(ExportRun.id.desc())
        .limit(1)
    ).scalar()
    if run is None:
        return LastRun(spec.name, spec.covers, None, None, None, None)
    at = run.finished_at or run.requested_at
    return LastRun(spec.name, spec.covers, run.period, run.status, at, run.error)
