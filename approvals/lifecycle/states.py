"""The fund request's life, as one explicit transition table (docs/approvals.md#lifecycle).

The table says which actions a state allows and where each can lead; the one service function
that changes a request's state consults it first, then eligibility, segregation of duties and
funds. Where an action has two outcomes (an approval that is or is not the last step, a payment
that does or does not settle the request) the service picks among the listed targets.
"""

from __future__ import annotations

from enum import StrEnum

from approvals.errors import InvalidTransitionError


class RequestState(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    INFO_REQUESTED = "info_requested"
    RETURNED = "returned"
    APPROVED = "approved"
    PART_PAID = "part_paid"
    PAID = "paid"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Action(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REQUEST_INFO = "request_info"
    RESPOND = "respond"
    SEND_BACK = "send_back"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"
    REJECT = "reject"
    CANCEL = "cancel"
    EXPIRE = "expire"
    PAY = "pay"
    CLOSE = "close"


S = RequestState
TRANSITIONS: dict[tuple[RequestState, Action], frozenset[RequestState]] = {
    (S.DRAFT, Action.SUBMIT): frozenset({S.PENDING}),
    (S.DRAFT, Action.WITHDRAW): frozenset({S.WITHDRAWN}),
    (S.PENDING, Action.APPROVE): frozenset({S.PENDING, S.APPROVED}),
    (S.PENDING, Action.REQUEST_INFO): frozenset({S.INFO_REQUESTED}),
    (S.PENDING, Action.SEND_BACK): frozenset({S.RETURNED}),
    (S.PENDING, Action.WITHDRAW): frozenset({S.WITHDRAWN}),
    (S.PENDING, Action.REJECT): frozenset({S.REJECTED}),
    (S.INFO_REQUESTED, Action.RESPOND): frozenset({S.PENDING}),
    # Not in the diagram, but what people expect: the SF may give up while asked for more.
    (S.INFO_REQUESTED, Action.WITHDRAW): frozenset({S.WITHDRAWN}),
    (S.RETURNED, Action.RESUBMIT): frozenset({S.PENDING}),
    (S.RETURNED, Action.WITHDRAW): frozenset({S.WITHDRAWN}),
    (S.APPROVED, Action.CANCEL): frozenset({S.CANCELLED}),
    (S.APPROVED, Action.EXPIRE): frozenset({S.EXPIRED}),
    (S.APPROVED, Action.PAY): frozenset({S.PART_PAID, S.PAID}),
    (S.PART_PAID, Action.PAY): frozenset({S.PART_PAID, S.PAID}),
    (S.PART_PAID, Action.CLOSE): frozenset({S.PAID}),
}

# The states grouped by meaning. Code outside this module and approvals/models/ names states
# only through RequestState and these sets (tests/test_state_literals.py checks).
FINAL_STATES = frozenset({S.PAID, S.REJECTED, S.WITHDRAWN, S.CANCELLED, S.EXPIRED})
# A ledger reservation is open: the finance queue lists these, timers expire or close them.
HOLDS_FUNDS = frozenset({S.APPROVED, S.PART_PAID})
# Approved and not released: what the client's yearly caps and the charged totals add up.
CHARGED_STATES = (S.APPROVED, S.PART_PAID, S.PAID)
# Asked for or granted: what counts towards the client's yearly total that policy rules read.
COUNTED_STATES = (S.PENDING, S.INFO_REQUESTED, *CHARGED_STATES)
# With the approvers: the amount may still change, a rise restarts the chain.
IN_FLIGHT = (S.PENDING, S.INFO_REQUESTED)
# With the requester: they change what they like.
EDITABLE = (S.DRAFT, S.RETURNED)
# Never sent on, or set aside: a look-alike request in one of these is no possible duplicate.
SET_ASIDE = (S.DRAFT, S.WITHDRAWN, S.REJECTED)


def allowed_actions(state: RequestState) -> list[Action]:
    return [action for (source, action) in TRANSITIONS if source is state]


def targets(state: RequestState, action: Action) -> frozenset[RequestState]:
    """Where ``action`` may take a request in ``state``; a precise error if it may not."""
    found = TRANSITIONS.get((state, action))
    if found is None:
        allowed = ", ".join(a.value for a in allowed_actions(state)) or "nothing (it is final)"
        raise InvalidTransitionError(
            f"A request that is {state.value} cannot be sent to {action.value}; "
            f"it allows: {allowed}."
        )
    return found
