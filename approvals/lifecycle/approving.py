"""The approval chain at work: submit, each step's decisions, cancelling and expiring.

Handlers for ``approvals.lifecycle.transitions``: each checks what only it can check (who may
decide this step, segregation of duties), changes the request, and says for whom the actor acted
and on which step, for the decision record. Opening the next step lives in
``approvals.lifecycle.steps``; the last approval's caps and reservation in
``approvals.lifecycle.final_approval``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from approvals.business_days import add_business_days, business_days_between
from approvals.errors import (
    DuplicateError,
    InvalidInputError,
    NotAllowedError,
)
from approvals.fiscal import financial_year
from approvals.lifecycle.final_approval import final_approval
from approvals.lifecycle.permissions import lead_roles
from approvals.lifecycle.requests import (
    Context,
    charge_of,
    close_steps,
    current_approvers,
    current_step,
    deciders,
    request_label,
    require_reason,
    require_requester,
    steps_of,
)
from approvals.lifecycle.states import (
    COUNTED_STATES,
    SET_ASIDE,
    Action,
    RequestState,
)
from approvals.lifecycle.steps import activate
from approvals.models import (
    Category,
    Decision,
    FundRequest,
    Organisation,
    RequestException,
    RequestStep,
    StepStatus,
    Supplier,
)
from approvals.models.people import NEVER_APPROVE
from approvals.notify import notify
from approvals.policy.approvers import delegators_for
from approvals.policy.rules import Quorum, RequestFacts, StepSpec, build_chain
from approvals.policy.versions import published_policy
from approvals.zone import local_day
from ledger.posting import post_entry
from ledger.values import JournalEntry, VoidPending

S = RequestState


def submit(c: Context) -> tuple[int | None, int | None]:
    require_requester(c, Action.SUBMIT, "submit it")
    request = c.request
    request.round += 1
    request.approved_cents = None  # a reduction belonged to the last round's approvers
    facts = _facts(c)
    _policy, rules = published_policy(c.session, request.consortium_id)
    chain = build_chain(rules, facts)
    for position, step in enumerate(chain, start=1):
        c.session.add(
            RequestStep(
                request_id=request.id,
                round=request.round,
                position=position,
                approvers=list(step.approvers),
                quorum=step.quorum.value,
                quorum_n=step.quorum_n,
                sla_business_days=step.sla_business_days,
                escalate_to=step.escalate_to,
                status=StepStatus.WAITING.value,
                paused_business_days=0,
            )
        )
    c.session.flush()
    request.state = S.PENDING.value
    _flag_possible_duplicate(c)
    activate(c, 1)
    return None, None


def _facts(c: Context) -> RequestFacts:
    request = c.request
    organisation = c.session.get_one(Organisation, request.organisation_id)
    category = c.session.get_one(Category, request.category_id)
    supplier = c.session.get(Supplier, request.supplier_id) if request.supplier_id else None
    year = financial_year(request.needed_by)
    others = c.session.execute(
        select(
            func.coalesce(
                func.sum(func.coalesce(FundRequest.approved_cents, FundRequest.amount_cents)), 0
            )
        ).where(
            FundRequest.client_id == request.client_id,
            FundRequest.id != request.id,
            FundRequest.state.in_(COUNTED_STATES),
            FundRequest.needed_by.between(year.start, year.end),
        )
    ).scalar_one()
    return RequestFacts(
        organisation.code,
        category.code,
        charge_of(c),
        int(others) + charge_of(c),
        supplier is not None and supplier.verified_at is not None,
    )


def _flag_possible_duplicate(c: Context) -> None:
    request = c.request
    since = request.created_at - timedelta(days=c.consortium.duplicate_window_days)
    twin = c.session.execute(
        select(FundRequest.number).where(
            FundRequest.client_id == request.client_id,
            FundRequest.category_id == request.category_id,
            FundRequest.amount_cents == request.amount_cents,
            FundRequest.id != request.id,
            FundRequest.created_at >= since,
            FundRequest.state.not_in(SET_ASIDE),
        )
    ).scalar()
    if twin is not None:
        c.session.add(
            RequestException(
                request_id=request.id,
                kind="possible_duplicate",
                recorded_by_id=None,
                at=c.now,
                detail=f"Same client, category and amount as {request_label(twin)} "
                f"within {c.consortium.duplicate_window_days} days.",
            )
        )


def _as_approver(c: Context, step: RequestStep) -> int | None:
    """Check the actor may decide ``step``; returns whom they act for (a delegation) or None."""
    if c.actor.user_id == c.request.requester_id:
        raise NotAllowedError("You cannot decide your own request.")  # SoD 1
    if c.actor.user_id in deciders(c, step.id):
        raise NotAllowedError("You already decided another step of this request.")  # SoD 2
    if any(c.actor.has(role) for role in NEVER_APPROVE):  # SoD 4, whatever else they hold
        raise NotAllowedError("ADMIN and AUDITOR never approve, whatever other role they hold.")
    approvers = current_approvers(c.session, c.request)
    if c.actor.user_id in approvers:
        return None
    for principal in sorted(
        delegators_for(c.session, c.actor.user_id, c.consortium.id, c.today) & approvers
    ):
        return principal
    raise NotAllowedError("This step is not yours to decide.")


def approve(c: Context) -> tuple[int | None, int | None]:
    step = current_step(c)
    on_behalf_of = _as_approver(c, step)
    request = c.request
    already = c.session.execute(
        select(Decision.id).where(
            Decision.step_id == step.id,
            Decision.action == Action.APPROVE.value,
            Decision.actor_id == c.actor.user_id,
        )
    ).first()
    if already is not None:
        raise DuplicateError("You have already approved this step.")
    if c.amount_cents is not None:
        if not isinstance(c.amount_cents, int) or not 0 < c.amount_cents <= charge_of(c):
            raise InvalidInputError(
                "An approver may only reduce the amount.",
                fields={"amount_cents": "More than $0.00, at most the request."},
            )
        request.approved_cents = c.amount_cents
    approvals = 1 + len(
        c.session.execute(
            select(Decision.id).where(
                Decision.step_id == step.id, Decision.action == Action.APPROVE.value
            )
        ).all()
    )
    eligible_count = len(current_approvers(c.session, request))
    spec = StepSpec(
        tuple(step.approvers), Quorum(step.quorum), step.quorum_n, step.sla_business_days
    )
    if approvals < spec.needed(eligible_count):
        return on_behalf_of, step.id
    step.status, step.completed_at = StepStatus.DONE.value, c.now
    if step.position < len(steps_of(c)):
        activate(c, step.position + 1, frozenset({c.actor.user_id}))
        return on_behalf_of, step.id
    final_approval(c)
    return on_behalf_of, step.id


def reject(c: Context) -> tuple[int | None, int | None]:
    return _decide_with_reason(c, S.REJECTED, "reject", ends_the_round=True)


def request_info(c: Context) -> tuple[int | None, int | None]:
    return _decide_with_reason(c, S.INFO_REQUESTED, "ask for more information")


def _decide_with_reason(
    c: Context, to: RequestState, doing: str, *, ends_the_round: bool = False
) -> tuple[int | None, int | None]:
    """An approver's decision that must say why: reject, ask for information, send back."""
    step = current_step(c)
    on_behalf_of = _as_approver(c, step)
    require_reason(c, doing)
    c.request.state = to.value
    if ends_the_round:
        close_steps(c)
    return on_behalf_of, step.id


def respond(c: Context) -> tuple[int | None, int | None]:
    require_requester(c, Action.RESPOND, "respond")
    require_reason(c, "respond")
    step = current_step(c)
    asked = c.session.execute(
        select(func.max(Decision.at)).where(
            Decision.step_id == step.id, Decision.action == Action.REQUEST_INFO.value
        )
    ).scalar_one()
    if asked is not None and step.due_on is not None:  # the SLA clock was paused while waiting
        asked_on = local_day(c.consortium, asked)
        paused = business_days_between(asked_on, c.today, c.consortium.state)
        step.paused_business_days += paused
        step.due_on = add_business_days(step.due_on, paused, c.consortium.state)
    c.request.state = S.PENDING.value
    notify(
        c.session,
        current_approvers(c.session, c.request),
        kind="info_provided",
        message=f"{request_label(c.request)}: the requester has responded.",
        request_id=c.request.id,
        now=c.now,
    )
    return None, step.id


def send_back(c: Context) -> tuple[int | None, int | None]:
    return _decide_with_reason(c, S.RETURNED, "send it back", ends_the_round=True)


def withdraw(c: Context) -> tuple[int | None, int | None]:
    require_requester(c, Action.WITHDRAW, "withdraw it")  # or the scheduler, archiving drafts
    c.request.state = S.WITHDRAWN.value
    close_steps(c)
    return None, None


def cancel(c: Context) -> tuple[int | None, int | None]:
    c.actor.require_lead(*lead_roles(Action.CANCEL), doing="cancel an approved request")
    require_reason(c, "cancel")
    request = c.request
    if request.reservation_id is not None:
        post_entry(
            c.session,
            JournalEntry(
                c.consortium.code,
                c.today,
                f"{request_label(request)} cancelled: {c.reason}"[:500],
                c.actor.label,
                (VoidPending(request.reservation_id),),
                idempotency_key=f"request:{request.id}:cancel",
            ),
            now=c.now,
        )
    request.state = S.CANCELLED.value
    return None, None


def expire(c: Context) -> tuple[int | None, int | None]:
    """The scheduler releases an approval nobody paid in time (or at the financial year's end)."""
    if not c.actor.system:
        raise NotAllowedError("Approvals expire by themselves; cancel it instead.")
    request = c.request
    timed_out = request.expires_at is not None and request.expires_at <= c.now
    post_entry(
        c.session,
        JournalEntry(
            c.consortium.code,
            c.today,
            f"{request_label(request)} expired: {c.reason or 'not paid in time'}"[:500],
            c.actor.label,
            (VoidPending(request.reservation_id or 0, expiry=timed_out),),
            idempotency_key=f"request:{request.id}:expire",
        ),
        now=c.now,
    )
    request.state = S.EXPIRED.value
    c.session.add(
        RequestException(
            request_id=request.id,
            kind="expired",
            recorded_by_id=None,
            at=c.now,
            detail=f"Approval expired unpaid: {c.reason or 'not paid in time'}.",
        )
    )
    return None, None
