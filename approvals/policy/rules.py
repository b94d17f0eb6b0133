"""Approval policy as data: rules with conditions and steps, merged into one chain per request.

Pure: the functions here take frozen specs and a request's facts and return the chain, so rule
matching is tested without a database. Every rule whose conditions all hold adds its steps; a
threshold therefore *adds* a step. The fallback rule has no conditions and always applies, so
no request is ever left without an approver. Steps keep rule order, then step order; a step
whose approvers and quorum repeat an earlier one is not asked twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from approvals.errors import InvalidInputError
from approvals.models.people import NEVER_APPROVE, Role

_SPEC = re.compile(
    r"(?P<role>[A-Z_]+)@(?P<scope>requesting_org|lead)|user:(?P<user>[1-9][0-9]*)", re.ASCII
)


class Quorum(StrEnum):
    ANY = "any"
    ALL = "all"
    N_OF_M = "n_of_m"


@dataclass(frozen=True)
class StepSpec:
    approvers: tuple[str, ...]  # "TL@requesting_org", "PM@lead", "user:42"
    quorum: Quorum = Quorum.ANY
    quorum_n: int | None = None
    sla_business_days: int = 2
    escalate_to: str | None = None

    def fewest_people(self) -> int:
        """The fewest people who can complete the step: N of an N-of-M quorum, else one."""
        return (self.quorum_n or 1) if self.quorum is Quorum.N_OF_M else 1

    def needed(self, eligible: int) -> int:
        """How many approvals complete the step when ``eligible`` people may decide it."""
        if self.quorum is Quorum.ANY:
            return 1
        if self.quorum is Quorum.ALL:
            return max(eligible, 1)
        return self.quorum_n or 1


@dataclass(frozen=True)
class RuleSpec:
    name: str
    steps: tuple[StepSpec, ...]
    is_fallback: bool = False
    organisation_codes: frozenset[str] | None = None
    category_codes: frozenset[str] | None = None
    above_cents: int | None = None  # amount more than this (the band's open end)
    up_to_cents: int | None = None  # amount at most this (its closed end)
    client_fy_total_above_cents: int | None = None
    supplier_unverified: bool = False


@dataclass(frozen=True)
class RequestFacts:
    organisation_code: str
    category_code: str
    amount_cents: int
    client_fy_total_cents: int  # this financial year's requests for the client, this one included
    supplier_verified: bool


def matches(rule: RuleSpec, facts: RequestFacts) -> bool:
    if rule.is_fallback:
        return True
    checks = (
        rule.organisation_codes is None or facts.organisation_code in rule.organisation_codes,
        rule.category_codes is None or facts.category_code in rule.category_codes,
        rule.above_cents is None or facts.amount_cents > rule.above_cents,
        rule.up_to_cents is None or facts.amount_cents <= rule.up_to_cents,
        rule.client_fy_total_above_cents is None
        or facts.client_fy_total_cents > rule.client_fy_total_above_cents,
        not rule.supplier_unverified or not facts.supplier_verified,
    )
    return all(checks)


def build_chain(rules: Sequence[RuleSpec], facts: RequestFacts) -> list[StepSpec]:
    chain: list[StepSpec] = []
    for rule in rules:
        if matches(rule, facts):
            chain += [step for step in rule.steps if step not in chain]
    return chain


def parse_approver(spec: str) -> tuple[Role | None, str | None, int | None]:
    """``(role, scope, user id)`` of one approver spec; refuses roles that never approve."""
    match = _SPEC.fullmatch(spec or "")
    if match is None:
        raise InvalidInputError(
            f"{spec!r} is not an approver.",
            fields={"approvers": "ROLE@requesting_org, ROLE@lead or user:ID."},
        )
    if match["user"]:
        return None, None, int(match["user"])
    try:
        role = Role(match["role"])
    except ValueError as error:
        raise InvalidInputError(
            f"Unknown role in {spec!r}.", fields={"approvers": "A known role."}
        ) from error
    if role in NEVER_APPROVE or role is Role.SF:
        raise InvalidInputError(
            f"{role.value} never approves requests.", fields={"approvers": "Not an approver."}
        )
    return role, match["scope"], None


def check_rules(rules: Iterable[RuleSpec]) -> list[str]:
    """Every problem that stops a policy from being published."""
    problems: list[str] = []
    rules = list(rules)
    if not any(rule.is_fallback for rule in rules):
        problems.append("A policy needs a fallback rule before it can be published.")
    for rule in rules:
        if not rule.steps:
            problems.append(f"Rule {rule.name!r} has no steps.")
        # The same band the database's CHECKs hold (approvals/models/policy.py).
        if any(c is not None and c < 0 for c in (rule.above_cents, rule.up_to_cents)):
            problems.append(f"Rule {rule.name!r}: an amount band is never negative.")
        if (
            rule.above_cents is not None
            and rule.up_to_cents is not None
            and rule.above_cents >= rule.up_to_cents
        ):
            problems.append(f"Rule {rule.name!r} has an empty amount band.")
        for step in rule.steps:
            for spec in (*step.approvers, *([step.escalate_to] if step.escalate_to else [])):
                try:
                    parse_approver(spec)
                except InvalidInputError as error:
                    problems.append(f"Rule {rule.name!r}: {error.message}")
            if not step.approvers:
                problems.append(f"Rule {rule.name!r} has a step with no approvers.")
            if step.quorum is Quorum.N_OF_M and not (
                step.quorum_n and 1 <= step.quorum_n <= len(step.approvers) * 10
            ):
                problems.append(f"Rule {rule.name!r}: N of M needs N of at least 1.")
            if step.sla_business_days < 1:
                problems.append(f"Rule {rule.name!r}: an SLA is at least one business day.")
    return problems


def default_rules(
    pm_categories: frozenset[str] = frozenset({"bond", "furniture", "travel"}),
) -> list[RuleSpec]:
    """The default policy (docs/approvals.md#the-default-policy)."""
    return [
        RuleSpec(
            "Team Leader approves everything",
            (StepSpec(("TL@requesting_org",), escalate_to="PM@lead"),),
            is_fallback=True,
        ),
        RuleSpec(
            "PM above $500",
            (StepSpec(("PM@lead",), escalate_to="FIN_MGR@lead"),),
            above_cents=50_000,
        ),
        RuleSpec(
            "PM for bonds, furniture and travel",
            (StepSpec(("PM@lead",), escalate_to="FIN_MGR@lead"),),
            category_codes=pm_categories,
        ),
        RuleSpec(
            "PM when the client's year passes $1,500",
            (StepSpec(("PM@lead",), escalate_to="FIN_MGR@lead"),),
            client_fy_total_above_cents=150_000,
        ),
        RuleSpec(
            "Finance manager above $2,000",
            (StepSpec(("FIN_MGR@lead",), escalate_to="CEO@lead"),),
            above_cents=200_000,
            up_to_cents=500_000,
        ),
        RuleSpec(
            "Two of finance manager and CEO above $5,000",
            (
                StepSpec(
                    ("FIN_MGR@lead", "CEO@lead"),
                    quorum=Quorum.N_OF_M,
                    quorum_n=2,
                    sla_business_days=3,
                ),
            ),
            above_cents=500_000,
        ),
    ]
