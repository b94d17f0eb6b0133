"""Two final approvals racing for the last dollars of an envelope: exactly one reserves."""

from __future__ import annotations

import pytest

from approvals.funds import move_between_envelopes
from approvals.lifecycle.states import Action
from approvals.lifecycle.transitions import transition
from ledger import InsufficientFundsError, verify
from tests.support.world import Desk, as_, fund, race

pytestmark = pytest.mark.postgres


def test_two_final_approvals_for_the_last_dollars_reserve_exactly_once(
    pg_desk: Desk, postgres_migrated: str
) -> None:
    desk = pg_desk
    world = desk.world
    as_(
        world,
        "pm",
        lambda s, a: move_between_envelopes(
            s,
            a,
            source="NGO1",
            target="NGO2",
            amount_cents=240_000,
            on=world.today,
            memo="Keep NGO1 small",
            key=None,
            now=world.now,
        ),
    )
    for _round in range(3):  # each share stays under $500, so the Team Leader's step is final
        available, _held = desk.envelope()
        share = available // 2 + 100  # either is affordable alone, not both
        requests = [desk.submitted(amount=share), desk.submitted(amount=share)]
        outcomes = race(
            postgres_migrated,
            [
                lambda s, r=r: (
                    transition(s, world.actor(s, "tl1"), r, Action.APPROVE, now=world.now).state
                )
                for r in requests
            ],
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["InsufficientFundsError", "str"], (
            outcomes
        )
        assert "approved" in outcomes
        loser = requests[[isinstance(o, InsufficientFundsError) for o in outcomes].index(True)]
        assert desk.state(loser) == "pending"
        assert desk.envelope()[1] >= share
        desk.act("sf1", loser, Action.WITHDRAW)
        with desk.world.factory() as session:
            assert verify(session, desk.world.code) == []
        fund(desk.world, share // 100 + 1)
