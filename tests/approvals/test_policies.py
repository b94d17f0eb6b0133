"""Policies are versioned data: drafts, one published version, and a faithful round trip."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from approvals.errors import InvalidInputError, InvalidTransitionError, NotAllowedError
from approvals.models import ApprovalPolicy
from approvals.policy.rules import default_rules
from approvals.policy.versions import publish, published_policy, save_draft
from tests.support.world import World, as_


def test_a_published_policy_reads_back_exactly_as_written(world: World) -> None:
    draft = as_(world, "admin", lambda s, a: save_draft(s, a, default_rules(), now=world.now))  # type: ignore[arg-type]
    as_(world, "admin", lambda s, a: publish(s, a, draft.id, now=world.now))  # type: ignore[arg-type]
    with world.factory() as session:
        policy, rules = published_policy(session, world.consortium_id)
    assert policy.version == 1 and rules == default_rules()


def test_publishing_a_new_version_retires_the_old_one(world: World) -> None:
    first = as_(world, "admin", lambda s, a: save_draft(s, a, default_rules(), now=world.now))  # type: ignore[arg-type]
    as_(world, "admin", lambda s, a: publish(s, a, first.id, now=world.now))  # type: ignore[arg-type]
    second = as_(world, "admin", lambda s, a: save_draft(s, a, default_rules()[:2], now=world.now))  # type: ignore[arg-type]
    as_(world, "admin", lambda s, a: publish(s, a, second.id, now=world.now))  # type: ignore[arg-type]
    with world.factory() as session:
        statuses = dict(
            session.execute(
                select(ApprovalPolicy.version, ApprovalPolicy.status).where(
                    ApprovalPolicy.consortium_id == world.consortium_id
                )
            ).all()
        )
        assert statuses == {1: "retired", 2: "published"}
        assert len(published_policy(session, world.consortium_id)[1]) == 2
    with pytest.raises(InvalidTransitionError, match="not a draft"):
        as_(world, "admin", lambda s, a: publish(s, a, first.id, now=world.now))  # type: ignore[arg-type]


def test_a_policy_without_a_fallback_is_not_published(world: World) -> None:
    draft = as_(world, "admin", lambda s, a: save_draft(s, a, default_rules()[1:], now=world.now))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="fallback"):
        as_(world, "admin", lambda s, a: publish(s, a, draft.id, now=world.now))  # type: ignore[arg-type]


@pytest.mark.parametrize("who", ["pm", "finmgr", "tl1", "auditor"])
def test_only_admin_edits_the_policy(world: World, who: str) -> None:
    with pytest.raises(NotAllowedError):
        as_(world, who, lambda s, a: save_draft(s, a, default_rules(), now=world.now))  # type: ignore[arg-type]
