"""Rule matching and merging: a threshold adds a step, the fallback always applies
(docs/approvals.md#policy)."""

from __future__ import annotations

import pytest

from approvals.errors import InvalidInputError
from approvals.policy.rules import (
    Quorum,
    RequestFacts,
    RuleSpec,
    StepSpec,
    build_chain,
    check_rules,
    default_rules,
    parse_approver,
)


def facts(
    amount: str, *, category: str = "groceries", fy_total: int | None = None, verified: bool = True
) -> RequestFacts:
    cents = int(amount) * 100
    return RequestFacts(
        "NGO1", category, cents, fy_total if fy_total is not None else cents, verified
    )


def approvers(chain: list[StepSpec]) -> list[tuple[str, ...]]:
    return [step.approvers for step in chain]


@pytest.mark.parametrize(
    ("request_facts", "expected"),
    [
        (facts("100"), [("TL@requesting_org",)]),
        (facts("500"), [("TL@requesting_org",)]),
        (facts("501"), [("TL@requesting_org",), ("PM@lead",)]),
        (facts("100", category="bond"), [("TL@requesting_org",), ("PM@lead",)]),
        (facts("100", fy_total=150_001), [("TL@requesting_org",), ("PM@lead",)]),
        (
            facts("600", category="furniture", fy_total=200_000),
            [("TL@requesting_org",), ("PM@lead",)],
        ),
        (facts("2001"), [("TL@requesting_org",), ("PM@lead",), ("FIN_MGR@lead",)]),
        (facts("5000"), [("TL@requesting_org",), ("PM@lead",), ("FIN_MGR@lead",)]),
        (facts("5001"), [("TL@requesting_org",), ("PM@lead",), ("FIN_MGR@lead", "CEO@lead")]),
    ],
)
def test_the_default_policy_adds_steps_as_thresholds_are_crossed(
    request_facts: RequestFacts, expected: list[tuple[str, ...]]
) -> None:
    assert approvers(build_chain(default_rules(), request_facts)) == expected


def test_above_five_thousand_needs_two_of_finance_manager_and_ceo() -> None:
    last = build_chain(default_rules(), facts("6000"))[-1]
    assert (last.quorum, last.quorum_n, last.needed(eligible=3)) == (Quorum.N_OF_M, 2, 2)


def test_quorum_any_all_and_n_of_m() -> None:
    assert StepSpec(("PM@lead",)).needed(eligible=3) == 1
    assert StepSpec(("PM@lead",), quorum=Quorum.ALL).needed(eligible=3) == 3
    assert StepSpec(("PM@lead",), quorum=Quorum.N_OF_M, quorum_n=2).needed(eligible=3) == 2


def test_conditions_combine_and_an_unverified_supplier_adds_its_rule() -> None:
    check = RuleSpec("Unverified supplier", (StepSpec(("FIN@lead",)),), supplier_unverified=True)
    only_ngo2 = RuleSpec(
        "NGO2 housing",
        (StepSpec(("PM@lead",)),),
        organisation_codes=frozenset({"NGO2"}),
        category_codes=frozenset({"bond"}),
    )
    rules = [*default_rules()[:1], check, only_ngo2]
    assert approvers(build_chain(rules, facts("100", verified=False))) == [
        ("TL@requesting_org",),
        ("FIN@lead",),
    ]
    assert approvers(build_chain(rules, facts("100", category="bond"))) == [("TL@requesting_org",)]


def test_a_policy_without_a_fallback_cannot_be_published() -> None:
    problems = check_rules(default_rules()[1:])
    assert "A policy needs a fallback rule before it can be published." in problems
    assert check_rules(default_rules()) == []


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        (StepSpec(("ADMIN@lead",)), "never approves"),
        (StepSpec(("AUDITOR@lead",)), "never approves"),
        (StepSpec(("SF@requesting_org",)), "never approves"),
        (StepSpec(("PM@elsewhere",)), "is not an approver"),
        (StepSpec(("BOSS@lead",)), "Unknown role"),
        (StepSpec(()), "no approvers"),
        (StepSpec(("PM@lead",), quorum=Quorum.N_OF_M), "N of M"),
        (StepSpec(("PM@lead",), sla_business_days=0), "SLA"),
    ],
)
def test_rules_with_bad_steps_are_refused_with_reasons(step: StepSpec, problem: str) -> None:
    rules = [RuleSpec("Fallback", (step,), is_fallback=True)]
    assert any(problem in p for p in check_rules(rules)), check_rules(rules)


def test_approver_specs_parse_to_role_scope_or_user() -> None:
    assert parse_approver("TL@requesting_org")[:2] == (
        parse_approver("TL@lead")[0],
        "requesting_org",
    )
    assert parse_approver("user:42") == (None, None, 42)
    with pytest.raises(InvalidInputError):
        parse_approver("user:0")


def test_an_empty_amount_band_is_reported() -> None:
    rules = [
        *default_rules()[:1],
        RuleSpec("Odd", (StepSpec(("PM@lead",)),), above_cents=500, up_to_cents=100),
    ]
    assert any("empty amount band" in p for p in check_rules(rules))
