"""Who may take which action on a fund request: one table, read by the service, the pages and
the API (docs/approvals.md#who-may-act).

``WHO_MAY`` names, for every :class:`Action`, the parties that may take it. Everything else here
is pure and answers from that table: whether an actor takes part in an action at all (asked
first, before the request's state, so an outsider learns nothing of it), whether they may take it
on this request now, and which actions to offer them. The finer checks (segregation of duties,
funds, which step) stay with the handlers and run after.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from approvals.consortium.actors import Actor
from approvals.lifecycle.states import TRANSITIONS, Action, RequestState
from approvals.models import FundRequest, Role
from approvals.models.people import APPROVING


class Party(StrEnum):
    """Who someone is to a request; lead-agency roles are named after the role."""

    REQUESTER = "requester"  # who raised it
    ORG_TL = "org_tl"  # a Team Leader of the request's organisation, acting for their SFs
    DECIDER = "decider"  # the current step's approvers, and a delegate standing in for one
    PM = "PM"
    FIN = "FIN"
    FIN_MGR = "FIN_MGR"
    CEO = "CEO"
    SYSTEM = "system"  # the scheduler


P = Party
_REQUESTER_SIDE = frozenset({P.REQUESTER, P.ORG_TL})
_DECIDERS = frozenset({P.DECIDER})

# THE table. In the order the buttons are shown. Letting another party take an action is one line.
WHO_MAY: dict[Action, frozenset[Party]] = {
    Action.SUBMIT: _REQUESTER_SIDE,
    Action.RESUBMIT: _REQUESTER_SIDE,
    Action.RESPOND: _REQUESTER_SIDE,
    Action.WITHDRAW: _REQUESTER_SIDE | {P.SYSTEM},  # the scheduler archives stale drafts
    Action.APPROVE: _DECIDERS,
    Action.REQUEST_INFO: _DECIDERS,
    Action.SEND_BACK: _DECIDERS,
    Action.REJECT: _DECIDERS,
    Action.CANCEL: frozenset({P.PM, P.FIN}),
    Action.PAY: frozenset({P.FIN, P.FIN_MGR}),
    Action.CLOSE: frozenset({P.FIN, P.FIN_MGR, P.SYSTEM}),
    Action.EXPIRE: frozenset({P.SYSTEM}),
}

LEAD_ROLES: dict[Party, Role] = {
    P.PM: Role.PM,
    P.FIN: Role.FIN,
    P.FIN_MGR: Role.FIN_MGR,
    P.CEO: Role.CEO,
}
# Someone not named on a request's current step takes part in its decisions if they are a TL,
# or hold one of the other APPROVING roles (approvals/models/people.py) at the lead agency.

_LABELS: dict[Party, str] = {
    P.REQUESTER: "the requester",
    P.ORG_TL: "their Team Leader",
    P.DECIDER: "the current step's approvers or their delegates",
    P.PM: "PM",
    P.FIN: "FIN",
    P.FIN_MGR: "FIN_MGR",
    P.CEO: "CEO",
    P.SYSTEM: "the scheduler",
}

# The refusal when someone's roles never take an action; EXPIRE says what to do instead.
_NEVER: dict[Action, str] = {
    Action.EXPIRE: "Approvals expire by themselves; cancel it instead.",
}


@dataclass(frozen=True)
class Situation:
    """What the table needs to know of a request."""

    state: RequestState
    requester_id: int
    organisation_id: int

    @classmethod
    def of(cls, request: FundRequest) -> Situation:
        return cls(RequestState(request.state), request.requester_id, request.organisation_id)


def lead_roles(action: Action) -> tuple[Role, ...]:
    """The lead-agency roles that take ``action``, in ``Role`` order (for handlers' messages)."""
    parties = WHO_MAY[action]
    return tuple(role for party, role in LEAD_ROLES.items() if party in parties)


def is_party(actor: Actor, party: Party, situation: Situation, deciders: Collection[int]) -> bool:
    """Whether ``actor`` is ``party`` to this request now."""
    if party is P.SYSTEM:
        return actor.system
    if party is P.REQUESTER:
        return actor.user_id == situation.requester_id
    if party is P.ORG_TL:
        return actor.has(Role.TL, situation.organisation_id)
    if party is P.DECIDER:
        return actor.user_id in deciders and actor.user_id != situation.requester_id
    return actor.has_lead(LEAD_ROLES[party])


def _may_ever_be(
    actor: Actor, party: Party, situation: Situation, deciders: Collection[int]
) -> bool:
    """Whether ``actor`` could be ``party`` to this request in some state (not: is now)."""
    if party in _REQUESTER_SIDE:
        org = situation.organisation_id
        return actor.has(Role.SF, org) or actor.has(Role.TL, org)
    if party is P.DECIDER:
        return (
            actor.user_id in deciders
            or actor.has(Role.TL)
            or any(actor.has_lead(role) for role in APPROVING if role is not Role.TL)
        )
    return is_party(actor, party, situation, deciders)


def never_takes(
    actor: Actor, action: Action, situation: Situation, deciders: Collection[int]
) -> str | None:
    """The refusal for someone whose roles never take ``action`` on this request, else None.

    It does not read the state, so the answer to an outsider is the same in every state.
    """
    if any(_may_ever_be(actor, party, situation, deciders) for party in WHO_MAY[action]):
        return None
    return _NEVER.get(action, f"Your role does not {action.value.replace('_', ' ')} requests.")


def refusal(
    actor: Actor, action: Action, situation: Situation, deciders: Collection[int]
) -> str | None:
    """Why ``actor`` may not take ``action`` on this request now, or None if the table allows it.

    The handlers' finer checks (segregation of duties, funds, reasons) may still refuse.
    """
    never = never_takes(actor, action, situation, deciders)
    if never is not None:
        return never
    if (situation.state, action) not in TRANSITIONS:
        return f"A request that is {situation.state.value} cannot be sent to {action.value}."
    if not any(is_party(actor, party, situation, deciders) for party in WHO_MAY[action]):
        return f"It is not yours to {action.value.replace('_', ' ')} now."
    return None


def offered(actor: Actor, situation: Situation, deciders: Collection[int]) -> list[Action]:
    """The actions this actor may take on this request now, in the table's order."""
    return [action for action in WHO_MAY if refusal(actor, action, situation, deciders) is None]


def who_may(action: Action) -> str:
    """The table's parties for ``action`` in words (the API's documentation reads this)."""
    names = [_LABELS[party] for party in Party if party in WHO_MAY[action]]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
