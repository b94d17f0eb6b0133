"""A request's journey through its chain: who may act, what SoD forbids, and the money it holds."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals.errors import (
    CapExceededError,
    InvalidInputError,
    InvalidTransitionError,
    NotAllowedError,
    NotFoundError,
)
from approvals.models import (
    Consortium,
    Decision,
    FundRequest,
    Membership,
    RequestException,
    RequestStep,
)
from approvals.policy.rules import RuleSpec, StepSpec
from approvals.policy.versions import publish, save_draft
from ledger import LedgerError, verify
from ledger.db import run_in_transaction
from tests.support.world import A, Desk, as_


def test_a_small_request_needs_only_its_team_leader_and_reserves_on_approval(desk: Desk) -> None:
    request_id = desk.submitted(amount=11_000, gst=1_000)
    assert desk.state(request_id) == "pending"
    approved = desk.act("tl1", request_id, A.APPROVE)
    assert (
        approved.state == "approved" and approved.approved_cents == 10_000
    )  # ex-GST: credits are claimed
    assert desk.envelope() == (290_000, 10_000)
    with desk.world.factory() as session:
        assert verify(session, desk.world.code) == []


def test_a_larger_request_goes_on_to_the_program_manager(desk: Desk) -> None:
    request_id = desk.submitted(amount=60_000)
    assert desk.act("tl1", request_id, A.APPROVE).state == "pending"
    assert desk.envelope() == (300_000, 0)  # nothing held until the last step
    with pytest.raises(NotAllowedError, match="already decided another step"):
        desk.act("tl1", request_id, A.APPROVE)
    assert desk.act("pm", request_id, A.APPROVE).state == "approved"
    assert desk.envelope() == (240_000, 60_000)


def test_the_requester_never_approves_their_own_request(desk: Desk) -> None:
    request_id = desk.new(who="tl1")
    desk.act("tl1", request_id, A.SUBMIT)
    with pytest.raises(NotAllowedError, match="your own request"):
        desk.act("tl1", request_id, A.APPROVE)


def test_one_person_decides_at_most_one_step_and_the_step_escalates(desk: Desk) -> None:
    world = desk.world

    def also_pm(session: Session) -> None:
        session.add(
            Membership(
                user_id=world.users["tl1"],
                organisation_id=world.organisations["LEAD"],
                role="PM",
                valid_from=date(2020, 1, 1),
            )
        )
        session.execute(
            select(Membership).where(Membership.user_id == world.users["pm"])
        ).scalar_one().valid_to = date(2020, 1, 2)

    run_in_transaction(world.factory, also_pm)  # tl1 is now the only PM
    request_id = desk.submitted(amount=60_000)
    desk.act("tl1", request_id, A.APPROVE)
    with pytest.raises(NotAllowedError):
        desk.act("tl1", request_id, A.APPROVE)
    assert desk.act("finmgr", request_id, A.APPROVE).state == "approved"  # the escalation target
    with world.factory() as session:
        kinds = (
            session.execute(
                select(RequestException.kind).where(RequestException.request_id == request_id)
            )
            .scalars()
            .all()
        )
    assert "escalated" in kinds


def test_short_funds_at_final_approval_fail_clearly_and_the_request_stays_pending(
    desk: Desk,
) -> None:
    request_id = desk.submitted(amount=310_000)
    desk.act("tl1", request_id, A.APPROVE)
    desk.act("pm", request_id, A.APPROVE)
    with pytest.raises(
        LedgerError,
        match=r"Insufficient funds in org:NGO1: available \$3,000.00, needed \$3,100.00",
    ):
        desk.act("finmgr", request_id, A.APPROVE)
    assert desk.state(request_id) == "pending"
    with desk.world.factory() as session:
        finmgr_decisions = session.execute(
            select(Decision.id).where(
                Decision.request_id == request_id, Decision.actor_id == desk.world.users["finmgr"]
            )
        ).all()
    assert finmgr_decisions == []


def test_an_approver_may_reduce_but_not_increase(desk: Desk) -> None:
    request_id = desk.submitted(amount=20_000)
    with pytest.raises(InvalidInputError, match="only reduce"):
        desk.act("tl1", request_id, A.APPROVE, amount_cents=20_001)
    assert desk.act("tl1", request_id, A.APPROVE, amount_cents=15_000).approved_cents == 15_000
    assert desk.envelope() == (285_000, 15_000)


def test_info_requests_pause_the_step_and_the_same_step_resumes(desk: Desk) -> None:
    request_id = desk.submitted()
    with pytest.raises(InvalidInputError, match="reason"):
        desk.act("tl1", request_id, A.REQUEST_INFO)
    desk.act("tl1", request_id, A.REQUEST_INFO, reason="Which store?")
    assert desk.state(request_id) == "info_requested"
    with pytest.raises(InvalidTransitionError):
        desk.act("tl1", request_id, A.APPROVE)
    desk.act("sf1", request_id, A.RESPOND, reason="The corner store on Main St")
    assert desk.act("tl1", request_id, A.APPROVE).state == "approved"


def test_a_request_sent_back_starts_a_new_round_when_resubmitted(desk: Desk) -> None:
    request_id = desk.submitted()
    desk.act("tl1", request_id, A.SEND_BACK, reason="Attach a quote")
    assert desk.state(request_id) == "returned"
    desk.act("sf1", request_id, A.RESUBMIT)
    with desk.world.factory() as session:
        rounds = session.execute(
            select(RequestStep.round, RequestStep.status).where(
                RequestStep.request_id == request_id
            )
        ).all()
    assert sorted(rounds) == [(1, "cancelled"), (2, "active")]


def test_rejection_needs_a_reason_and_ends_the_request(desk: Desk) -> None:
    request_id = desk.submitted()
    with pytest.raises(InvalidInputError):
        desk.act("tl1", request_id, A.REJECT)
    assert (
        desk.act("tl1", request_id, A.REJECT, reason="Another program covers this").state
        == "rejected"
    )
    with pytest.raises(InvalidTransitionError, match="rejected cannot be sent to approve"):
        desk.act("tl1", request_id, A.APPROVE)


def test_cancelling_an_approved_request_releases_its_reservation(desk: Desk) -> None:
    request_id = desk.submitted()
    desk.act("tl1", request_id, A.APPROVE)
    with pytest.raises(NotAllowedError):
        desk.act("tl1", request_id, A.CANCEL, reason="x")
    desk.act("pm", request_id, A.CANCEL, reason="Client moved interstate")
    assert desk.envelope() == (300_000, 0)


def test_drafts_can_be_withdrawn_but_not_approved(desk: Desk) -> None:
    request_id = desk.new()
    with pytest.raises(InvalidTransitionError, match="draft cannot be sent to approve"):
        desk.act("tl1", request_id, A.APPROVE)
    assert desk.act("sf1", request_id, A.WITHDRAW).state == "withdrawn"


def test_another_ngos_staff_cannot_see_or_touch_the_request(desk: Desk) -> None:
    request_id = desk.submitted()
    for who in ("sf2", "tl2"):
        with pytest.raises(NotFoundError):
            desk.act(who, request_id, A.APPROVE)


def test_the_chain_is_snapshotted_at_submit(desk: Desk) -> None:
    world = desk.world
    request_id = desk.submitted(amount=60_000)  # TL then PM under the default policy
    strict = [RuleSpec("Everyone to the CEO", (StepSpec(("CEO@lead",)),), is_fallback=True)]
    draft = as_(world, "admin", lambda s, a: save_draft(s, a, strict, now=world.now))  # type: ignore[arg-type]
    as_(world, "admin", lambda s, a: publish(s, a, draft.id, now=world.now))  # type: ignore[arg-type]
    desk.act("tl1", request_id, A.APPROVE)
    assert desk.act("pm", request_id, A.APPROVE).state == "approved"


def test_over_the_client_cap_stops_the_approval(desk: Desk) -> None:
    def small_cap(session: Session) -> None:
        session.get_one(Consortium, desk.world.consortium_id).client_fy_cap_cents = 5_000

    run_in_transaction(desk.world.factory, small_cap)
    request_id = desk.submitted(amount=6_000)
    with pytest.raises(CapExceededError, match="over the cap of \\$50.00"):
        desk.act("tl1", request_id, A.APPROVE)
    assert desk.state(request_id) == "pending"


def test_a_lookalike_request_is_flagged_for_the_approver(desk: Desk) -> None:
    desk.submitted(amount=4_200)
    second = desk.submitted(amount=4_200)
    with desk.world.factory() as session:
        kinds = (
            session.execute(
                select(RequestException.kind).where(RequestException.request_id == second)
            )
            .scalars()
            .all()
        )
    assert kinds == ["possible_duplicate"]


def test_a_request_needs_every_field_and_says_which_is_wrong(desk: Desk) -> None:
    with pytest.raises(InvalidInputError) as raised:
        desk.new(amount=0)
    assert "amount_cents" in raised.value.fields
    with pytest.raises(InvalidInputError) as raised:
        desk.new(amount=1_000, gst=500)
    assert "gst_cents" in raised.value.fields
    with pytest.raises(NotAllowedError):
        desk.new(who="pm")


def test_a_category_cap_stops_the_approval_and_a_pm_may_override_in_warn_mode(desk: Desk) -> None:
    from approvals.models import Category

    def cap_groceries(session: Session) -> None:
        session.get_one(Category, desk.categories["groceries"]).client_fy_cap_cents = 15_000
        session.get_one(Consortium, desk.world.consortium_id).cap_mode = "warn"

    run_in_transaction(desk.world.factory, cap_groceries)
    first = desk.submitted(amount=10_000)
    desk.act("tl1", first, A.APPROVE)
    second = desk.submitted(amount=6_000)
    with pytest.raises(
        CapExceededError, match="over the category's cap of \\$150.00. A PM may override"
    ):
        desk.act("tl1", second, A.APPROVE)
    with pytest.raises(NotAllowedError, match="Only a PM"):
        desk.act("tl1", second, A.APPROVE, override_reason="Urgent")
    assert desk.state(second) == "pending"


def test_after_a_send_back_the_new_round_is_decided_afresh(desk: Desk) -> None:
    request_id = desk.submitted(amount=60_000)
    desk.act("tl1", request_id, A.APPROVE)
    desk.act("pm", request_id, A.SEND_BACK, reason="Get a second quote")
    desk.act("sf1", request_id, A.RESUBMIT)
    assert desk.act("tl1", request_id, A.APPROVE).state == "pending"
    assert desk.act("pm", request_id, A.APPROVE).state == "approved"


def test_a_lower_amount_carries_on_but_a_higher_one_restarts_the_chain(desk: Desk) -> None:
    from approvals.lifecycle.amending import amend_amount

    def amend(request_id: int, amount: int) -> FundRequest:
        return as_(
            desk.world,
            "sf1",
            lambda s, a: amend_amount(
                s, a, request_id, amount_cents=amount, gst_cents=0, now=desk.world.now
            ),
        )

    request_id = desk.submitted(amount=60_000)
    desk.act("tl1", request_id, A.APPROVE)
    lower = amend(request_id, 55_000)
    assert (lower.state, lower.round, lower.current_step) == ("pending", 1, 2)
    higher = amend(request_id, 250_000)  # now above $2,000: the finance manager joins the chain
    assert (higher.state, higher.round, higher.current_step) == ("pending", 2, 1)
    for who in ("tl1", "pm", "finmgr"):
        desk.act(who, request_id, A.APPROVE)
    assert desk.state(request_id) == "approved"
    with pytest.raises(InvalidTransitionError, match="can no longer change"):
        amend(request_id, 1_000)
