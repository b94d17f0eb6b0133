"""A step whose quorum cannot be met: refused at publish where that is known, escalated at
activation where only SoD shows it (docs/approvals.md#policy)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from approvals.errors import InvalidInputError
from approvals.models import RequestException, RequestStep, StepApprover
from approvals.policy.rules import Quorum, RuleSpec, StepSpec, check_rules
from approvals.policy.versions import publish, save_draft
from tests.support.world import A, Desk, World, as_


def publish_rules(world: World, rules: list[RuleSpec]) -> None:
    draft = as_(world, "admin", lambda s, a: save_draft(s, a, rules, now=world.now))
    as_(world, "admin", lambda s, a: publish(s, a, draft.id, now=world.now))


def test_a_quorum_more_people_than_can_approve_is_refused_at_publish(world: World) -> None:
    rules = [
        RuleSpec("All", (StepSpec(("TL@requesting_org",)),), is_fallback=True),
        RuleSpec("Big", (StepSpec(("PM@lead",), Quorum.N_OF_M, 3),), above_cents=100_000),
    ]
    with pytest.raises(InvalidInputError) as refused:
        publish_rules(world, rules)
    assert refused.value.fields["rules"].startswith("Rule 'Big', step 1: it needs 3 approvals")
    assert "only 1 of the people in PM@lead" in refused.value.fields["rules"]


def test_admin_and_auditor_are_not_counted_towards_a_quorum(world: World) -> None:
    admin = f"user:{world.users['admin']}"  # ADMIN never approves, even when named
    short = StepSpec(("PM@lead", admin), Quorum.N_OF_M, 2)
    with pytest.raises(InvalidInputError, match="needs 2 approvals but only 1"):
        publish_rules(world, [RuleSpec("All", (short,), is_fallback=True)])
    fine = StepSpec(("PM@lead", "CEO@lead"), Quorum.N_OF_M, 2)
    publish_rules(world, [RuleSpec("All", (fine,), is_fallback=True)])


def test_a_quorum_sod_leaves_short_escalates_and_is_recorded(desk: Desk) -> None:
    """FIN_MGR decides step 1, so only the CEO is left of "2 of FIN_MGR and CEO": the step
    escalates to the PM, as when SoD leaves nobody, and the request can still be approved."""
    rules = [
        RuleSpec(
            "All",
            (
                StepSpec(("FIN_MGR@lead",)),
                StepSpec(("FIN_MGR@lead", "CEO@lead"), Quorum.N_OF_M, 2, escalate_to="PM@lead"),
            ),
            is_fallback=True,
        )
    ]
    publish_rules(desk.world, rules)
    request_id = desk.submitted(amount=5_000)
    desk.act("finmgr", request_id, A.APPROVE)
    with desk.world.factory() as session:
        exceptions = session.execute(
            select(RequestException.kind, RequestException.detail).where(
                RequestException.request_id == request_id
            )
        ).all()
        approvers = set(
            session.execute(
                select(StepApprover.user_id)
                .join(RequestStep, RequestStep.id == StepApprover.step_id)
                .where(RequestStep.request_id == request_id, RequestStep.position == 2)
            ).scalars()
        )
    assert [kind for kind, _detail in exceptions] == ["escalated"]
    assert "fewer than 2 people" in exceptions[0][1] and "sent to PM@lead" in exceptions[0][1]
    assert approvers == {desk.world.users["ceo"], desk.world.users["pm"]}
    desk.act("ceo", request_id, A.APPROVE)
    assert desk.act("pm", request_id, A.APPROVE).state == "approved"


def test_a_short_quorum_with_nowhere_to_escalate_is_recorded(desk: Desk) -> None:
    rules = [
        RuleSpec(
            "All",
            (
                StepSpec(("FIN_MGR@lead",)),
                StepSpec(("FIN_MGR@lead", "CEO@lead"), Quorum.N_OF_M, 2),
            ),
            is_fallback=True,
        )
    ]
    publish_rules(desk.world, rules)
    request_id = desk.submitted(amount=5_000)
    desk.act("finmgr", request_id, A.APPROVE)
    with desk.world.factory() as session:
        kinds = session.execute(
            select(RequestException.kind).where(RequestException.request_id == request_id)
        ).scalars()
        assert list(kinds) == ["no_eligible_approver"]


def test_the_amount_band_never_negative_and_never_empty() -> None:
    step = (StepSpec(("PM@lead",)),)
    fallback = RuleSpec("All", step, is_fallback=True)
    assert check_rules([fallback, RuleSpec("Band", step, above_cents=-1)]) == [
        "Rule 'Band': an amount band is never negative."
    ]
    assert check_rules([fallback, RuleSpec("Band", step, above_cents=500, up_to_cents=500)]) == [
        "Rule 'Band' has an empty amount band."
    ]


def test_the_database_refuses_the_band_the_validator_refuses(world: World) -> None:
    """The old CHECK allowed above = up to, a band no amount falls in."""
    step = (StepSpec(("PM@lead",)),)
    empty = RuleSpec("Empty", step, above_cents=50_000, up_to_cents=50_000)
    with pytest.raises(IntegrityError):
        as_(world, "admin", lambda s, a: save_draft(s, a, [empty], now=world.now))
    negative = RuleSpec("Negative", step, up_to_cents=-1)
    with pytest.raises(IntegrityError):
        as_(world, "admin", lambda s, a: save_draft(s, a, [negative], now=world.now))
