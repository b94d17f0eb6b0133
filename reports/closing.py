"""Signing off a month: only after a clean reconciliation of the ledger as it stands.

Why these checks: once a month is closed nothing can be dated in it again (the ledger's lock
date), so the sign-off must rest on evidence an auditor can re-check later — a reconciliation
workbook built from exactly the ledger state being locked, whose own checks all passed, with
every bank statement line of the month matched or explained. Whoever reconciles must not be
whoever paid (segregation of duties), and months close in order so no month is locked unseen.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.errors import ConflictError, InvalidInputError, NotAllowedError
from approvals.fiscal import Period, month
from approvals.models import Consortium, Payment
from approvals.models.people import FINANCE
from ledger import close_period
from ledger.models import books
from reports.ledger_state import ledger_head
from reports.models import BankLine, ExportKind, ExportRun, LineStatus, MonthSignOff, RunStatus
from reports.written import MISMATCHES


def sign_off_month(
    session: Session, actor: Actor, period: Period, *, today: date, now: datetime
) -> MonthSignOff:
    """Close ``period`` (a month) on the strength of its latest reconciliation run."""
    actor.require_lead(*FINANCE, doing="close a month")
    consortium = session.get_one(Consortium, actor.consortium_id)
    if period != month(period.start.year, period.start.month):
        raise InvalidInputError("Only a month can be closed.", fields={"period": "Use YYYY-MM."})
    _check_order(session, consortium.code, period)
    run = _clean_reconciliation(session, consortium, period)
    _check_bank_lines(session, consortium.id, period)
    _check_not_payer(session, actor, period)
    close_period(
        session, book=consortium.code, through=period.end, actor=actor.label, now=now, today=today
    )
    sign_off = MonthSignOff(
        consortium_id=consortium.id,
        period=period.label,
        export_run_id=run.id,
        ledger_sequence=run.ledger_sequence,
        ledger_hash=run.ledger_hash,
        closed_by_id=actor.user_id,
        closed_at=now,
    )
    session.add(sign_off)
    session.flush()
    audit.record(
        session,
        consortium_id=consortium.id,
        actor_id=actor.user_id,
        action="period.closed",
        subject_type="export_run",
        subject_id=run.id,
        now=now,
        period=period.label,
        ledger_sequence=run.ledger_sequence,
    )
    return sign_off


def _check_order(session: Session, book: str, period: Period) -> None:
    closed = session.execute(select(books.c.closed_through).where(books.c.code == book)).scalar()
    if closed is not None and closed >= period.end:
        raise ConflictError(f"{period.label} is already closed.")
    previous_end = period.start - timedelta(days=1)
    if closed is not None and closed != previous_end:
        raise ConflictError(f"Close {previous_end:%Y-%m} first: months close in order.")


def _clean_reconciliation(session: Session, consortium: Consortium, period: Period) -> ExportRun:
    run = session.execute(
        select(ExportRun)
        .where(
            ExportRun.consortium_id == consortium.id,
            ExportRun.kind == ExportKind.RECONCILIATION.value,
            ExportRun.period == period.label,
            ExportRun.status == RunStatus.DONE.value,
        )
        .order_by(ExportRun.id.desc())
        .limit(1)
    ).scalar()
    if run is None:
        raise ConflictError(f"Run the {period.label} reconciliation first.")
    if json.loads(run.row_counts or "{}").get(MISMATCHES, 1) != 0:
        raise ConflictError(f"The {period.label} reconciliation has failed checks; resolve them.")
    head = ledger_head(session, consortium.code, period.end)
    if (run.ledger_sequence, run.ledger_hash) != head:
        raise ConflictError(
            f"The ledger has changed since reconciliation #{run.id} was built; run it again."
        )
    return run


def _check_bank_lines(session: Session, consortium_id: int, period: Period) -> None:
    open_lines = session.execute(
        select(func.count()).where(
            BankLine.consortium_id == consortium_id,
            BankLine.status == LineStatus.UNMATCHED.value,
            BankLine.on.between(period.start, period.end),
        )
    ).scalar_one()
    if open_lines:
        raise ConflictError(
            f"{open_lines} bank statement line(s) of {period.label} are unmatched; "
            "match or explain them first."
        )


def _check_not_payer(session: Session, actor: Actor, period: Period) -> None:
    paid = session.execute(
        select(func.count()).where(
            Payment.recorded_by_id == actor.user_id,
            Payment.paid_on.between(period.start, period.end),
        )
    ).scalar_one()
    if paid:
        raise NotAllowedError(
            f"You recorded {paid} payment(s) in {period.label}; someone else must reconcile "
            "and close it."
        )
