"""Fund requests: drafting one, who may see it, and the context every transition works in.

The transitions themselves are in ``approvals.lifecycle.transitions`` (the one entry point) with
their
handlers in ``approvals.lifecycle.approving`` and ``approvals.lifecycle.payments``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.consortium.clients import LEAD_READERS, get_client
from approvals.errors import (
    InvalidInputError,
    NotAllowedError,
)
from approvals.gst import GstBasis, charge_to_funds, plausible_gst
from approvals.lifecycle.permissions import WHO_MAY, Situation, is_party
from approvals.lifecycle.states import Action, RequestState
from approvals.models import (
    Category,
    Client,
    Consortium,
    Decision,
    FundRequest,
    Need,
    RequestStep,
    Role,
    StepApprover,
    StepStatus,
    Supplier,
)
from approvals.zone import consortium_today, local_today

S = RequestState
MAX_PURPOSE, MAX_WHY, MAX_REASON = 500, 1000, 1000
MAX_NEEDED_AHEAD_DAYS = 366


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


class Numbered(Protocol):
    """A request, or any row read with its ``number``."""

    @property
    def number(self) -> int: ...


def request_label(request: Numbered | int) -> str:
    """How people name a request (``R-0042``) on pages, in files, in messages: only here."""
    number = request if isinstance(request, int) else request.number
    return f"R-{number:04d}"


def can_see(actor: Actor, request: FundRequest, approver_ids: set[int] | None = None) -> bool:
    if request.consortium_id != actor.consortium_id:
        return False
    if actor.system:
        return True
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
    _check_input(
        session, actor, client, data, today=consortium_today(session, actor.consortium_id, now)
    )
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


def _check_input(
    session: Session, actor: Actor, client: Client, data: RequestInput, *, today: date
) -> None:
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
    elif not today <= data.needed_by <= today + timedelta(days=MAX_NEEDED_AHEAD_DAYS):
        problems["needed_by"] = "The date it is needed by: from today, within a year."
    if problems:
        raise InvalidInputError(
            "The request was not saved: " + " ".join(problems.values()), fields=problems
        )


@dataclass(frozen=True, kw_only=True)
class Context:
    """Everything one transition works with; built once by ``transition`` (or by an edit that
    checks the same rules), always by name: three of its optional fields look alike."""

    session: Session
    actor: Actor
    request: FundRequest
    consortium: Consortium
    now: datetime
    reason: str | None = None
    amount_cents: int | None = None
    override_reason: str | None = None
    payment: Any = None  # a payments.PaymentInput for pay

    @property
    def today(self) -> date:
        return local_today(self.consortium, self.now)


def require_requester(c: Context, action: Action, doing: str) -> None:
    """The requester's side of ``approvals.lifecycle.permissions.WHO_MAY``: the requester or their
    TL."""
    situation = Situation.of(c.request)
    if not any(is_party(c.actor, party, situation, ()) for party in WHO_MAY[action]):
        raise NotAllowedError(f"Only the requester or their Team Leader may {doing}.")


def require_reason(c: Context, action: str) -> str:
    if not c.reason:
        raise InvalidInputError(f"Give a reason to {action}.", fields={"reason": "Required."})
    return c.reason


def charge_of(c: Context) -> int:
    """What the client's funds will pay: ex-GST when the consortium claims GST credits."""
    if c.request.approved_cents is not None:
        return c.request.approved_cents
    return charge_to_funds(
        c.request.amount_cents, c.request.gst_cents, GstBasis(c.consortium.gst_basis)
    )


def steps_of(c: Context) -> list[RequestStep]:
    return list(
        c.session.execute(
            select(RequestStep)
            .where(RequestStep.request_id == c.request.id, RequestStep.round == c.request.round)
            .order_by(RequestStep.position)
        ).scalars()
    )


def deciders(c: Context, except_step: int | None) -> set[int]:
    """Who approved a step of this request's current round (SoD 2), other than ``except_step``.

    A new round (after a send-back or an increase) is a new chain: its steps are decided afresh.
    """
    rows = c.session.execute(
        select(Decision.actor_id, Decision.step_id).where(
            Decision.request_id == c.request.id,
            Decision.round == c.request.round,
            Decision.action == Action.APPROVE.value,
        )
    ).all()
    return {actor for actor, step in rows if step != except_step}


def current_step(c: Context) -> RequestStep:
    return next(s for s in steps_of(c) if s.position == c.request.current_step)


def current_approvers(session: Session, request: FundRequest) -> set[int]:
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


def close_steps(c: Context) -> None:
    for step in steps_of(c):
        if step.status in (StepStatus.WAITING.value, StepStatus.ACTIVE.value):
            step.status = StepStatus.CANCELLED.value
    c.request.current_step = None
