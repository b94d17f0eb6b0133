"""Pool movements by role, and delegated approvals with SoD checked against the delegate."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from approvals.consortium.people import grant_role
from approvals.errors import InvalidInputError, NotAllowedError, NotFoundError
from approvals.funds import allocate, move_between_envelopes, receive_grant, return_to_funder
from approvals.models import AuditEvent, Decision, Delegation, Role
from approvals.policy.delegations import delegate, revoke
from ledger import InsufficientFundsError, get_balance
from tests.support.world import A, Desk, World, as_, build_world

DAY = date(2026, 11, 19)
WEEK_END = date(2026, 11, 26)


def posted(world: World, code: str) -> int:
    with world.factory() as session:
        return get_balance(session, world.code, code).posted


def test_finance_receives_grants_and_the_pm_allocates_and_moves(world: World) -> None:
    as_(
        world,
        "fin",
        lambda s, a: receive_grant(
            s, a, amount_cents=500_000, on=DAY, memo="Q2 instalment", key="grant-q2", now=world.now
        ),
    )
    as_(
        world,
        "fin",
        lambda s, a: receive_grant(
            s, a, amount_cents=500_000, on=DAY, memo="Q2 instalment", key="grant-q2", now=world.now
        ),
    )
    assert posted(world, "pool") == 500_000  # the replay posted nothing
    as_(
        world,
        "pm",
        lambda s, a: allocate(
            s,
            a,
            organisation="NGO1",
            amount_cents=200_000,
            on=DAY,
            memo="Q2",
            key=None,
            now=world.now,
        ),
    )
    as_(
        world,
        "pm",
        lambda s, a: move_between_envelopes(
            s,
            a,
            source="NGO1",
            target="NGO2",
            amount_cents=50_000,
            on=DAY,
            memo="Rebalance",
            key=None,
            now=world.now,
        ),
    )
    assert (posted(world, "org:NGO1"), posted(world, "org:NGO2"), posted(world, "pool")) == (
        150_000,
        50_000,
        300_000,
    )
    with pytest.raises(InsufficientFundsError, match="org:NGO2"):
        as_(
            world,
            "pm",
            lambda s, a: move_between_envelopes(
                s,
                a,
                source="NGO2",
                target="NGO1",
                amount_cents=50_001,
                on=DAY,
                memo="x",
                key=None,
                now=world.now,
            ),
        )
    as_(
        world,
        "finmgr",
        lambda s, a: return_to_funder(
            s, a, amount_cents=100_000, on=DAY, memo="Unspent FY", key=None, now=world.now
        ),
    )
    assert posted(world, "bank") == 400_000


@pytest.mark.parametrize("who", ["tl1", "sf1", "fin", "auditor", "admin"])
def test_only_the_pm_allocates(world: World, who: str) -> None:
    with pytest.raises(NotAllowedError):
        as_(
            world,
            who,
            lambda s, a: allocate(
                s, a, organisation="NGO1", amount_cents=1, on=DAY, memo="x", key=None, now=world.now
            ),
        )


def test_allocations_go_only_to_partner_envelopes(world: World) -> None:
    with pytest.raises(NotFoundError):
        as_(
            world,
            "pm",
            lambda s, a: allocate(
                s, a, organisation="LEAD", amount_cents=1, on=DAY, memo="x", key=None, now=world.now
            ),
        )


def test_a_delegate_approves_on_behalf_and_the_decision_says_so(desk: Desk) -> None:
    world = desk.world
    as_(
        world,
        "tl1",
        lambda s, a: delegate(
            s, a, to_user_id=world.users["tl2"], starts_on=DAY, ends_on=WEEK_END, now=world.now
        ),
    )
    request_id = desk.submitted()
    assert desk.act("tl2", request_id, A.APPROVE).state == "approved"
    with world.factory() as session:
        decision = session.execute(
            select(Decision).where(Decision.request_id == request_id, Decision.action == "approve")
        ).scalar_one()
    assert (decision.actor_id, decision.on_behalf_of_id) == (world.users["tl2"], world.users["tl1"])


def test_segregation_is_checked_against_the_delegate(desk: Desk) -> None:
    world = desk.world
    as_(
        world,
        "tl1",
        lambda s, a: delegate(
            s, a, to_user_id=world.users["pm"], starts_on=DAY, ends_on=WEEK_END, now=world.now
        ),
    )
    request_id = desk.submitted(amount=60_000)  # TL, then PM
    desk.act("pm", request_id, A.APPROVE)  # the PM decides the TL step on tl1's behalf
    with pytest.raises(NotAllowedError, match="already decided"):
        desk.act("pm", request_id, A.APPROVE)


def test_delegations_do_not_go_round_in_circles_and_need_an_approver(world: World) -> None:
    as_(
        world,
        "tl1",
        lambda s, a: delegate(
            s, a, to_user_id=world.users["tl2"], starts_on=DAY, ends_on=WEEK_END, now=world.now
        ),
    )
    with pytest.raises(InvalidInputError, match="circle"):
        as_(
            world,
            "tl2",
            lambda s, a: delegate(
                s, a, to_user_id=world.users["tl1"], starts_on=DAY, ends_on=WEEK_END, now=world.now
            ),
        )
    with pytest.raises(NotAllowedError, match="approving role"):
        as_(
            world,
            "tl1",
            lambda s, a: delegate(
                s, a, to_user_id=world.users["sf1"], starts_on=DAY, ends_on=WEEK_END, now=world.now
            ),
        )
    with pytest.raises(InvalidInputError):
        as_(
            world,
            "tl1",
            lambda s, a: delegate(
                s, a, to_user_id=world.users["tl1"], starts_on=DAY, ends_on=WEEK_END, now=world.now
            ),
        )


def test_a_revoked_delegation_no_longer_lets_the_delegate_decide(desk: Desk) -> None:
    world = desk.world
    delegation = as_(
        world,
        "tl1",
        lambda s, a: delegate(
            s, a, to_user_id=world.users["tl2"], starts_on=DAY, ends_on=WEEK_END, now=world.now
        ),
    )
    as_(world, "tl1", lambda s, a: revoke(s, a, delegation.id, now=world.now))
    request_id = desk.submitted()
    with pytest.raises(NotFoundError):  # tl2 cannot even see NGO1's request without the delegation
        desk.act("tl2", request_id, A.APPROVE)


def test_finance_records_a_gst_refund_from_the_tax_office(world: World) -> None:
    from approvals.funds import receive_gst_refund

    def refund(who: str) -> object:
        return as_(
            world,
            who,
            lambda s, a: receive_gst_refund(
                s, a, amount_cents=4_000, on=DAY, memo="BAS Q1 refund", key=None, now=world.now
            ),
        )

    refund("fin")
    assert (posted(world, "bank"), posted(world, "gst_receivable")) == (4_000, -4_000)
    with pytest.raises(NotAllowedError):
        refund("pm")


def test_revoking_twice_changes_nothing_more(world: World) -> None:
    delegation_id = as_(
        world,
        "tl1",
        lambda s, a: (
            delegate(
                s, a, to_user_id=world.users["tl2"], starts_on=DAY, ends_on=WEEK_END, now=world.now
            ).id
        ),
    )
    as_(world, "tl1", lambda s, a: revoke(s, a, delegation_id, now=world.now))
    later = world.now + timedelta(hours=1)
    as_(world, "tl1", lambda s, a: revoke(s, a, delegation_id, now=later))
    with world.factory() as session:
        assert session.get_one(Delegation, delegation_id).revoked_at == world.now
        events = session.execute(
            select(AuditEvent).where(
                AuditEvent.action == "delegation.revoked", AuditEvent.subject_id == delegation_id
            )
        ).all()
        assert len(events) == 1


def test_nobody_delegates_to_or_grants_roles_to_another_consortiums_people(
    world: World,
) -> None:
    other = build_world(world.factory, world.now)
    stranger = other.users["tl1"]
    with pytest.raises(NotFoundError):
        as_(
            world,
            "tl1",
            lambda s, a: delegate(
                s, a, to_user_id=stranger, starts_on=DAY, ends_on=WEEK_END, now=world.now
            ),
        )
    with pytest.raises(NotFoundError):
        as_(
            world,
            "admin",
            lambda s, a: delegate(
                s,
                a,
                from_user_id=stranger,
                to_user_id=world.users["tl2"],
                starts_on=DAY,
                ends_on=WEEK_END,
                now=world.now,
            ),
        )
    with pytest.raises(NotFoundError):
        as_(
            world,
            "admin",
            lambda s, a: grant_role(
                s,
                a,
                user_id=stranger,
                organisation_id=world.organisations["NGO1"],
                role=Role.TL,
                valid_from=DAY,
                now=world.now,
            ),
        )


@pytest.mark.parametrize("on", [date(9999, 12, 31), date(1900, 1, 1)], ids=str)
def test_grants_allocations_and_moves_dated_far_away_are_refused_naming_the_date(
    world: World, on: date
) -> None:
    def grant(s: Any, a: Any) -> Any:
        return receive_grant(s, a, amount_cents=100, on=on, memo="m", key=None, now=world.now)

    def share(s: Any, a: Any) -> Any:
        return allocate(
            s, a, organisation="NGO1", amount_cents=100, on=on, memo="m", key=None, now=world.now
        )

    for who, work in (("fin", grant), ("pm", share)):
        with pytest.raises(InvalidInputError) as caught:
            as_(world, who, work)
        assert set(caught.value.fields) == {"on"} and "a date from" in caught.value.message
    assert posted(world, "pool") == 0
