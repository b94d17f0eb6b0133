"""Opening a request's next approval step: who may decide it, by when, and its dead ends.

A step becomes active when the request is submitted (step 1) or when the step before it is done.
Its deciders are the eligible holders of its roles; when too few of them are left (segregation
of duties, leave, the requester themselves), the step escalates to its ``escalate_to`` role, and
a step that still cannot reach its quorum is recorded as an exception for staff to see
(docs/approvals.md#policy).
"""

from __future__ import annotations

from approvals.business_days import add_business_days
from approvals.lifecycle.requests import Context, deciders, request_label, steps_of
from approvals.models import RequestException, RequestStep, StepApprover, StepStatus
from approvals.notify import notify
from approvals.policy.approvers import eligible
from approvals.policy.rules import Quorum, StepSpec


def activate(c: Context, position: int, just_decided: frozenset[int] = frozenset()) -> None:
    """Open step ``position``: name its deciders, set its due day, and tell them it waits."""
    step = next(s for s in steps_of(c) if s.position == position)
    barred = deciders(c, None) | just_decided  # SoD 2 counts the approval being made now
    needed = StepSpec(tuple(step.approvers), Quorum(step.quorum), step.quorum_n).fewest_people()
    people, via = eligible(
        c.session, c.request, step.approvers, step.escalate_to, barred, c.today, needed
    )
    step.status, step.activated_at = StepStatus.ACTIVE.value, c.now
    step.due_on = add_business_days(c.today, step.sla_business_days, c.consortium.state)
    c.request.current_step = position
    for user_id in sorted(people):
        c.session.add(StepApprover(step_id=step.id, user_id=user_id, via=via))
    if via == "escalation" or len(people) < needed:
        _record_dead_end(c, step, people, via, needed)
    c.session.flush()
    notify(
        c.session,
        people,
        kind="approval_waiting",
        message=f"{request_label(c.request)} waits for your decision.",
        request_id=c.request.id,
        now=c.now,
    )


def _record_dead_end(
    c: Context, step: RequestStep, people: set[int], via: str, needed: int
) -> None:
    """Nobody left, or fewer than the quorum: recorded for staff to see, escalated or not."""
    who = ", ".join(step.approvers)
    short = (
        f"nobody in {who} may decide it"
        if needed == 1
        else (f"fewer than {needed} people in {who} may decide it")
    )
    c.session.add(
        RequestException(
            request_id=c.request.id,
            kind="escalated" if len(people) >= needed else "no_eligible_approver",
            recorded_by_id=None,
            at=c.now,
            detail=f"Step {step.position}: {short}"
            + (f"; sent to {step.escalate_to}." if via == "escalation" and people else "."),
        )
    )
