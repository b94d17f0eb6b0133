"""What the scheduler does, one function per job, each at most once per key.

Why this shape: two scheduler processes (a rolling deploy, an operator's ``--once`` beside the
daemon) must never both expire approvals, both notify, or both write a period's file. Each run
is first *claimed* in its own committed transaction: a ``JobRun`` row (unique job and key) or,
for exports, a scheduled ``ExportRun`` row (unique consortium, kind and period). Whoever loses
the claim does nothing. The work then runs in one transaction that also marks the claim done,
so its effects and the record of them commit together; if the work raises, it is rolled back
and the claim is marked failed with the reason. A claim is never retried by itself: a failed
or abandoned (``running``) run is left for a person to look at, not repeated behind their back.

Keys name the consortium and what the run covers: ``NORTHCOAST:2026-10`` (a month),
``NORTHCOAST:2026-11-02`` (a night), ``NORTHCOAST:2026-11-02T06:15Z`` (a 15-minute slot),
``NORTHCOAST:FY2025-26`` (a financial year).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from approvals import audit
from approvals.consortium.actors import system_actor
from approvals.errors import NotFoundError
from approvals.fiscal import Period
from approvals.lifecycle.timers import run_timers
from approvals.models import Consortium, Membership, Organisation, Role, User
from approvals.notify import notify
from approvals.zone import consortium_today
from ledger.db import run_in_transaction
from ledger.values import Finding
from ledger.verify import summarize
from reports import anchors
from reports.integrity import verify_consortium
from reports.models import ExportKind, JobRun, RunStatus
from reports.runs import ExportOrder, run_export

log = logging.getLogger("flexpool.scheduler")

RECONCILIATION_JOB = "monthly-reconciliation"
TIMERS_JOB = "timers"
VERIFY_JOB = "nightly-verify"
YEAR_CLOSE_JOB = "financial-year-close"
SCHEDULER = "scheduler"  # who requested a scheduled export
SKIPPED = "skipped"  # another scheduler holds the claim
DETAIL_LIMIT = 4000

Clock = Callable[[], datetime]
Work = Callable[[Session, int], tuple[RunStatus, str]]  # (session, consortium id) -> result


@dataclass(frozen=True)
class Outcome:
    job: str
    key: str
    status: str  # done, failed or skipped
    detail: str = ""


def job_key(consortium_code: str, label: str) -> str:
    return f"{consortium_code}:{label}"


def slot_label(slot: datetime) -> str:
    return slot.strftime("%Y-%m-%dT%H:%MZ")


def monthly_reconciliation(
    factory: sessionmaker[Session],
    consortium_code: str,
    period: Period,
    out_dir: Path,
    *,
    now: Clock,
    kind: ExportKind = ExportKind.RECONCILIATION,
) -> Outcome:
    """The month's workbook, claimed through ``ExportRun`` (the exports page lists it)."""
    order = ExportOrder(consortium_code, kind, period, out_dir, SCHEDULER, scheduled=True)
    key = job_key(consortium_code, period.label)
    try:
        run = run_export(factory, order, now=now)
    except Exception as error:  # noqa: BLE001 - run_export has recorded it; the scheduler goes on
        log.exception("%s %s failed", RECONCILIATION_JOB, key)
        return Outcome(RECONCILIATION_JOB, key, RunStatus.FAILED.value, reason_of(error))
    if run is None:
        return Outcome(RECONCILIATION_JOB, key, SKIPPED)
    return Outcome(RECONCILIATION_JOB, key, run.status, run.file_name or run.error or "")


def timers_tick(
    factory: sessionmaker[Session], consortium_code: str, slot: datetime, *, now: Clock
) -> Outcome:
    """Expiry, reminders, escalation, archiving: once per consortium and 15-minute slot."""

    def work(session: Session, consortium_id: int) -> tuple[RunStatus, str]:
        report = run_timers(session, consortium_id, now())
        counts = {
            "expired": len(report.expired),
            "reminded": len(report.reminded),
            "escalated": len(report.escalated),
            "archived": len(report.archived),
            "skipped": len(report.skipped),
        }
        return RunStatus.DONE, json.dumps(counts, sort_keys=True)

    return once(factory, TIMERS_JOB, consortium_code, slot_label(slot), now, work)


def nightly_verify(
    factory: sessionmaker[Session],
    consortium_code: str,
    night: date,
    *,
    now: Clock,
    out_dir: Path | None = None,
    key: bytes | None = None,
) -> Outcome:
    """Recompute the book, the audit trail and the records beside them; compare the anchors.

    Findings fail the run, enter the audit log and reach admins. A clean run anchors the chain
    heads it read before walking (``reports.anchors``) in ``out_dir``, so tomorrow's run can tell
    whether anything up to them was rewritten. The check reads in a session of its own, outside
    the short transaction that records the result: a year's chain takes a while to walk and
    should hold no locks meanwhile.
    """
    findings: list[Finding] = []
    said: list[str] = []

    def check() -> None:
        with factory() as session:
            heads = anchors.current_heads(session, consortium_code, now())
            verdict = verify_consortium(session, consortium_code, out_dir, key)
        findings.extend(verdict.findings)
        said.append(verdict.anchor_line())
        if not findings and out_dir is not None and heads:
            anchors.append(out_dir, heads, key)

    def work(session: Session, consortium_id: int) -> tuple[RunStatus, str]:
        if not findings:
            return RunStatus.DONE, " ".join([summarize(findings), *said])
        _report_broken_ledger(session, consortium_id, consortium_code, findings, now())
        return RunStatus.FAILED, "\n".join(str(finding) for finding in findings)

    return once(factory, VERIFY_JOB, consortium_code, night.isoformat(), now, work, first=check)


def _report_broken_ledger(
    session: Session, consortium_id: int, code: str, findings: list[Finding], at: datetime
) -> None:
    """The exception row is an audit event: the auditor's log lists it beside everything else."""
    checks = sorted({finding.check for finding in findings})
    audit.record(
        session,
        consortium_id=consortium_id,
        actor_id=system_actor(session, consortium_id).user_id,
        action="ledger.verify_failed",
        subject_type="ledger",
        subject_id=None,
        now=at,
        book=code,
        findings=len(findings),
        checks=checks,
    )
    notify(
        session,
        people(session, consortium_id, (Role.ADMIN, Role.AUDITOR), at),
        kind="ledger_verify_failed",
        message=(
            f"The nightly ledger check of {code} FAILED with {len(findings)} finding(s) "
            f"({', '.join(checks)}). Open Audit > Verify ledger (auditors) or run "
            f"`flexpool ledger verify --book {code}`."
        ),
        request_id=None,
        now=at,
    )


def people(session: Session, consortium_id: int, roles: Collection[Role], at: datetime) -> set[int]:
    """Active users holding one of ``roles`` anywhere in the consortium on ``at``'s local day."""
    today = consortium_today(session, consortium_id, at)
    return set(
        session.execute(
            select(Membership.user_id)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .join(User, User.id == Membership.user_id)
            .where(
                Organisation.consortium_id == consortium_id,
                Membership.role.in_([role.value for role in roles]),
                Membership.valid_from <= today,
                or_(Membership.valid_to.is_(None), Membership.valid_to >= today),
                User.active.is_(True),
            )
        ).scalars()
    )


# -- the claim ---------------------------------------------------------------------------------


def once(
    factory: sessionmaker[Session],
    job: str,
    consortium_code: str,
    label: str,
    now: Clock,
    work: Work,
    *,
    first: Callable[[], None] | None = None,
) -> Outcome:
    """Claim (job, key), then do the work and record its result in one transaction.

    ``first`` runs after the claim and before that transaction, for reading that must not share
    it; if it raises, the run is failed like any other.
    """
    key = job_key(consortium_code, label)
    run_id = _claim(factory, job, consortium_code, key, now())
    if run_id is None:
        return Outcome(job, key, SKIPPED)

    def unit(session: Session) -> Outcome:
        status, detail = work(session, _consortium_id(session, consortium_code))
        _mark(session, run_id, status, detail, now())
        return Outcome(job, key, status.value, detail)

    try:
        if first is not None:
            first()
        return run_in_transaction(factory, unit)
    except Exception as error:  # noqa: BLE001 - recorded on the claim; the scheduler goes on
        log.exception("%s %s failed", job, key)
        reason = reason_of(error)
        run_in_transaction(
            factory, lambda session: _mark(session, run_id, RunStatus.FAILED, reason, now())
        )
        return Outcome(job, key, RunStatus.FAILED.value, reason)


def _claim(
    factory: sessionmaker[Session], job: str, consortium_code: str, key: str, at: datetime
) -> int | None:
    def claim(session: Session) -> int:
        run = JobRun(
            consortium_id=_consortium_id(session, consortium_code),
            job=job,
            key=key,
            status=RunStatus.RUNNING.value,
            started_at=at,
        )
        session.add(run)
        session.flush()
        return run.id

    try:
        return run_in_transaction(factory, claim)
    except IntegrityError:
        return None  # another scheduler claimed this key first


def _mark(session: Session, run_id: int, status: RunStatus, detail: str, at: datetime) -> None:
    run = session.get_one(JobRun, run_id)
    run.status = status.value
    run.detail = detail[:DETAIL_LIMIT]
    run.finished_at = at
    session.flush()


def _consortium_id(session: Session, code: str) -> int:
    found = session.execute(select(Consortium.id).where(Consortium.code == code)).scalar()
    if found is None:
        raise NotFoundError(f"There is no consortium {code!r}.")
    return found


def reason_of(error: Exception) -> str:
    return f"{type(error).__name__}: {getattr(error, 'message', error)}"
