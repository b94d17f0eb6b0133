"""The approval policy in plain words, for people who do not read the editor's text.

One describer for every page that shows a policy (the admin editor and the Program Manager's
view), so a rule reads the same wherever it is shown (docs/approvals.md#policy). Pure: names of
people come in as a mapping from user id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from approvals.errors import InvalidInputError
from approvals.policy.rules import Quorum, RuleSpec, StepSpec, parse_approver
from ledger.money import format_cents

QUORUMS = {Quorum.ANY: "any one of", Quorum.ALL: "all of", Quorum.N_OF_M: "{n} of"}
SCOPES = {"requesting_org": "of the requesting NGO", "lead": "at the lead agency"}


@dataclass(frozen=True)
class StepWords:
    approvers: tuple[str, ...]  # "PM at the lead agency", a person's name
    quorum: str  # "any one of", "all of", "2 of"
    sla: int  # business days
    escalate_to: str | None


@dataclass(frozen=True)
class RuleWords:
    name: str
    conditions: tuple[str, ...]  # each one must hold; the fallback's says it always applies
    steps: tuple[StepWords, ...]


def describe(rules: list[RuleSpec], people: Mapping[int, str]) -> list[RuleWords]:
    """Each rule's conditions and steps in words."""
    return [
        RuleWords(
            rule.name,
            tuple(describe_conditions(rule)),
            tuple(describe_step(step, people) for step in rule.steps),
        )
        for rule in rules
    ]


def describe_approver(spec: str, people: Mapping[int, str]) -> str:
    """``PM@lead`` → "PM at the lead agency"; ``user:7`` → that person's name."""
    try:
        role, scope, user_id = parse_approver(spec)
    except InvalidInputError:
        return spec
    if user_id is not None:
        return people.get(user_id, f"user {user_id} (no longer known)")
    assert role is not None and scope is not None  # noqa: S101 - parse_approver gives both
    return f"{role.value} {SCOPES[scope]}"


def describe_step(step: StepSpec, people: Mapping[int, str]) -> StepWords:
    return StepWords(
        tuple(describe_approver(spec, people) for spec in step.approvers),
        QUORUMS[step.quorum].format(n=step.quorum_n),
        step.sla_business_days,
        describe_approver(step.escalate_to, people) if step.escalate_to else None,
    )


def step_in_words(
    approvers: Sequence[str], quorum: str, quorum_n: int | None, people: Mapping[int, str]
) -> str:
    """A request's step as its page shows it ("Any one of: TL of the requesting NGO"), in the
    policy's own wording, so the chain a request was given reads like the policy that gave it."""
    who = ", ".join(describe_approver(spec, people) for spec in approvers)
    return f"{QUORUMS[Quorum(quorum)].format(n=quorum_n).capitalize()}: {who}"


def named_in(approvers: Sequence[str]) -> set[int]:
    """The people a step names directly (``user:ID``), for looking up their names."""
    found: set[int] = set()
    for spec in approvers:
        try:
            found.add(parse_approver(spec)[2] or 0)
        except InvalidInputError:
            continue
    return found - {0}


def describe_conditions(rule: RuleSpec) -> list[str]:
    if rule.is_fallback:
        return ["Every request (fallback rule)"]
    found: list[str] = []
    if rule.organisation_codes is not None:
        found.append("NGO is " + " or ".join(sorted(rule.organisation_codes)))
    if rule.category_codes is not None:
        found.append("Category is " + " or ".join(sorted(rule.category_codes)))
    if rule.above_cents is not None:
        found.append(f"Amount above {format_cents(rule.above_cents)}")
    if rule.up_to_cents is not None:
        found.append(f"Amount at most {format_cents(rule.up_to_cents)}")
    if rule.client_fy_total_above_cents is not None:
        found.append(
            "Client's financial-year total above " + format_cents(rule.client_fy_total_above_cents)
        )
    if rule.supplier_unverified:
        found.append("Supplier not yet verified")
    return found or ["Every request"]
