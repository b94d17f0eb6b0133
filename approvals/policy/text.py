"""A policy's rules as the editor's text, and back, with every problem named where it is.

Pure: the admin editor shows :func:`rules_to_text` and hands what the person typed, once decoded
from JSON at the edge, to :func:`rules_from_document`, which either returns rules that
``check_rules`` accepts or raises one ``InvalidInputError`` whose ``rules`` field lists every
problem (docs/approvals.md#policy). Amounts are dollars in the text and cents in the rules.
"""

from __future__ import annotations

import json
from typing import Any

from approvals.errors import InvalidInputError
from approvals.policy.rules import Quorum, RuleSpec, StepSpec, check_rules, parse_approver
from ledger.errors import InvalidAmountError
from ledger.money import cents_to_decimal_text, parse_cents

# The band's keys name the rule's fields: "above" is above_cents, "up_to" is up_to_cents.
AMOUNT_KEYS = {
    "above": "above_cents",
    "up_to": "up_to_cents",
    "client_year_above": "client_fy_total_above_cents",
}
RULE_KEYS = {
    "name",
    "fallback",
    "organisations",
    "categories",
    *AMOUNT_KEYS,
    "supplier_unverified",
    "steps",
}
STEP_KEYS = {"approvers", "quorum", "n", "sla_days", "escalate_to"}
MAX_RULES = 100
MAX_SLA = 60
SHOWN_PROBLEMS = 8


def rules_to_text(rules: list[RuleSpec]) -> str:
    """The editor's text for a list of rules; :func:`rules_from_document` reads it back."""
    out: list[dict[str, Any]] = []
    for rule in rules:
        item: dict[str, Any] = {"name": rule.name}
        if rule.is_fallback:
            item["fallback"] = True
        if rule.organisation_codes is not None:
            item["organisations"] = sorted(rule.organisation_codes)
        if rule.category_codes is not None:
            item["categories"] = sorted(rule.category_codes)
        for key, field in AMOUNT_KEYS.items():
            cents = getattr(rule, field)
            if cents is not None:
                item[key] = cents_to_decimal_text(cents)
        if rule.supplier_unverified:
            item["supplier_unverified"] = True
        item["steps"] = [_step_item(step) for step in rule.steps]
        out.append(item)
    return json.dumps(out, indent=2)


def _step_item(step: StepSpec) -> dict[str, Any]:
    spec: dict[str, Any] = {"approvers": list(step.approvers), "quorum": step.quorum.value}
    if step.quorum_n is not None:
        spec["n"] = step.quorum_n
    spec["sla_days"] = step.sla_business_days
    if step.escalate_to:
        spec["escalate_to"] = step.escalate_to
    return spec


def rules_from_document(
    data: Any, *, organisations: set[str], categories: set[str], users: set[int]
) -> list[RuleSpec]:
    """The decoded editor text as rules, or one error listing every problem with where it is.

    ``organisations``, ``categories`` and ``users`` are what the consortium knows: a code or a
    ``user:ID`` outside them is refused here, before anything is saved.
    """
    if not isinstance(data, list) or not data:
        raise InvalidInputError(
            "The rules were not saved.",
            fields={"rules": "A list of rules: [ {…}, {…} ], with at least a fallback rule."},
        )
    if len(data) > MAX_RULES:
        raise InvalidInputError(
            "The rules were not saved.", fields={"rules": f"At most {MAX_RULES} rules."}
        )
    reader = _Reader(organisations, categories, users)
    rules = [rule for n, item in enumerate(data, start=1) if (rule := reader.rule(n, item))]
    problems = reader.problems or check_rules(rules)
    if problems:
        extra = len(problems) - SHOWN_PROBLEMS
        more = f" (and {extra} more)" if extra > 0 else ""
        raise InvalidInputError(
            "The rules were not saved: " + problems[0],
            fields={"rules": " · ".join(problems[:SHOWN_PROBLEMS]) + more},
        )
    return rules


class _Reader:
    """Reads one decoded rule list into specs, collecting every problem with where it is."""

    def __init__(self, organisations: set[str], categories: set[str], users: set[int]) -> None:
        self.organisations, self.categories, self.users = organisations, categories, users
        self.problems: list[str] = []

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    def cents(self, where: str, key: str, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.problem(where, f'"{key}" is an amount in dollars such as "500.00".')
            return None
        try:
            return parse_cents(str(value), field=f'"{key}"')
        except (InvalidAmountError, ValueError) as error:
            self.problem(where, str(error))
            return None

    def codes(self, where: str, key: str, value: Any, known: set[str]) -> frozenset[str] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.problem(where, f'"{key}" is a non-empty list of codes, or leave it out for any.')
            return None
        unknown = sorted(set(value) - known)
        if unknown:
            self.problem(where, f'"{key}" names unknown codes: {", ".join(unknown)}.')
        return frozenset(value)

    def flag(self, where: str, key: str, value: Any) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            self.problem(where, f'"{key}" is true or false.')
            return False
        return value

    def approver(self, where: str, spec: Any) -> str:
        if not isinstance(spec, str):
            self.problem(where, "an approver is text such as PM@lead.")
            return ""
        try:
            _role, _scope, user_id = parse_approver(spec)
        except InvalidInputError as error:
            self.problem(where, error.message)
            return spec
        if user_id is not None and user_id not in self.users:
            self.problem(where, f"{spec} is not a user of this consortium.")
        return spec

    def step(self, where: str, item: Any) -> StepSpec | None:
        if not isinstance(item, dict):
            self.problem(where, "a step is an object with approvers.")
            return None
        for key in sorted(set(item) - STEP_KEYS):
            self.problem(where, f'unknown key "{key}" (use {", ".join(sorted(STEP_KEYS))}).')
        approvers = item.get("approvers")
        if not isinstance(approvers, list) or not approvers:
            self.problem(where, '"approvers" is a non-empty list such as ["PM@lead"].')
            approvers = []
        specs = tuple(self.approver(where, spec) for spec in approvers)
        quorum_text = item.get("quorum", "any")
        if quorum_text not in {q.value for q in Quorum}:
            self.problem(where, '"quorum" is "any", "all" or "n_of_m".')
            quorum_text = "any"
        quorum = Quorum(quorum_text)
        n = item.get("n")
        if quorum is Quorum.N_OF_M:
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                self.problem(where, '"n_of_m" needs "n", a whole number of at least 1.')
                n = 1
        elif n is not None:
            self.problem(where, '"n" is only for the "n_of_m" quorum.')
            n = None
        sla = item.get("sla_days", 2)
        if isinstance(sla, bool) or not isinstance(sla, int) or not 1 <= sla <= MAX_SLA:
            self.problem(where, f'"sla_days" is a whole number of business days, 1-{MAX_SLA}.')
            sla = 2
        escalate = item.get("escalate_to")
        if escalate is not None:
            escalate = self.approver(where, escalate) or None
        return StepSpec(specs, quorum, n, sla, escalate)

    def rule(self, index: int, item: Any) -> RuleSpec | None:
        where = f"Rule {index}"
        if not isinstance(item, dict):
            self.problem(where, 'a rule is an object such as {"name": …, "steps": […]}.')
            return None
        name = item.get("name")
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 120:
            self.problem(where, '"name" is text of 1-120 characters.')
            name = ""
        else:
            where = f"Rule {index} ({name.strip()})"
        for key in sorted(set(item) - RULE_KEYS):
            self.problem(where, f'unknown key "{key}" (use {", ".join(sorted(RULE_KEYS))}).')
        steps = item.get("steps")
        if not isinstance(steps, list) or not steps:
            self.problem(where, '"steps" is a non-empty list of steps.')
            steps = []
        read = [self.step(f"{where}, step {n}", s) for n, s in enumerate(steps, start=1)]
        amounts = {
            field: self.cents(where, key, item.get(key)) for key, field in AMOUNT_KEYS.items()
        }
        rule = RuleSpec(
            name=name.strip(),
            steps=tuple(step for step in read if step is not None),
            is_fallback=self.flag(where, "fallback", item.get("fallback")),
            organisation_codes=self.codes(
                where, "organisations", item.get("organisations"), self.organisations
            ),
            category_codes=self.codes(where, "categories", item.get("categories"), self.categories),
            above_cents=amounts["above_cents"],
            up_to_cents=amounts["up_to_cents"],
            client_fy_total_above_cents=amounts["client_fy_total_above_cents"],
            supplier_unverified=self.flag(
                where, "supplier_unverified", item.get("supplier_unverified")
            ),
        )
        if rule.is_fallback and _has_conditions(rule):
            self.problem(where, "a fallback rule always applies, so it has no conditions.")
        return rule


def _has_conditions(rule: RuleSpec) -> bool:
    conditions = (
        rule.organisation_codes,
        rule.category_codes,
        rule.above_cents,
        rule.up_to_cents,
        rule.client_fy_total_above_cents,
    )
    return any(c is not None for c in conditions) or rule.supplier_unverified
