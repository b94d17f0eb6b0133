"""Changing a request's amount after it was written (docs/approvals.md#changing-the-amount).

Before submission, or once returned, the requester changes what they like. While it waits for
approvers, a lower amount carries on through the same chain, but a higher one re-matches the
policy and starts the chain again in a new round: approvals given for less do not stand for more.
Once approved, the amount is fixed (the reservation holds it); a new request is needed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.errors import InvalidInputError, InvalidTransitionError, NotFoundError
from approvals.gst import GstBasis, charge_to_funds, plausible_gst
from approvals.lifecycle.approving import submit
from approvals.lifecycle.requests import (
    Context,
    can_see,
    close_steps,
    request_label,
    require_requester,
)
from approvals.lifecycle.states import EDITABLE, IN_FLIGHT, Action
from approvals.locks import locked
from approvals.models import Consortium, Decision, FundRequest, Supplier

# The decision an amount change writes: not a transition (it moves no state), so not an Action.
AMEND = "amend"


def amend_amount(
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    amount_cents: int,
    gst_cents: int,
    now: datetime,
) -> FundRequest:
    request = locked(session, FundRequest, request_id)
    if request is None or not can_see(actor, request):
        raise NotFoundError("There is no such request.")
    consortium = session.get_one(Consortium, request.consortium_id)
    c = Context(session=session, actor=actor, request=request, consortium=consortium, now=now)
    require_requester(c, Action.SUBMIT, "change the amount")  # whoever submits it amends it
    if request.state not in EDITABLE + IN_FLIGHT:
        raise InvalidTransitionError(
            f"{request_label(request)} is {request.state}; its amount can no longer change. "
            "Make a new request."
        )
    supplier = session.get(Supplier, request.supplier_id) if request.supplier_id else None
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise InvalidInputError(
            "The amount must be more than $0.00.", fields={"amount_cents": "More than $0.00."}
        )
    problem = plausible_gst(
        amount_cents, gst_cents, registered=supplier.gst_registered if supplier else True
    )
    if problem:
        raise InvalidInputError(problem, fields={"gst_cents": problem})
    basis = GstBasis(consortium.gst_basis)
    before = charge_to_funds(request.amount_cents, request.gst_cents, basis)
    after = charge_to_funds(amount_cents, gst_cents, basis)
    state = request.state
    request.amount_cents, request.gst_cents, request.approved_cents = amount_cents, gst_cents, None
    restarted = request.state in IN_FLIGHT and after > before
    if restarted:
        close_steps(c)
        submit(c)  # a new round: the rules are matched again and the chain starts from step 1
    request.updated_at = now
    decision = Decision(
        request_id=request.id,
        step_id=None,
        round=request.round,
        action=AMEND,
        from_state=state,
        to_state=request.state,
        actor_id=actor.user_id,
        on_behalf_of_id=None,
        reason="Increase: the approval chain restarted" if restarted else None,
        amount_cents=amount_cents,
        at=now,
    )
    session.add(decision)
    session.flush()
    audit.record(
        session,
        consortium_id=request.consortium_id,
        actor_id=actor.user_id,
        action="request.amended",
        subject_type="request",
        subject_id=request.id,
        now=now,
        amount_cents=amount_cents,
        restarted=restarted,
        decision=decision.id,
        decision_hash=audit.decision_digest(decision),
    )
    return request
