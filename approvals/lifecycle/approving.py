"""The approval chain at work: submit, each step's decisions, and the final reservation.

Handlers for ``approvals.lifecycle.transitions``: each checks what only it can check (who may
decide this
step, segregation of duties, caps, funds), changes the request, and says for whom the actor acted
and on which step, for the decision record.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from approvals.business_days import add_business_days, business_days_between
from approvals.consortium.clients import client_account
from approvals.consortium.setup import envelope_account
from approvals.errors import (
    CapExceededError,
    DuplicateError,
    InvalidInputError,
    NotAllowedError,
)
from approvals.fiscal import financial_year
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
    CHARGED_STATES,
    COUNTED_STATES,
    SET_ASIDE,
    Action,
    RequestState,
)
from approvals.locks import locked
from approvals.models import (
    Category,
    Client,
    Decision,
    FundRequest,
    Organisation,
    RequestException,
    RequestStep,
    Role,
    StepApprover,
    StepStatus,
    Supplier,
)
from approvals.models.people import NEVER_APPROVE
from approvals.notify import notify
from approvals.policy.approvers import delegators_for, eligible
from approvals.policy.rules import Quorum, RequestFacts, StepSpec, build_chain
from approvals.policy.versions import published_policy
from approvals.zone import local_day, zone_of
from ledger.money import format_cents
from ledger.posting import post_entry
from ledger.values import JournalEntry, Reserve, VoidPending

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
    _activate(c, 1)
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


def _activate(c: Context, position: int, just_decided: frozenset[int] = frozenset()) -> None:
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
        # A dead end (nobody left, or fewer than the quorum) is recorded for staff to see.
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
                detail=f"Step {position}: {short}"
                + (f"; sent to {step.escalate_to}." if via == "escalation" and people else "."),
            )
        )
    c.session.flush()
    notify(
        c.session,
        people,
        kind="approval_waiting",
        message=f"{request_label(c.request)} waits for your decision.",
        request_id=c.request.id,
        now=c.now,
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
        _activate(c, step.position + 1, frozenset({c.actor.user_id}))
        return on_behalf_of, step.id
    _final_approval(c)
    return on_behalf_of, step.id


def _final_approval(c: Context) -> None:
    """Approved: reserve the money now, in this transaction, or fail and stay pending."""
    request = c.request
    charge = charge_of(c)
    # INVARIANT: the client's row serialises their final approvals, so the caps are checked
    # against totals no other approval can change before this one commits (taken before the
    # book: docs/concurrency.md).
    client = locked(c.session, Client, request.client_id)
    assert client is not None  # noqa: S101 - a request's client is a foreign key
    _check_cap(c, charge)
    organisation = c.session.get_one(Organisation, request.organisation_id)
    category = c.session.get_one(Category, request.category_id)
    expires_at = _expiry(c)
    posted = post_entry(
        c.session,
        JournalEntry(
            c.consortium.code,
            c.today,
            f"{request_label(request)} approved: {category.name} for {client.code}",
            c.actor.label,
            (
                Reserve(
                    envelope_account(organisation.code),
                    client_account(client.code),
                    charge,
                    expires_at=expires_at,
                    category=category.code,
                    request_id=request.id,
                ),
            ),
            idempotency_key=f"request:{request.id}:reserve:{request.round}",
        ),
        now=c.now,
    )
    request.state, request.approved_cents, request.approved_at = S.APPROVED.value, charge, c.now
    request.reservation_id, request.expires_at, request.current_step = (
        posted.transfer_ids[0],
        expires_at,
        None,
    )


def _client_total(c: Context, *, category_id: int | None = None) -> int:
    """What the client's other approved requests this financial year have charged or hold."""
    request = c.request
    year = financial_year(request.needed_by)
    query = select(func.coalesce(func.sum(FundRequest.approved_cents), 0)).where(
        FundRequest.client_id == request.client_id,
        FundRequest.id != request.id,
        FundRequest.state.in_(CHARGED_STATES),
        FundRequest.needed_by.between(year.start, year.end),
    )
    if category_id is not None:
        query = query.where(FundRequest.category_id == category_id)
    return int(c.session.execute(query).scalar_one() or 0)


def _check_cap(c: Context, charge: int) -> None:
    """The client's yearly cap and the category's, with the consortium's STOP or WARN."""
    year = financial_year(c.request.needed_by).label
    category = c.session.get_one(Category, c.request.category_id)
    over: list[str] = []
    total = _client_total(c) + charge
    if total > c.consortium.client_fy_cap_cents:
        over.append(
            f"This would bring the client's {year} total to {format_cents(total)}, "
            f"over the cap of {format_cents(c.consortium.client_fy_cap_cents)}."
        )
    if category.client_fy_cap_cents is not None:
        in_category = _client_total(c, category_id=category.id) + charge
        if in_category > category.client_fy_cap_cents:
            over.append(
                f"{category.name} for this client in {year} would reach "
                f"{format_cents(in_category)}, over the category's cap of "
                f"{format_cents(category.client_fy_cap_cents)}."
            )
    if not over:
        return
    message = " ".join(over)
    if c.consortium.cap_mode == "stop" or not c.override_reason:
        hint = " A PM may override with a reason." if c.consortium.cap_mode == "warn" else ""
        raise CapExceededError(message + hint)
    if not c.actor.has_lead(Role.PM):
        raise NotAllowedError("Only a PM may override a cap.")
    c.session.add(
        RequestException(
            request_id=c.request.id,
            kind="cap_override",
            recorded_by_id=c.actor.user_id,
            at=c.now,
            detail=f"{message} Override: {c.override_reason[:500]}",
        )
    )


def _expiry(c: Context) -> datetime:
    """The later of N days after approval and the grace days after needed-by (local day end)."""
    zone = zone_of(c.consortium)
    after_approval = c.now + timedelta(days=c.consortium.approval_expiry_days)
    last_day = c.request.needed_by + timedelta(days=c.consortium.needed_by_grace_days)
    after_needed = datetime.combine(last_day, time(23, 59, 59), tzinfo=zone).astimezone(UTC)
    return max(after_approval, after_needed)


def reject(c: Context) -> tuple[int | None, int | None]:
    step = current_step(c)
    on_behalf_of = _as_approver(c, step)
    require_reason(c, "reject")
    c.request.state = S.REJECTED.value
    close_steps(c)
    return on_behalf_of, step.id


def request_info(c: Context) -> tuple[int | None, int | None]:
    step = current_step(c)
    on_behalf_of = _as_approver(c, step)
    require_reason(c, "ask for more information")
    c.request.state = S.INFO_REQUESTED.value
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
    step = current_step(c)
    on_behalf_of = _as_approver(c, step)
    require_reason(c, "send it back")
    c.request.state = S.RETURNED.value
    close_steps(c)
    return on_behalf_of, step.id


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
