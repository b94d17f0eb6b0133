"""Storing approval policies: versions, drafts, publishing, and reading the live one back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.errors import InvalidInputError, InvalidTransitionError, NotFoundError
from approvals.models import ApprovalPolicy, PolicyRule, PolicyStatus, PolicyStep, Role
from approvals.policy.approvers import known_approvers
from approvals.policy.rules import Quorum, RuleSpec, StepSpec, check_rules
from approvals.zone import consortium_today


def save_draft(
    session: Session, actor: Actor, rules: Sequence[RuleSpec], *, now: datetime
) -> ApprovalPolicy:
    """A new policy version as a draft; in-flight requests keep the chain they were given."""
    actor.require_lead(Role.ADMIN, doing="edit the approval policy")
    if not rules:
        raise InvalidInputError(
            "A policy needs at least one rule.", fields={"rules": "Add a fallback rule."}
        )
    latest = session.execute(
        select(func.max(ApprovalPolicy.version)).where(
            ApprovalPolicy.consortium_id == actor.consortium_id
        )
    ).scalar()
    policy = ApprovalPolicy(
        consortium_id=actor.consortium_id,
        version=(latest or 0) + 1,
        status=PolicyStatus.DRAFT.value,
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(policy)
    session.flush()
    for position, rule in enumerate(rules, start=1):
        row = PolicyRule(
            policy_id=policy.id,
            position=position,
            name=rule.name[:120],
            is_fallback=rule.is_fallback,
            organisation_codes=sorted(rule.organisation_codes)
            if rule.organisation_codes is not None
            else None,
            category_codes=sorted(rule.category_codes) if rule.category_codes is not None else None,
            above_cents=rule.above_cents,
            up_to_cents=rule.up_to_cents,
            client_fy_total_above_cents=rule.client_fy_total_above_cents,
            supplier_unverified=rule.supplier_unverified,
        )
        session.add(row)
        session.flush()
        for step_position, step in enumerate(rule.steps, start=1):
            session.add(
                PolicyStep(
                    rule_id=row.id,
                    position=step_position,
                    approvers=list(step.approvers),
                    quorum=step.quorum.value,
                    quorum_n=step.quorum_n,
                    sla_business_days=step.sla_business_days,
                    escalate_to=step.escalate_to,
                )
            )
    session.flush()
    return policy


def publish(session: Session, actor: Actor, policy_id: int, *, now: datetime) -> ApprovalPolicy:
    actor.require_lead(Role.ADMIN, doing="publish the approval policy")
    policy = session.get(ApprovalPolicy, policy_id)
    if policy is None or policy.consortium_id != actor.consortium_id:
        raise NotFoundError("There is no such policy.")
    if policy.status != PolicyStatus.DRAFT.value:
        raise InvalidTransitionError(
            f"Policy version {policy.version} is {policy.status}, not a draft."
        )
    rules = rules_of(session, policy.id)
    problems = check_rules(rules) or unmet_quorums(
        session, actor.consortium_id, rules, consortium_today(session, actor.consortium_id, now)
    )
    if problems:
        raise InvalidInputError(" ".join(problems), fields={"rules": problems[0]})
    session.execute(
        update(ApprovalPolicy)
        .where(
            ApprovalPolicy.consortium_id == actor.consortium_id,
            ApprovalPolicy.status == PolicyStatus.PUBLISHED.value,
        )
        .values(status=PolicyStatus.RETIRED.value)
    )
    session.flush()
    policy.status = PolicyStatus.PUBLISHED.value
    policy.published_by_id, policy.published_at = actor.user_id, now
    session.flush()
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="policy.published",
        subject_type="policy",
        subject_id=policy.id,
        now=now,
        version=policy.version,
    )
    return policy


def unmet_quorums(
    session: Session, consortium_id: int, rules: Sequence[RuleSpec], on: date
) -> list[str]:
    """Steps whose quorum the people who could approve today cannot meet, each named.

    Only steps whose approvers are known before any request (``ROLE@lead``, ``user:ID``) are
    counted here; one naming the requesting NGO's people is checked when a request reaches it,
    where a shortfall escalates (approvals/lifecycle/steps.py, docs/approvals.md#policy).
    """
    problems: list[str] = []
    for rule in rules:
        for position, step in enumerate(rule.steps, start=1):
            needed = step.fewest_people()
            if needed == 1:
                continue
            people = known_approvers(session, consortium_id, step.approvers, on)
            if people is not None and len(people) < needed:
                problems.append(
                    f"Rule {rule.name!r}, step {position}: it needs {needed} approvals but only "
                    f"{len(people)} of the people in {', '.join(step.approvers)} can approve."
                )
    return problems


def rules_of(session: Session, policy_id: int) -> list[RuleSpec]:
    rules = session.execute(
        select(PolicyRule).where(PolicyRule.policy_id == policy_id).order_by(PolicyRule.position)
    ).scalars()
    found: list[RuleSpec] = []
    for rule in rules:
        steps = session.execute(
            select(PolicyStep).where(PolicyStep.rule_id == rule.id).order_by(PolicyStep.position)
        ).scalars()
        found.append(
            RuleSpec(
                name=rule.name,
                steps=tuple(
                    StepSpec(
                        tuple(step.approvers),
                        Quorum(step.quorum),
                        step.quorum_n,
                        step.sla_business_days,
                        step.escalate_to,
                    )
                    for step in steps
                ),
                is_fallback=rule.is_fallback,
                organisation_codes=frozenset(rule.organisation_codes)
                if rule.organisation_codes is not None
                else None,
                category_codes=frozenset(rule.category_codes)
                if rule.category_codes is not None
                else None,
                above_cents=rule.above_cents,
                up_to_cents=rule.up_to_cents,
                client_fy_total_above_cents=rule.client_fy_total_above_cents,
                supplier_unverified=rule.supplier_unverified,
            )
        )
    return found


def published_policy(session: Session, consortium_id: int) -> tuple[ApprovalPolicy, list[RuleSpec]]:
    policy = session.execute(
        select(ApprovalPolicy).where(
            ApprovalPolicy.consortium_id == consortium_id,
            ApprovalPolicy.status == PolicyStatus.PUBLISHED.value,
        )
    ).scalar()
    if policy is None:
        raise NotFoundError("This consortium has no published approval policy yet.")
    return policy, rules_of(session, policy.id)
