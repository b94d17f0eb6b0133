"""SoD 4: an administrator never approves, not even after granting themself an approver role."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from approvals.consortium.people import grant_role
from approvals.errors import NotAllowedError
from approvals.lifecycle.requests import current_approvers
from approvals.models import FundRequest, Membership, Role
from tests.support.world import A, Desk, World, as_


def _grant(world: World, who: str, role: Role) -> None:
    as_(
        world,
        "admin",
        lambda s, a: grant_role(
            s,
            a,
            user_id=world.users[who],
            organisation_id=world.organisations["LEAD"],
            role=role,
            valid_from=date(2020, 1, 1),
            now=world.now,
        ),
    )


@pytest.mark.parametrize("role", [Role.PM, Role.FIN_MGR, Role.CEO])
def test_an_administrator_cannot_be_granted_an_approver_role_not_even_by_themself(
    world: World, role: Role
) -> None:
    with pytest.raises(NotAllowedError, match="never approves"):
        _grant(world, "admin", role)
    with world.factory() as session:
        held = session.execute(
            select(Membership.role).where(Membership.user_id == world.users["admin"])
        ).scalars()
        assert set(held) == {"ADMIN"}


def test_an_approver_cannot_be_made_an_administrator(world: World) -> None:
    with pytest.raises(NotAllowedError, match="never approves"):
        _grant(world, "pm", Role.ADMIN)
    _grant(world, "auditor", Role.FIN)  # roles that do not approve still combine freely


def test_an_administrator_who_holds_an_approver_role_is_never_resolved_nor_allowed_to_approve(
    desk: Desk,
) -> None:
    world = desk.world
    with world.factory.begin() as session:  # held from before the rule, or written underneath
        session.add(
            Membership(
                user_id=world.users["admin"],
                organisation_id=world.organisations["LEAD"],
                role=Role.PM.value,
                valid_from=date(2020, 1, 1),
            )
        )
    request_id = desk.submitted(amount=60_000)  # over $500: the Team Leader, then the PM
    desk.act("tl1", request_id, A.APPROVE)
    with world.factory() as session:
        approvers = current_approvers(session, session.get_one(FundRequest, request_id))
    assert world.users["admin"] not in approvers and world.users["pm"] in approvers
    with pytest.raises(NotAllowedError, match="never approve"):
        desk.act("admin", request_id, A.APPROVE)
    assert desk.state(request_id) == "pending"
