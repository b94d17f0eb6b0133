"""The buttons a request's page offers are exactly the actions the service accepts
(docs/approvals.md#who-may-act).

One request in every state, built through the services; every person of the consortium (each
role, the requester, a delegate standing in for the step's approver) and the scheduler; every
action the state table allows, taken through the real service in a transaction that is rolled
back. What the page offers and what the service accepts must be the same set.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor, system_actor
from approvals.lifecycle.permissions import (
    WHO_MAY,
    Party,
    Situation,
    lead_roles,
    never_takes,
    offered,
)
from approvals.lifecycle.requests import can_see
from approvals.lifecycle.states import TRANSITIONS, Action, RequestState
from approvals.lifecycle.transitions import deciders_now, transition
from approvals.models import FundRequest, Role
from approvals.policy.delegations import delegate
from approvals.policy.rules import RuleSpec, StepSpec
from approvals.policy.versions import publish, save_draft
from ledger.errors import DomainError
from tests.approvals.test_transition_matrix import ACTING, REACH
from tests.support.world import A, Desk, as_
from web.pages.requests import offered_actions

PEOPLE = ("sf1", "sf1b", "tl1", "tl2", "sf2", "pm", "fin", "finmgr", "ceo", "auditor", "admin")
EVERYONE = (*PEOPLE, "system")


def _actor(desk: Desk, session: Session, who: str) -> Actor:
    if who == "system":
        return system_actor(session, desk.world.consortium_id)
    return desk.world.actor(session, who)


def _accepts(desk: Desk, who: str, request_id: int, action: Action) -> bool:
    """Whether the service takes ``action`` from ``who``; nothing is kept either way."""
    _, extra = ACTING[action]
    with desk.world.factory() as session:
        session.begin()
        try:
            actor = _actor(desk, session, who)
            transition(session, actor, request_id, action, now=desk.world.now, **extra)  # type: ignore[arg-type]
            return True
        except DomainError:
            return False
        finally:
            session.rollback()


def _offered(desk: Desk, who: str, request_id: int) -> set[Action]:
    """What the request's page shows ``who`` (nothing at all if they may not see it)."""
    with desk.world.factory() as session:
        actor = _actor(desk, session, who)
        found = session.get_one(FundRequest, request_id)
        deciders = deciders_now(session, actor, found, desk.world.now)
        if not can_see(actor, found, deciders):
            return set()
        return set(offered_actions(actor, found, deciders))


def test_the_page_offers_exactly_what_the_service_accepts(desk: Desk) -> None:
    # TL2 (another NGO's Team Leader) stands in for TL1, the approver of every request's TL step.
    as_(
        desk.world,
        "tl1",
        lambda s, a: delegate(
            s,
            a,
            to_user_id=desk.world.users["tl2"],
            starts_on=date(2020, 1, 1),
            ends_on=date(2030, 12, 31),
            now=desk.world.now,
        ),
    )
    requests = {state: reach(desk) for state, reach in REACH.items()}
    drifted: list[str] = []
    for state, request_id in requests.items():
        assert desk.state(request_id) == state.value
        for who in EVERYONE:
            shown = _offered(desk, who, request_id)
            taken = {
                action
                for (source, action) in TRANSITIONS
                if source is state and _accepts(desk, who, request_id, action)
            }
            if shown != taken:
                drifted.append(
                    f"{who} on a {state.value} request: the page offers "
                    f"{sorted(shown)}, the service accepts {sorted(taken)}"
                )
    assert drifted == []


def test_a_step_named_for_finance_is_offered_to_finance_and_accepted(desk: Desk) -> None:
    """A policy may name FIN as a step's approver: FIN then sees the buttons, and may use them."""
    rules = [RuleSpec("Finance approves everything", (StepSpec(("FIN@lead",)),), is_fallback=True)]
    draft = as_(desk.world, "admin", lambda s, a: save_draft(s, a, rules, now=desk.world.now))
    as_(desk.world, "admin", lambda s, a: publish(s, a, draft.id, now=desk.world.now))
    request_id = desk.submitted()
    assert _offered(desk, "fin", request_id) == {
        A.APPROVE,
        A.REQUEST_INFO,
        A.SEND_BACK,
        A.REJECT,
    }
    assert _accepts(desk, "fin", request_id, A.APPROVE)
    assert desk.act("fin", request_id, A.APPROVE).state == RequestState.APPROVED.value
    assert _offered(desk, "finmgr", request_id) == {A.PAY}  # approved: finance pays it


def test_the_table_answers_an_outsider_the_same_in_every_state() -> None:
    """Who never takes an action is told so before the state is read (no state leaks)."""
    outsider = Actor(9, "sf@other.test", 1, 1, frozenset({(2, Role.SF)}))  # an SF of org 2
    for action in Action:
        answers = {
            never_takes(outsider, action, Situation(state, 5, 3), set()) for state in RequestState
        }
        assert len(answers) == 1
        assert None not in answers, action
    assert offered(outsider, Situation(RequestState.DRAFT, 5, 3), set()) == []


def test_every_action_has_a_party_and_lead_roles_read_the_table() -> None:
    assert set(WHO_MAY) == set(Action)
    assert all(WHO_MAY.values())
    assert [r.value for r in lead_roles(A.CANCEL)] == ["PM", "FIN"]
    assert Party.SYSTEM in WHO_MAY[A.EXPIRE]
