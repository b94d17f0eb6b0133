"""The one function that moves a fund request between states (docs/approvals.md#lifecycle).

``transition`` checks, in this order: that the actor may see the request and holds a role that
ever takes this action (so a stranger learns nothing about its state), the transition table, who
may act now (the step's resolved approvers and delegations), segregation of duties, and funds;
then it writes the decision, the audit event and the inbox, and on final approval reserves the
money in the same database transaction. It flushes and never commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.errors import (
    InvalidInputError,
    InvalidTransitionError,
    NotAllowedError,
    NotFoundError,
)
from approvals.lifecycle import approving, payments
from approvals.lifecycle.payments import PaymentInput
from approvals.lifecycle.permissions import Situation, never_takes
from approvals.lifecycle.requests import (
    MAX_REASON,
    Context,
    can_see,
    current_approvers,
    request_label,
)
from approvals.lifecycle.states import Action, RequestState, targets
from approvals.locks import locked
from approvals.models import (
    Consortium,
    Decision,
    FundRequest,
)
from approvals.notify import notify
from approvals.policy.approvers import delegators_for
from approvals.zone import consortium_today


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
    payment: PaymentInput | None = None,
) -> FundRequest:
    """Move a request by one action; a precise error, and nothing changed, when it may not."""
    request = locked(session, FundRequest, request_id)  # first in docs/concurrency.md's order
    deciders = deciders_now(session, actor, request, now) if request is not None else set()
    if request is None or not can_see(actor, request, deciders):
        raise NotFoundError("There is no such request.")
    require_part(actor, action, request, deciders)
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
    context = Context(
        session=session,
        actor=actor,
        request=request,
        consortium=consortium,
        now=now,
        reason=(reason or "").strip() or None,
        amount_cents=amount_cents,
        override_reason=override_reason,
        payment=payment,
    )
    on_behalf_of, step_id = handler(context)
    new_state = RequestState(request.state)
    assert new_state in possible, (state, action, new_state)  # noqa: S101 - the table is the contract
    request.updated_at = now
    decision = Decision(
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
    session.add(decision)
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
        amount_cents=amount_cents,
        decision=decision.id,
        decision_hash=audit.decision_digest(decision),
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


def require_part(actor: Actor, action: Action, request: FundRequest, deciders: set[int]) -> None:
    """Refuse (403) anyone whose roles never take ``action`` on this request, whatever its state.

    Who takes part is ``approvals.lifecycle.permissions.WHO_MAY``. The finer checks (which step,
    SoD, the
    requester) come later; this one runs first so the answer to an outsider does not depend on
    the request's state.
    """
    never = never_takes(actor, action, Situation.of(request), deciders)
    if never is not None:
        raise NotAllowedError(never)


def deciders_now(session: Session, actor: Actor, request: FundRequest, now: datetime) -> set[int]:
    """The current step's approvers, with the actor among them if they stand in for one.

    Pages and the API decide who sees a request and who is offered a decision with this too.
    """
    approvers = current_approvers(session, request)
    today = consortium_today(session, request.consortium_id, now)
    standing_in_for = delegators_for(session, actor.user_id, request.consortium_id, today)
    return approvers | {actor.user_id} if standing_in_for & approvers else approvers


Handler = Callable[[Context], tuple[int | None, int | None]]


_HANDLERS: dict[Action, Handler] = {
    Action.SUBMIT: approving.submit,
    Action.RESUBMIT: approving.submit,
    Action.APPROVE: approving.approve,
    Action.REJECT: approving.reject,
    Action.REQUEST_INFO: approving.request_info,
    Action.RESPOND: approving.respond,
    Action.SEND_BACK: approving.send_back,
    Action.WITHDRAW: approving.withdraw,
    Action.CANCEL: approving.cancel,
    Action.EXPIRE: approving.expire,
    Action.PAY: payments.pay,
    Action.CLOSE: payments.close,
}
