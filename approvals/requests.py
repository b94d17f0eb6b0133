"""Fund requests and the one function that moves them between states (DESIGN §3.2).

``transition`` checks, in this order: the transition table, who may act (role, scope, the step's
resolved approvers and delegations), segregation of duties, and funds; then it writes the
decision, the audit event and the inbox, and on final approval reserves the money in the same
database transaction. It flushes and never commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals import audit
from approvals.actors import Actor
from approvals.business_days import add_business_days, business_days_between
from approvals.chain import delegators_for, eligible
from approvals.clients import LEAD_READERS, client_account, get_client
from approvals.errors import (
    CapExceededError,
    DuplicateError,
    InvalidInputError,
    InvalidTransitionError,
    NotAllowedError,
    NotFoundError,
)
from approvals.fiscal import financial_year
from approvals.gst import GstBasis, charge_to_funds, plausible_gst
from approvals.models import (
    Category,
    Client,
    Consortium,
    Decision,
    FundRequest,
    Need,
    Organisation,
    RequestException,
    RequestStep,
    Role,
    StepApprover,
    Supplier,
)
from approvals.notify import notify
from approvals.policies import published_policy
from approvals.policy import Quorum, RequestFacts, StepSpec, build_chain
from approvals.setup import envelope_account
from approvals.states import Action, RequestState, targets
from ledger.money import format_cents
from ledger.posting import post_entry
from ledger.values import JournalEntry, Reserve, VoidPending

S = RequestState
MAX_PURPOSE, MAX_WHY, MAX_REASON = 500, 1000, 1000
COUNTED_STATES = ("pending", "info_requested", "approved", "part_paid", "paid")


@dataclass(frozen=True)
class RequestInput:
    client_id: int
    need_id: int
    category_id: int
    amount_cents: int  # inc-GST
    gst_cents: int
    supplier_id: int | None
    purpose: str
    no_other_channel: str
    needed_by: date


def request_label(request: FundRequest) -> str:
    return f"R-{request.number:04d}"


def can_see(actor: Actor, request: FundRequest, approver_ids: set[int] | None = None) -> bool:
    if request.consortium_id != actor.consortium_id:
        return False
    if any(actor.has_lead(role) for role in LEAD_READERS):
        return True
    if actor.has(Role.SF, request.organisation_id) or actor.has(Role.TL, request.organisation_id):
        return True
    return approver_ids is not None and actor.user_id in approver_ids


def create_request(
    session: Session, actor: Actor, data: RequestInput, *, now: datetime
) -> FundRequest:
    """A draft request for one of the actor's NGO's clients."""
    client = get_client(session, actor, data.client_id, now=now, why="new request")
    actor.require(
        Role.SF,
        Role.TL,
        organisation_id=client.organisation_id,
        doing="request funds for this client",
    )
    _check_input(session, actor, client, data)
    consortium = session.execute(
        select(Consortium).where(Consortium.id == actor.consortium_id).with_for_update()
    ).scalar_one()  # numbers requests one at a time
    number = session.execute(
        select(func.coalesce(func.max(FundRequest.number), 0)).where(
            FundRequest.consortium_id == consortium.id
        )
    ).scalar_one()
    request = FundRequest(
        consortium_id=consortium.id,
        number=number + 1,
        organisation_id=client.organisation_id,
        client_id=client.id,
        need_id=data.need_id,
        category_id=data.category_id,
        requester_id=actor.user_id,
        supplier_id=data.supplier_id,
        amount_cents=data.amount_cents,
        gst_cents=data.gst_cents,
        purpose=data.purpose.strip(),
        no_other_channel=data.no_other_channel.strip(),
        needed_by=data.needed_by,
        state=S.DRAFT.value,
        round=0,
        paid_cents=0,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        consortium_id=consortium.id,
        actor_id=actor.user_id,
        action="request.created",
        subject_type="request",
        subject_id=request.id,
        now=now,
        number=request.number,
        client=client.code,
    )
    return request


def _check_input(session: Session, actor: Actor, client: Client, data: RequestInput) -> None:
    problems: dict[str, str] = {}
    need = session.get(Need, data.need_id)
    if need is None or need.client_id != client.id:
        problems["need_id"] = "Choose one of this client's Action Plan needs."
    elif need.status != "open":
        problems["need_id"] = "That need is no longer open."
    category = session.get(Category, data.category_id)
    if category is None or category.consortium_id != actor.consortium_id or not category.active:
        problems["category_id"] = "Choose an active category."
    supplier = session.get(Supplier, data.supplier_id) if data.supplier_id is not None else None
    if data.supplier_id is not None and (
        supplier is None or supplier.consortium_id != actor.consortium_id
    ):
        problems["supplier_id"] = "Choose a known supplier."
    if (
        not isinstance(data.amount_cents, int)
        or isinstance(data.amount_cents, bool)
        or data.amount_cents <= 0
    ):
        problems["amount_cents"] = "The amount must be more than $0.00."
    elif (
        not isinstance(data.gst_cents, int)
        or isinstance(data.gst_cents, bool)
        or data.gst_cents < 0
    ):
        problems["gst_cents"] = "GST cannot be negative."
    else:
        problem = plausible_gst(
            data.amount_cents,
            data.gst_cents,
            registered=supplier.gst_registered if supplier else True,
        )
        if problem:
            problems["gst_cents"] = problem
    if not 0 < len((data.purpose or "").strip()) <= MAX_PURPOSE:
        problems["purpose"] = f"Say what it is for (1-{MAX_PURPOSE} characters)."
    if not 0 < len((data.no_other_channel or "").strip()) <= MAX_WHY:
        problems["no_other_channel"] = (
            "Say why NDIS, Centrelink, housing or health services cannot meet it."
        )
    if not isinstance(data.needed_by, date) or isinstance(data.needed_by, datetime):
        problems["needed_by"] = "Give the date it is needed by."
    if problems:
        raise InvalidInputError(
            "The request was not saved: " + " ".join(problems.values()), fields=problems
        )


# -- transitions ---------------------------------------------------------------------------


@dataclass
class _Context:
    session: Session
    actor: Actor
    request: FundRequest
    consortium: Consortium
    now: datetime
    reason: str | None
    amount_cents: int | None
    override_reason: str | None

    @property
    def today(self) -> date:
        return self.now.astimezone(ZoneInfo(self.consortium.timezone)).date()


def transition(
    session: Session,
    actor: Actor,
    request_id: int,
    action: Action,
    *,
    now: datetime,
    reason: str | None = None,
    amount_cents: int | None = None,
    override_reason: str | None = None,
) -> FundRequest:
    """Move a request by one action; a precise error, and nothing changed, when it may not."""
    request = session.execute(
        select(FundRequest).where(FundRequest.id == request_id).with_for_update()
    ).scalar()
    if request is None or not can_see(actor, request, _current_approvers(session, request)):
        raise NotFoundError("There is no such request.")
    state = RequestState(request.state)
    possible = targets(state, action)
    handler = _HANDLERS.get(action)
    if handler is None:
        raise InvalidTransitionError(f"{action.value} is not available yet for requests.")
    if reason is not None and len(reason) > MAX_REASON:
        raise InvalidInputError(
            "The reason is too long.", fields={"reason": f"At most {MAX_REASON} characters."}
        )
    consortium = session.get_one(Consortium, request.consortium_id)
    context = _Context(
        session,
        actor,
        request,
        consortium,
        now,
        (reason or "").strip() or None,
        amount_cents,
        override_reason,
    )
    on_behalf_of, step_id = handler(context)
    new_state = RequestState(request.state)
    assert new_state in possible, (state, action, new_state)  # noqa: S101 - the table is the contract
    request.updated_at = now
    session.add(
        Decision(
            request_id=request.id,
            step_id=step_id,
            round=request.round,
            action=action.value,
            from_state=state.value,
            to_state=new_state.value,
            actor_id=actor.user_id,
            on_behalf_of_id=on_behalf_of,
            reason=context.reason,
            amount_cents=amount_cents,
            at=now,
        )
    )
    session.flush()
    audit.record(
        session,
        consortium_id=request.consortium_id,
        actor_id=actor.user_id,
        action=f"request.{action.value}",
        subject_type="request",
        subject_id=request.id,
        now=now,
        number=request.number,
        to=new_state.value,
        on_behalf_of=on_behalf_of,
    )
    if new_state is not state:
        message = f"{request_label(request)} is now {new_state.value.replace('_', ' ')}."
        notify(
            session,
            {request.requester_id} - {actor.user_id},
            kind="request_changed",
            message=message,
            request_id=request.id,
            now=now,
        )
    return request


Handler = Callable[[_Context], tuple[int | None, int | None]]


def _require_requester(c: _Context, doing: str) -> None:
    if c.actor.user_id != c.request.requester_id and not c.actor.has(
        Role.TL, c.request.organisation_id
    ):
        raise NotAllowedError(f"Only the requester or their Team Leader may {doing}.")


def _require_reason(c: _Context, action: str) -> str:
    if not c.reason:
        raise InvalidInputError(f"Give a reason to {action}.", fields={"reason": "Required."})
    return c.reason


def _submit(c: _Context) -> tuple[int | None, int | None]:
    _require_requester(c, "submit it")
    request = c.request
    request.round += 1
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
                status="waiting",
                paused_business_days=0,
            )
        )
    c.session.flush()
    request.state = S.PENDING.value
    _flag_possible_duplicate(c)
    _activate(c, 1)
    return None, None


def _facts(c: _Context) -> RequestFacts:
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
        _charge(c),
        int(others) + _charge(c),
        supplier is not None and supplier.verified_at is not None,
    )


def _charge(c: _Context) -> int:
    """What the client's funds will pay: ex-GST when the consortium claims GST credits."""
    if c.request.approved_cents is not None:
        return c.request.approved_cents
    return charge_to_funds(
        c.request.amount_cents, c.request.gst_cents, GstBasis(c.consortium.gst_basis)
    )


def _flag_possible_duplicate(c: _Context) -> None:
    request = c.request
    since = request.created_at - timedelta(days=c.consortium.duplicate_window_days)
    twin = c.session.execute(
        select(FundRequest.number).where(
            FundRequest.client_id == request.client_id,
            FundRequest.category_id == request.category_id,
            FundRequest.amount_cents == request.amount_cents,
            FundRequest.id != request.id,
            FundRequest.created_at >= since,
            FundRequest.state.not_in(("draft", "withdrawn", "rejected")),
        )
    ).scalar()
    if twin is not None:
        c.session.add(
            RequestException(
                request_id=request.id,
                kind="possible_duplicate",
                recorded_by_id=None,
                at=c.now,
                detail=f"Same client, category and amount as R-{twin:04d} "
                f"within {c.consortium.duplicate_window_days} days.",
            )
        )


def _steps(c: _Context) -> list[RequestStep]:
    return list(
        c.session.execute(
            select(RequestStep)
            .where(RequestStep.request_id == c.request.id, RequestStep.round == c.request.round)
            .order_by(RequestStep.position)
        ).scalars()
    )


def _deciders(c: _Context, except_step: int | None) -> set[int]:
    """Who approved any step of this request (SoD 2), other than ``except_step``."""
    rows = c.session.execute(
        select(Decision.actor_id, Decision.step_id).where(
            Decision.request_id == c.request.id, Decision.action == Action.APPROVE.value
        )
    ).all()
    return {actor for actor, step in rows if step != except_step}


def _activate(c: _Context, position: int, just_decided: frozenset[int] = frozenset()) -> None:
    step = next(s for s in _steps(c) if s.position == position)
    barred = _deciders(c, None) | just_decided  # SoD 2 counts the approval being made now
    people, via = eligible(c.session, c.request, step.approvers, step.escalate_to, barred, c.today)
    step.status, step.activated_at = "active", c.now
    step.due_on = add_business_days(c.today, step.sla_business_days, c.consortium.state)
    c.request.current_step = position
    for user_id in sorted(people):
        c.session.add(StepApprover(step_id=step.id, user_id=user_id, via=via))
    if via == "escalation" or not people:
        c.session.add(
            RequestException(
                request_id=c.request.id,
                kind="escalated" if people else "no_eligible_approver",
                recorded_by_id=None,
                at=c.now,
                detail=f"Step {position}: nobody in {', '.join(step.approvers)} may decide it"
                + (f"; sent to {step.escalate_to}." if people else "."),
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


def _current_step(c: _Context) -> RequestStep:
    return next(s for s in _steps(c) if s.position == c.request.current_step)


def _current_approvers(session: Session, request: FundRequest) -> set[int]:
    if request.current_step is None:
        return set()
    rows = session.execute(
        select(StepApprover.user_id)
        .join(RequestStep, RequestStep.id == StepApprover.step_id)
        .where(
            RequestStep.request_id == request.id,
            RequestStep.round == request.round,
            RequestStep.position == request.current_step,
        )
    ).scalars()
    return set(rows)


def _as_approver(c: _Context, step: RequestStep) -> int | None:
    """Check the actor may decide ``step``; returns whom they act for (a delegation) or None."""
    if c.actor.user_id == c.request.requester_id:
        raise NotAllowedError("You cannot decide your own request.")  # SoD 1
    if c.actor.user_id in _deciders(c, step.id):
        raise NotAllowedError("You already decided another step of this request.")  # SoD 2
    if c.actor.has_lead(Role.ADMIN) and not any(
        c.actor.has(r) for r in (Role.TL, Role.PM, Role.FIN_MGR, Role.CEO)
    ):
        raise NotAllowedError("ADMIN never approves.")  # SoD 4
    approvers = _current_approvers(c.session, c.request)
    if c.actor.user_id in approvers:
        return None
    for principal in sorted(
        delegators_for(c.session, c.actor.user_id, c.consortium.id, c.today) & approvers
    ):
        return principal
    raise NotAllowedError("This step is not yours to decide.")


def _approve(c: _Context) -> tuple[int | None, int | None]:
    step = _current_step(c)
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
        if not isinstance(c.amount_cents, int) or not 0 < c.amount_cents <= _charge(c):
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
    eligible_count = len(_current_approvers(c.session, request))
    spec = StepSpec(
        tuple(step.approvers), Quorum(step.quorum), step.quorum_n, step.sla_business_days
    )
    if approvals < spec.needed(eligible_count):
        return on_behalf_of, step.id
    step.status, step.completed_at = "done", c.now
    if step.position < len(_steps(c)):
        _activate(c, step.position + 1, frozenset({c.actor.user_id}))
        return on_behalf_of, step.id
    _final_approval(c)
    return on_behalf_of, step.id


def _final_approval(c: _Context) -> None:
    """Approved: reserve the money now, in this transaction, or fail and stay pending."""
    request = c.request
    charge = _charge(c)
    _check_cap(c, charge)
    client = c.session.get_one(Client, request.client_id)
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


def _check_cap(c: _Context, charge: int) -> None:
    request = c.request
    year = financial_year(request.needed_by)
    held = c.session.execute(
        select(func.coalesce(func.sum(FundRequest.approved_cents), 0)).where(
            FundRequest.client_id == request.client_id,
            FundRequest.id != request.id,
            FundRequest.state.in_(("approved", "part_paid", "paid")),
            FundRequest.needed_by.between(year.start, year.end),
        )
    ).scalar_one()
    total, cap = int(held or 0) + charge, c.consortium.client_fy_cap_cents
    if total <= cap:
        return
    message = (
        f"This would bring the client's {year.label} total to {format_cents(total)}, "
        f"over the cap of {format_cents(cap)}."
    )
    if c.consortium.cap_mode == "stop" or not c.override_reason:
        raise CapExceededError(
            message
            + (" A PM may override with a reason." if c.consortium.cap_mode == "warn" else "")
        )
    if not c.actor.has_lead(Role.PM):
        raise NotAllowedError("Only a PM may override the client cap.")
    c.session.add(
        RequestException(
            request_id=request.id,
            kind="cap_override",
            recorded_by_id=c.actor.user_id,
            at=c.now,
            detail=f"{message} Override: {c.override_reason[:500]}",
        )
    )


def _expiry(c: _Context) -> datetime:
    """The later of N days after approval and the grace days after needed-by (local day end)."""
    zone = ZoneInfo(c.consortium.timezone)
    after_approval = c.now + timedelta(days=c.consortium.approval_expiry_days)
    last_day = c.request.needed_by + timedelta(days=c.consortium.needed_by_grace_days)
    after_needed = datetime.combine(last_day, time(23, 59, 59), tzinfo=zone).astimezone(UTC)
    return max(after_approval, after_needed)


def _close_steps(c: _Context) -> None:
    for step in _steps(c):
        if step.status in ("waiting", "active"):
            step.status = "cancelled"
    c.request.current_step = None


def _reject(c: _Context) -> tuple[int | None, int | None]:
    step = _current_step(c)
    on_behalf_of = _as_approver(c, step)
    _require_reason(c, "reject")
    c.request.state = S.REJECTED.value
    _close_steps(c)
    return on_behalf_of, step.id


def _request_info(c: _Context) -> tuple[int | None, int | None]:
    step = _current_step(c)
    on_behalf_of = _as_approver(c, step)
    _require_reason(c, "ask for more information")
    c.request.state = S.INFO_REQUESTED.value
    return on_behalf_of, step.id


def _respond(c: _Context) -> tuple[int | None, int | None]:
    _require_requester(c, "respond")
    _require_reason(c, "respond")
    step = _current_step(c)
    asked = c.session.execute(
        select(func.max(Decision.at)).where(
            Decision.step_id == step.id, Decision.action == Action.REQUEST_INFO.value
        )
    ).scalar_one()
    if asked is not None and step.due_on is not None:  # the SLA clock was paused while waiting
        zone = ZoneInfo(c.consortium.timezone)
        paused = business_days_between(asked.astimezone(zone).date(), c.today, c.consortium.state)
        step.paused_business_days += paused
        step.due_on = add_business_days(step.due_on, paused, c.consortium.state)
    c.request.state = S.PENDING.value
    notify(
        c.session,
        _current_approvers(c.session, c.request),
        kind="info_provided",
        message=f"{request_label(c.request)}: the requester has responded.",
        request_id=c.request.id,
        now=c.now,
    )
    return None, step.id


def _send_back(c: _Context) -> tuple[int | None, int | None]:
    step = _current_step(c)
    on_behalf_of = _as_approver(c, step)
    _require_reason(c, "send it back")
    c.request.state = S.RETURNED.value
    _close_steps(c)
    return on_behalf_of, step.id


def _withdraw(c: _Context) -> tuple[int | None, int | None]:
    _require_requester(c, "withdraw it")
    c.request.state = S.WITHDRAWN.value
    _close_steps(c)
    return None, None


def _cancel(c: _Context) -> tuple[int | None, int | None]:
    c.actor.require_lead(Role.PM, Role.FIN, doing="cancel an approved request")
    _require_reason(c, "cancel")
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


_HANDLERS: dict[Action, Handler] = {
    Action.SUBMIT: _submit,
    Action.RESUBMIT: _submit,
    Action.APPROVE: _approve,
    Action.REJECT: _reject,
    Action.REQUEST_INFO: _request_info,
    Action.RESPOND: _respond,
    Action.SEND_BACK: _send_back,
    Action.WITHDRAW: _withdraw,
    Action.CANCEL: _cancel,
}
