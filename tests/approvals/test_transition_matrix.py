"""Every state × every action through the real service, and who may decide what
(docs/approvals.md#lifecycle, docs/approvals.md#segregation-of-duties).

Each request is brought to its state through the services; then every action is tried by the
person who would normally take it, inside a transaction that is rolled back. An action the table
allows lands in one of its listed targets; any other is refused with a precise error. Afterwards
the request, its decisions and the ledger are exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor, system_actor
from approvals.errors import ApprovalError, InvalidTransitionError, NotAllowedError, NotFoundError
from approvals.lifecycle.payments import PaymentInput
from approvals.lifecycle.states import TRANSITIONS, Action, RequestState
from approvals.lifecycle.transitions import transition
from approvals.models import Decision, FundRequest
from ledger import verify
from ledger.models import transfers
from tests.support.world import A, Desk

S = RequestState


def _approved(desk: Desk) -> int:
    request_id = desk.submitted()
    desk.act("tl1", request_id, A.APPROVE)
    return request_id


def _then(
    start: Callable[[Desk], int], who: str, action: Action, **extra: object
) -> Callable[[Desk], int]:
    def reach(desk: Desk) -> int:
        request_id = start(desk)
        if who == "system":
            _as_system(desk, lambda s, a: transition(s, a, request_id, action, now=desk.world.now))
        else:
            desk.act(who, request_id, action, **extra)
        return request_id

    return reach


def _as_system(desk: Desk, work: Callable[[Session, Actor], object]) -> None:
    with desk.world.factory() as session, session.begin():
        work(session, system_actor(session, desk.world.consortium_id))


def _pay(invoice: str, cents: int, final: bool = False) -> PaymentInput:
    return PaymentInput(invoice, cents, 0, date(2026, 11, 20), final)


REACH: dict[RequestState, Callable[[Desk], int]] = {
    S.DRAFT: lambda desk: desk.new(),
    S.PENDING: lambda desk: desk.submitted(),
    S.INFO_REQUESTED: _then(lambda d: d.submitted(), "tl1", A.REQUEST_INFO, reason="Quote?"),
    S.RETURNED: _then(lambda d: d.submitted(), "tl1", A.SEND_BACK, reason="Wrong category"),
    S.REJECTED: _then(lambda d: d.submitted(), "tl1", A.REJECT, reason="Other channel exists"),
    S.WITHDRAWN: _then(lambda d: d.submitted(), "sf1", A.WITHDRAW),
    S.APPROVED: _approved,
    S.PART_PAID: _then(_approved, "fin", A.PAY, payment=_pay("INV-P", 4_000)),
    S.PAID: _then(_approved, "fin", A.PAY, payment=_pay("INV-F", 10_000, final=True)),
    S.CANCELLED: _then(_approved, "pm", A.CANCEL, reason="Client moved away"),
    S.EXPIRED: _then(_approved, "system", A.EXPIRE),
}

# Who would normally take each action, and what they would say.
ACTING: dict[Action, tuple[str, dict[str, object]]] = {
    A.SUBMIT: ("sf1", {}),
    A.RESUBMIT: ("sf1", {}),
    A.RESPOND: ("sf1", {"reason": "Quote attached"}),
    A.WITHDRAW: ("sf1", {}),
    A.APPROVE: ("tl1", {}),
    A.REQUEST_INFO: ("tl1", {"reason": "Which store?"}),
    A.SEND_BACK: ("tl1", {"reason": "Use the bond category"}),
    A.REJECT: ("tl1", {"reason": "Not a short-term need"}),
    A.CANCEL: ("pm", {"reason": "Supplier closed"}),
    A.EXPIRE: ("system", {}),
    A.PAY: ("fin", {"payment": _pay("INV-M", 1_000)}),
    A.CLOSE: ("fin", {"reason": "Nothing more to come"}),
}


@dataclass(frozen=True)
class Snapshot:
    state: str
    decisions: int
    transfers: int


def _snapshot(desk: Desk, request_id: int) -> Snapshot:
    with desk.world.factory() as session:
        return Snapshot(
            session.get_one(FundRequest, request_id).state,
            session.scalar(
                select(func.count()).select_from(Decision).where(Decision.request_id == request_id)
            )
            or 0,
            session.scalar(select(func.count()).select_from(transfers)) or 0,
        )


def _try(desk: Desk, request_id: int, action: Action) -> RequestState | ApprovalError:
    """Take ``action`` as its usual actor, report the outcome, and roll everything back."""
    who, extra = ACTING[action]
    with desk.world.factory() as session:
        session.begin()
        try:
            if who == "system":
                actor = system_actor(session, desk.world.consortium_id)
            else:
                actor = desk.world.actor(session, who)
            moved = transition(session, actor, request_id, action, now=desk.world.now, **extra)  # type: ignore[arg-type]
            return RequestState(moved.state)
        except ApprovalError as error:
            return error
        finally:
            session.rollback()


@pytest.mark.parametrize("state", list(RequestState))
def test_every_action_in_every_state_is_taken_or_refused_precisely(
    desk: Desk, state: RequestState
) -> None:
    request_id = REACH[state](desk)
    before = _snapshot(desk, request_id)
    assert before.state == state.value
    for action in Action:
        outcome = _try(desk, request_id, action)
        allowed = TRANSITIONS.get((state, action))
        if allowed is None:
            assert isinstance(outcome, InvalidTransitionError), (state, action, outcome)
            assert f"that is {state.value} cannot be sent to {action.value}" in outcome.message
        else:
            assert isinstance(outcome, RequestState), (state, action, outcome)
            assert outcome in allowed, (state, action, outcome)
    assert _snapshot(desk, request_id) == before
    with desk.world.factory() as session:
        assert verify(session, desk.world.code) == []


# Segregation of duties (§3.4) and scope, on a pending request SF1 (NGO1) raised: who may decide
# the TL step. Everyone else is refused (403) or, outside NGO1 and the lead agency, never even
# sees the request (404).
DECIDERS = {
    "tl1": RequestState.APPROVED,
    "sf1": NotAllowedError,  # SoD 1: the requester
    "sf1b": NotAllowedError,  # an SF of the same NGO: not an approver
    "tl2": NotFoundError,  # another NGO's team leader
    "sf2": NotFoundError,
    "pm": NotAllowedError,  # not this step's approver (only after escalation)
    "fin": NotAllowedError,
    "finmgr": NotAllowedError,
    "ceo": NotAllowedError,
    "auditor": NotAllowedError,  # SoD 4
    "admin": NotAllowedError,  # SoD 4
}


@pytest.mark.parametrize("who", sorted(DECIDERS))
def test_only_the_steps_approver_decides_it(desk: Desk, who: str) -> None:
    request_id = desk.submitted()
    before = _snapshot(desk, request_id)
    expected = DECIDERS[who]
    for action in (A.APPROVE, A.REJECT, A.REQUEST_INFO, A.SEND_BACK):
        with desk.world.factory() as session:
            session.begin()
            try:
                moved = transition(
                    session,
                    desk.world.actor(session, who),
                    request_id,
                    action,
                    now=desk.world.now,
                    reason="A reason",
                )
                outcome: object = RequestState(moved.state)
            except ApprovalError as error:
                outcome = error
            finally:
                session.rollback()
        if isinstance(expected, RequestState):
            assert isinstance(outcome, RequestState), (who, action, outcome)
        else:
            assert isinstance(outcome, expected), (who, action, outcome)
        assert _snapshot(desk, request_id) == before


def test_the_person_who_approved_or_requested_never_records_the_payment(desk: Desk) -> None:
    """SoD 3, from the other side: a finance person who approved a step may not pay it."""
    request_id = desk.submitted(amount=60_000)  # TL then PM
    desk.act("tl1", request_id, A.APPROVE)
    desk.act("pm", request_id, A.APPROVE)
    before = _snapshot(desk, request_id)
    for who in ("tl1", "pm", "sf1"):
        with pytest.raises(NotAllowedError):
            desk.act(who, request_id, A.PAY, payment=_pay("INV-S", 60_000, final=True))
    assert _snapshot(desk, request_id) == before
    assert desk.act("fin", request_id, A.PAY, payment=_pay("INV-S", 60_000)).state == "paid"
