"""The editor's text for a policy and the policy in words: pure, no database."""

from __future__ import annotations

import json

import pytest

from approvals.errors import InvalidInputError
from approvals.policy.rules import Quorum, RuleSpec, StepSpec, default_rules
from approvals.policy.text import rules_from_document, rules_to_text
from approvals.policy.words import describe, named_in, step_in_words

KNOWN = {"organisations": {"NGO2"}, "categories": {"bond", "furniture", "travel"}}


def read(text: str, users: set[int]) -> list[RuleSpec]:
    return rules_from_document(json.loads(text), users=users, **KNOWN)


def test_rules_survive_the_editor_unchanged() -> None:
    rules = [
        *default_rules(),
        RuleSpec(
            "Named approver for NGO2's unverified suppliers",
            (StepSpec(("user:7", "PM@lead"), Quorum.ALL, None, 5, "CEO@lead"),),
            organisation_codes=frozenset({"NGO2"}),
            up_to_cents=12_345,
            client_fy_total_above_cents=1,
            supplier_unverified=True,
        ),
    ]
    assert read(rules_to_text(rules), users={7}) == rules
    with pytest.raises(InvalidInputError, match="not a user of this consortium"):
        read(rules_to_text(rules), users={8})


def test_problems_are_field_errors_naming_where_they_are() -> None:
    text = (
        '[{"name": "All", "fallback": true, "steps": [{"approvers": ["TL@requesting_org"]}]},'
        ' {"name": "Big", "above": "lots", "colour": 1, "steps": [{"approvers": ["PM@lead"]}]}]'
    )
    with pytest.raises(InvalidInputError) as refused:
        read(text, users=set())
    assert 'Rule 2 (Big): unknown key "colour"' in refused.value.fields["rules"]
    assert 'Rule 2 (Big): "above"' in refused.value.fields["rules"]


def test_the_policy_in_words_names_roles_people_and_the_band() -> None:
    rules = [
        RuleSpec("All", (StepSpec(("TL@requesting_org",), escalate_to="PM@lead"),), True),
        RuleSpec(
            "Middle",
            (StepSpec(("user:7", "FIN_MGR@lead"), Quorum.N_OF_M, 2, 3),),
            above_cents=50_000,
            up_to_cents=200_000,
        ),
    ]
    fallback, middle = describe(rules, {7: "Pat Lee"})
    assert fallback.conditions == ("Every request (fallback rule)",)
    assert fallback.steps[0].approvers == ("TL of the requesting NGO",)
    assert fallback.steps[0].escalate_to == "PM at the lead agency"
    assert middle.conditions == ("Amount above $500.00", "Amount at most $2,000.00")
    assert middle.steps[0].approvers == ("Pat Lee", "FIN_MGR at the lead agency")
    assert (middle.steps[0].quorum, middle.steps[0].sla) == ("2 of", 3)


def test_a_requests_step_reads_in_the_policys_own_words() -> None:
    people = {7: "Fatima Finance"}
    assert step_in_words(["TL@requesting_org"], "any", None, people) == (
        "Any one of: TL of the requesting NGO"
    )
    assert step_in_words(["user:7", "CEO@lead"], "n_of_m", 2, people) == (
        "2 of: Fatima Finance, CEO at the lead agency"
    )
    assert named_in(["user:7", "PM@lead", "nonsense"]) == {7}
