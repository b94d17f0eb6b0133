"""Timers the scheduler runs every few minutes, as plain functions of (session, consortium, now).

- expiry: approvals unpaid past their expiry, and at the financial year's end every approval of
  the year that finance has not marked as carried over;
- reminders at half the SLA and at breach, to the current step's approvers only; on breach the
  escalation target joins the step;
- archiving drafts nobody touched for ``draft_archive_days``.
Each request is handled under its own savepoint: one that changed meanwhile is skipped, not a
reason to lose the run. Running a timer twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals import audit
from approvals.business_days import business_days_between
from approvals.consortium.actors import Actor, system_actor
from approvals.errors import NotAllowedError, NotFoundError
from approvals.fiscal import financial_year
from approvals.lifecycle.requests import request_label
from approvals.lifecycle.states import HOLDS_FUNDS, Action, RequestState
from approvals.lifecycle.transitions import transition
from approvals.models import (
    Consortium,
    Decision,
    FundRequest,
    RequestException,
    RequestStep,
    StepApprover,
    StepStatus,
)
from approvals.models.people import FINANCE
from approvals.notify import notify
from approvals.policy.approvers import eligible
from approvals.zone import consortium_today, local_day, local_today
from ledger.errors import DomainError


@dataclass
class TimerReport:
    expired: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    archived: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def _try(session: Session, report: TimerReport, request_id: int, work: object) -> bool:
    try:
        with session.begin_nested():
            work()  # type: ignore[operator]
        return True
    except DomainError as error:
        report.skipped.append((request_id, str(error)))
        return False


def expire_approvals(
    session: Session, consortium_id: int, now: datetime, report: TimerReport
) -> None:
    """Unpaid approvals lapse; a part-paid one is closed, releasing what was never paid."""
    actor = system_actor(session, consortium_id)
    consortium = session.get_one(Consortium, consortium_id)
    this_year = financial_year(local_today(consortium, now))
    holding = (
        session.execute(
            select(FundRequest).where(
                FundRequest.consortium_id == consortium_id,
                FundRequest.state.in_(HOLDS_FUNDS),
            )
        )
        .scalars()
        .all()
    )
    for request in holding:
        approved_on = local_day(consortium, request.approved_at or now)
        year_ended = approved_on < this_year.start and not request.carried_over
        timed_out = request.expires_at is not None and request.expires_at <= now
        if not (timed_out or year_ended):
            continue
        reason = "not paid in time" if timed_out else f"{financial_year(approved_on).label} ended"
        action = Action.EXPIRE if request.state == RequestState.APPROVED else Action.CLOSE
        if _try(
            session,
            report,
            request.id,
            lambda r=request.id, act=action, why=reason: transition(
                session, actor, r, act, now=now, reason=why
            ),
        ):
            report.expired.append(request.id)


def remind_and_escalate(
    session: Session, consortium_id: int, now: datetime, report: TimerReport
) -> None:
    consortium = session.get_one(Consortium, consortium_id)
    today = local_today(consortium, now)
    rows = session.execute(
        select(RequestStep, FundRequest)
        .join(FundRequest, FundRequest.id == RequestStep.request_id)
        .where(
            FundRequest.consortium_id == consortium_id,
            FundRequest.state
            == RequestState.PENDING,  # the clock is paused while information is requested
            RequestStep.round == FundRequest.round,
            RequestStep.position == FundRequest.current_step,
            RequestStep.status == StepStatus.ACTIVE.value,
        )
    ).all()
    for step, request in rows:
        if step.activated_at is None or step.due_on is None:
            continue
        started = local_day(consortium, step.activated_at)
        elapsed = (
            business_days_between(started, today, consortium.state) - step.paused_business_days
        )
        approvers = set(
            session.execute(
                select(StepApprover.user_id).where(StepApprover.step_id == step.id)
            ).scalars()
        )
        label = request_label(request)
        if step.reminded_half_at is None and elapsed * 2 >= step.sla_business_days:
            step.reminded_half_at = now
            notify(
                session,
                approvers,
                kind="reminder",
                message=f"{label} is half way to its deadline.",
                request_id=request.id,
                now=now,
            )
            report.reminded.append(request.id)
        if step.escalated_at is None and today > step.due_on:
            _escalate(session, consortium_id, step, request, approvers, now)
            report.escalated.append(request.id)
    session.flush()


def _escalate(
    session: Session,
    consortium_id: int,
    step: RequestStep,
    request: FundRequest,
    approvers: set[int],
    now: datetime,
) -> None:
    """At breach: remind the approvers and add the escalation target to the step."""
    step.reminded_breach_at = step.escalated_at = now
    label = request_label(request)
    notify(
        session,
        approvers,
        kind="overdue",
        message=f"{label} is past its deadline.",
        request_id=request.id,
        now=now,
    )
    if step.escalate_to is None:
        return
    decided = set(
        session.execute(
            select(Decision.actor_id).where(
                Decision.request_id == request.id,
                Decision.round == request.round,
                Decision.action == "approve",
            )
        ).scalars()
    )
    today = consortium_today(session, consortium_id, now)
    added, _via = eligible(session, request, [step.escalate_to], None, decided, today)
    for user_id in sorted(added - approvers):
        session.add(StepApprover(step_id=step.id, user_id=user_id, via="escalation"))
    session.add(
        RequestException(
            request_id=request.id,
            kind="escalated",
            recorded_by_id=None,
            at=now,
            detail=f"Step {step.position} breached its SLA; sent also to {step.escalate_to}.",
        )
    )
    notify(
        session,
        added - approvers,
        kind="escalated",
        message=f"{label} was escalated to you.",
        request_id=request.id,
        now=now,
    )


def archive_drafts(
    session: Session, consortium_id: int, now: datetime, report: TimerReport
) -> None:
    actor = system_actor(session, consortium_id)
    consortium = session.get_one(Consortium, consortium_id)
    stale = now - timedelta(days=consortium.draft_archive_days)
    drafts = (
        session.execute(
            select(FundRequest.id).where(
                FundRequest.consortium_id == consortium_id,
                FundRequest.state == RequestState.DRAFT,
                FundRequest.updated_at < stale,
            )
        )
        .scalars()
        .all()
    )
    for request_id in drafts:
        reason = f"archived after {consortium.draft_archive_days} days as a draft"
        if _try(
            session,
            report,
            request_id,
            lambda r=request_id, why=reason: transition(
                session, actor, r, Action.WITHDRAW, now=now, reason=why
            ),
        ):
            report.archived.append(request_id)


def run_timers(session: Session, consortium_id: int, now: datetime) -> TimerReport:
    """Everything due for one consortium at ``now``; the scheduler calls this every 15 minutes."""
    report = TimerReport()
    expire_approvals(session, consortium_id, now, report)
    remind_and_escalate(session, consortium_id, now, report)
    archive_drafts(session, consortium_id, now, report)
    return report


def mark_carried_over(
    session: Session, actor: Actor, request_id: int, *, now: datetime
) -> FundRequest:
    """Finance keeps an approval alive across 30 June."""
    actor.require_lead(*FINANCE, doing="carry approvals over the year end")
    request = session.get(FundRequest, request_id)
    if request is None or request.consortium_id != actor.consortium_id:
        raise NotFoundError("There is no such request.")
    if request.state not in HOLDS_FUNDS:
        raise NotAllowedError("Only an approved, unpaid request can be carried over.")
    request.carried_over = True
    session.flush()
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="request.carried_over",
        subject_type="request",
        subject_id=request.id,
        now=now,
        number=request.number,
    )
    return request
