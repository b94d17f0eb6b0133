"""Two final approvals racing for the last dollars of an envelope: exactly one reserves."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy.pool import NullPool

from approvals.funds import move_between_envelopes
from approvals.states import Action
from approvals.transitions import transition
from ledger import InsufficientFundsError, verify
from ledger.db import make_engine, make_session_factory, run_in_transaction
from tests.approvals.conftest import Desk, as_, build_desk, build_world, fund

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_desk(postgres_migrated: str, now: datetime, request: pytest.FixtureRequest) -> Desk:
    engine = make_engine(postgres_migrated)
    request.addfinalizer(engine.dispose)
    return build_desk(build_world(make_session_factory(engine), now))


def race(desk: Desk, url: str, requests: list[int]) -> list[object]:
    """Each request's final approval on its own connection, released together."""
    engines = [make_engine(url, poolclass=NullPool) for _ in requests]
    barrier = threading.Barrier(len(requests), timeout=20)
    outcomes: list[object] = [None] * len(requests)

    def approve(i: int) -> None:
        factory = make_session_factory(engines[i])
        barrier.wait()
        try:
            outcomes[i] = run_in_transaction(
                factory,
                lambda s: (
                    transition(
                        s,
                        desk.world.actor(s, "tl1"),
                        requests[i],
                        Action.APPROVE,
                        now=desk.world.now,
                    ).state
                ),
            )
        except Exception as error:  # the outcome under test
            outcomes[i] = error

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(len(requests))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        for engine in engines:
            engine.dispose()
    return outcomes


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
        outcomes = race(desk, postgres_migrated, requests)
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
