"""The approval policy editor: versions, drafts from text, publishing (docs/approvals.md#policy).

The text is decoded here (nesting bounded, refused text refused); reading it into rules, checking
them and describing them in words is domain code (approvals/policy/text.py, policy_words.py).
"""

from __future__ import annotations

import json
from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from approvals.consortium.actors import Actor
from approvals.errors import InvalidInputError, NotFoundError
from approvals.models import (
    ApprovalPolicy,
    Category,
    PolicyStatus,
    User,
)
from approvals.policy.rules import RuleSpec, check_rules, default_rules
from approvals.policy.text import rules_from_document, rules_to_text
from approvals.policy.versions import publish, rules_of, save_draft
from approvals.policy.words import describe
from web.clock import now
from web.forms import FormReader
from web.input_guard import REFUSED_TEXT, TooDeepError, parse_json, refused_path
from web.pages.admin.blueprint import blueprint
from web.pages.admin.scope import names_of, organisations_of, published, require_admin, users_of
from web.refusals import Refusal, attempt, render_form
from web.session import db_session

# The colour of a policy's status badge (a retired version is grey).
_STATUS_BADGES = {PolicyStatus.PUBLISHED.value: "success", PolicyStatus.DRAFT.value: "warning"}


def parse_rules(text: str, known: dict[str, Any]) -> list[RuleSpec]:
    """The editor's text decoded here, at the edge (nesting bounded, refused text refused), then
    read into rules by the domain (docs/approvals.md#policy)."""
    try:
        data = parse_json(text)
    except TooDeepError as error:
        refused = {"rules": str(error)}
        raise InvalidInputError("The rules were not saved.", fields=refused) from error
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise InvalidInputError(
            "The rules are not valid JSON; nothing was saved.",
            fields={"rules": f"Not valid JSON at {where}: {error.msg}."},
        ) from error
    if refused_path(data) is not None:
        raise InvalidInputError("The rules were not saved.", fields={"rules": REFUSED_TEXT})
    return rules_from_document(data, **known)


def _policy_in_scope(session: Session, who: Actor, policy_id: int) -> ApprovalPolicy:
    policy = session.get(ApprovalPolicy, policy_id)
    if policy is None or policy.consortium_id != who.consortium_id:
        raise NotFoundError("There is no such policy.")
    return policy


def _known(session: Session, consortium_id: int) -> dict[str, Any]:
    return {
        "organisations": {o.code for o in organisations_of(session, consortium_id)},
        "categories": set(
            session.execute(
                select(Category.code).where(Category.consortium_id == consortium_id)
            ).scalars()
        ),
        "users": {u.id for u in users_of(session, consortium_id)},
    }


@blueprint.get("/policy")
@login_required
def policies() -> ResponseReturnValue:
    who = require_admin()
    session = db_session()
    start = request.args.get("from", "")
    if start == "default":
        text = rules_to_text(default_rules())
    elif start.isdigit() and len(start) < 19:
        text = rules_to_text(rules_of(session, _policy_in_scope(session, who, int(start)).id))
    else:
        live = published(session, who.consortium_id)
        text = rules_to_text(rules_of(session, live.id) if live else default_rules())
    return _policies_page(who, text)


def _policies_page(who: Actor, text: str, refused: Refusal | None = None) -> ResponseReturnValue:
    session = db_session()
    live = published(session, who.consortium_id)
    names = names_of(session, who.consortium_id)
    author = aliased(User)
    versions = session.execute(
        select(ApprovalPolicy, author.display_name)
        .join(author, author.id == ApprovalPolicy.created_by_id)
        .where(ApprovalPolicy.consortium_id == who.consortium_id)
        .order_by(ApprovalPolicy.version.desc())
        .limit(50)
    ).all()
    return render_form(
        "admin/policies.html",
        refused,
        live=live,
        rules=describe(rules_of(session, live.id), names) if live else [],
        versions=versions,
        text=text,
        known=_known(session, who.consortium_id),
    )


@blueprint.post("/policy")
@login_required
def save_policy() -> ResponseReturnValue:
    who = require_admin()
    form = FormReader(request.form)
    text = form.text("rules", limit=200_000)
    then = form.choice("then", ["draft", "publish"])
    known = _known(db_session(), who.consortium_id)

    def work(session: Session, w: Actor) -> tuple[int, int, str]:
        rules = parse_rules(text, known)
        at = now()
        policy = save_draft(session, w, rules, now=at)
        if then == "publish":
            policy = publish(session, w, policy.id, now=at)
        return policy.id, policy.version, policy.status

    result = attempt(work, form)
    if isinstance(result, Refusal):
        return _policies_page(who, text, result)
    policy_id, version, status = result
    if status == PolicyStatus.PUBLISHED.value:
        flash(f"Policy version {version} is published: new requests follow it.", "success")
    else:
        flash(f"Policy version {version} saved as a draft. Publish it when ready.", "success")
    return redirect(url_for("admin.policy", policy_id=policy_id))


@blueprint.get("/policy/<int:policy_id>")
@login_required
def policy(policy_id: int) -> ResponseReturnValue:
    return _policy_page(require_admin(), policy_id)


def _policy_page(who: Actor, policy_id: int, refused: Refusal | None = None) -> ResponseReturnValue:
    session = db_session()
    found = _policy_in_scope(session, who, policy_id)
    rules = rules_of(session, found.id)
    names = names_of(session, who.consortium_id)
    is_draft = found.status == PolicyStatus.DRAFT.value
    return render_form(
        "admin/policy.html",
        refused,
        policy=found,
        rules=describe(rules, names),
        text=rules_to_text(rules),
        is_draft=is_draft,
        badge=_STATUS_BADGES.get(found.status, "secondary"),
        problems=check_rules(rules) if is_draft else [],
        names=names,
    )


@blueprint.post("/policy/<int:policy_id>/publish")
@login_required
def publish_policy(policy_id: int) -> ResponseReturnValue:
    who = require_admin()
    _policy_in_scope(db_session(), who, policy_id)
    result = attempt(lambda s, w: publish(s, w, policy_id, now=now()).version)
    if isinstance(result, Refusal):
        return _policy_page(who, policy_id, result)
    flash(f"Policy version {result} is published: new requests follow it.", "success")
    return redirect(url_for("admin.policy", policy_id=policy_id))
