"""The admin area: organisations, users and roles, categories, the approval policy, delegations.

Lead-agency ADMIN only; every route checks the role itself and reads only its own consortium.
Writes go through the approvals services in one transaction each; a refused form comes back
with the message next to its field and nothing written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any, cast

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from approvals.abn import display_abn
from approvals.actors import Actor
from approvals.catalogue import add_category, set_category_active
from approvals.delegations import delegate, revoke
from approvals.errors import InvalidInputError, NotFoundError
from approvals.models import (
    ApprovalPolicy,
    AuditEvent,
    Category,
    Consortium,
    Delegation,
    Membership,
    Organisation,
    OrgKind,
    Role,
    User,
)
from approvals.people import belongs_to, create_user, grant_role, set_user_active
from approvals.policies import publish, rules_of, save_draft
from approvals.policy import RuleSpec, check_rules, default_rules
from approvals.policy_text import rules_from_document, rules_to_text
from approvals.policy_words import describe
from approvals.setup import add_partner, envelope_account
from ledger.errors import UnknownAccountError
from ledger.queries import get_balance
from reports.job_status import job_status
from web import db_session
from web.auth import actor, local_today, now
from web.forms import FormReader
from web.input_guard import REFUSED_TEXT, TooDeepError, parse_json, refused_path
from web.refusals import Refusal, attempt, render_form

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
ROLES = [role.value for role in Role]


def _admin() -> Actor:
    who = actor()
    who.require_lead(Role.ADMIN, doing="use the admin pages")
    return who


def _today(session: Session, who: Actor) -> date:
    return local_today(session, who.consortium_id)


# --- overview -------------------------------------------------------------------------------


@blueprint.get("/")
@login_required
def home() -> ResponseReturnValue:
    who = _admin()
    session = db_session()
    policy = _published(session, who.consortium_id)
    counts = {
        "organisations": _count(
            session, select(Organisation.id).where(Organisation.consortium_id == who.consortium_id)
        ),
        "users": _count(session, select(User.id).where(_in_scope(who.consortium_id))),
        "categories": _count(
            session,
            select(Category.id).where(
                Category.consortium_id == who.consortium_id, Category.active.is_(True)
            ),
        ),
        "delegations": _count(
            session,
            select(Delegation.id).where(
                Delegation.consortium_id == who.consortium_id,
                Delegation.revoked_at.is_(None),
                Delegation.ends_on >= _today(session, who),
            ),
        ),
    }
    code = session.get_one(Consortium, who.consortium_id).code
    jobs = job_status(session, who.consortium_id, code)
    return render_template("admin/home.html", counts=counts, policy=policy, jobs=jobs)


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


# --- organisations --------------------------------------------------------------------------


@blueprint.get("/organisations")
@login_required
def organisations() -> ResponseReturnValue:
    return _organisations_page(_admin())


def _organisations_page(
    who: Actor, refused: Refusal | None = None, values: Mapping[str, str] | None = None
) -> ResponseReturnValue:
    session = db_session()
    book = session.get_one(Consortium, who.consortium_id).code
    rows = []
    for organisation in _organisations(session, who.consortium_id):
        envelope = None
        if organisation.kind == OrgKind.PARTNER.value:
            try:
                envelope = get_balance(session, book, envelope_account(organisation.code))
            except UnknownAccountError:
                envelope = None
        abn = display_abn(organisation.abn) if organisation.abn else ""
        rows.append((organisation, abn, envelope))
    return render_form(
        "admin/organisations.html",
        refused,
        rows=rows,
        values=values or {},
    )


@blueprint.post("/organisations")
@login_required
def add_organisation() -> ResponseReturnValue:
    who = _admin()
    form = FormReader(request.form)
    code = form.text("code", limit=20).upper()
    name = form.text("name", limit=200)
    abn = form.optional_text("abn", limit=20)
    result = attempt(
        lambda s, w: add_partner(s, w, code=code, name=name, abn=abn, now=now()).code, form
    )
    if isinstance(result, Refusal):
        return _organisations_page(who, result, request.form)
    flash(f"Partner {result} added, with its funding envelope org:{result}.", "success")
    return redirect(url_for("admin.organisations"))


def _organisations(session: Session, consortium_id: int) -> list[Organisation]:
    return list(
        session.execute(
            select(Organisation)
            .where(Organisation.consortium_id == consortium_id)
            .order_by(Organisation.kind, Organisation.code)
        ).scalars()
    )


def _organisation_options(session: Session, consortium_id: int) -> list[tuple[int, str]]:
    return [
        (o.id, f"{o.code} · {o.name}") for o in _organisations(session, consortium_id) if o.active
    ]


# --- users and memberships ------------------------------------------------------------------


def _in_scope(consortium_id: int) -> Any:
    """Users who hold a role in the consortium (any dates) or were created in it."""
    members = (
        select(Membership.user_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Organisation.consortium_id == consortium_id)
    )
    created = select(AuditEvent.subject_id).where(
        AuditEvent.consortium_id == consortium_id,
        AuditEvent.action == "user.created",
        AuditEvent.subject_type == "user",
    )
    return or_(User.id.in_(members), User.id.in_(created))


def _users(session: Session, consortium_id: int, *, active_only: bool = False) -> list[User]:
    query = select(User).where(_in_scope(consortium_id))
    if active_only:
        query = query.where(User.active.is_(True))
    return list(session.execute(query.order_by(User.display_name, User.id)).scalars())


def _memberships(
    session: Session, consortium_id: int, user_ids: list[int]
) -> dict[int, list[tuple[Membership, Organisation]]]:
    found: dict[int, list[tuple[Membership, Organisation]]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return found
    rows = session.execute(
        select(Membership, Organisation)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Organisation.consortium_id == consortium_id, Membership.user_id.in_(user_ids))
        .order_by(Organisation.code, Membership.role, Membership.valid_from)
    ).all()
    for membership, organisation in rows:
        found[membership.user_id].append((membership, organisation))
    return found


def _current(membership: Membership, today: date) -> bool:
    return membership.valid_from <= today and (
        membership.valid_to is None or membership.valid_to >= today
    )


@blueprint.get("/users")
@login_required
def users() -> ResponseReturnValue:
    return _users_page(_admin())


def _users_page(
    who: Actor, refused: Refusal | None = None, values: Mapping[str, str] | None = None
) -> ResponseReturnValue:
    session = db_session()
    today = _today(session, who)
    people = _users(session, who.consortium_id)
    memberships = _memberships(session, who.consortium_id, [user.id for user in people])
    return render_form(
        "admin/users.html",
        refused,
        people=people,
        memberships=memberships,
        today=today,
        is_current=_current,
        role_options=[(role, role) for role in ROLES],
        organisation_options=_organisation_options(session, who.consortium_id),
        values=values or {"valid_from": today.isoformat()},
    )


@blueprint.post("/users")
@login_required
def add_user() -> ResponseReturnValue:
    who = _admin()
    form = FormReader(request.form)
    email = form.text("email", limit=254)
    display_name = form.text("display_name", limit=120)
    form.text("password", limit=256)  # required; the service checks its strength
    password = request.form.get("password") or ""
    role_text = form.choice("role", ROLES) if form.raw("role") else ""
    role = Role(role_text) if role_text in ROLES else None
    organisation_id = form.identifier("organisation_id", required=bool(role_text))
    valid_from = form.day("valid_from", required=bool(role_text))
    if organisation_id is not None and role is None:
        form.errors["role"] = "Choose the role to give in that organisation."

    def work(session: Session, w: Actor) -> int:
        at = now()
        user = create_user(
            session, w, email=email, display_name=display_name, password=password, now=at
        )
        if role is not None and organisation_id is not None and valid_from is not None:
            grant_role(
                session,
                w,
                user_id=user.id,
                organisation_id=organisation_id,
                role=role,
                valid_from=valid_from,
                now=at,
            )
        return user.id

    result = attempt(work, form)
    if isinstance(result, Refusal):
        return _users_page(who, result, request.form)
    flash(f"{display_name} can now sign in as {email.strip().lower()}.", "success")
    return redirect(url_for("admin.user", user_id=result))


def _user_in_scope(session: Session, who: Actor, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not belongs_to(session, who.consortium_id, user_id):
        raise NotFoundError("There is no such user.")
    return user


@blueprint.get("/users/<int:user_id>")
@login_required
def user(user_id: int) -> ResponseReturnValue:
    return _user_page(_admin(), user_id)


def _user_page(
    who: Actor,
    user_id: int,
    refused: Refusal | None = None,
    values: Mapping[str, str] | None = None,
) -> ResponseReturnValue:
    session = db_session()
    person = _user_in_scope(session, who, user_id)
    today = _today(session, who)
    names = _names(session, who.consortium_id)
    delegations = session.execute(
        select(Delegation)
        .where(
            Delegation.consortium_id == who.consortium_id,
            or_(Delegation.from_user_id == user_id, Delegation.to_user_id == user_id),
        )
        .order_by(Delegation.starts_on.desc(), Delegation.id.desc())
        .limit(50)
    ).scalars()
    return render_form(
        "admin/user.html",
        refused,
        person=person,
        memberships=_memberships(session, who.consortium_id, [user_id])[user_id],
        today=today,
        is_current=_current,
        delegations=[(d, _delegation_state(d, today)) for d in delegations],
        names=names,
        role_options=[(role, role) for role in ROLES],
        organisation_options=_organisation_options(session, who.consortium_id),
        is_me=user_id == who.user_id,
        values=values or {"valid_from": today.isoformat()},
    )


@blueprint.post("/users/<int:user_id>/roles")
@login_required
def add_role(user_id: int) -> ResponseReturnValue:
    who = _admin()
    _user_in_scope(db_session(), who, user_id)
    form = FormReader(request.form)
    organisation_id = form.identifier("organisation_id")
    role = form.choice("role", ROLES)
    valid_from = form.day("valid_from")
    valid_to = form.day("valid_to", required=False)

    def work(session: Session, w: Actor) -> str:
        membership = grant_role(
            session,
            w,
            user_id=user_id,
            organisation_id=cast(int, organisation_id),  # form.check() saw it was given
            role=Role(role),
            valid_from=cast(date, valid_from),
            valid_to=valid_to,
            now=now(),
        )
        return session.get_one(Organisation, membership.organisation_id).code

    result = attempt(work, form)
    if isinstance(result, Refusal):
        return _user_page(who, user_id, result, request.form)
    flash(f"Role {role} granted in {result} from {valid_from:%d/%m/%Y}.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@blueprint.post("/users/<int:user_id>/active")
@login_required
def user_active(user_id: int) -> ResponseReturnValue:
    who = _admin()
    _user_in_scope(db_session(), who, user_id)
    form = FormReader(request.form)
    active = form.choice("active", ["0", "1"]) == "1"
    result = attempt(
        lambda s, w: set_user_active(s, w, user_id, active, now=now()).display_name, form
    )
    if isinstance(result, Refusal):
        return _user_page(who, user_id, result)
    if active:
        flash(f"{result} is active again and can sign in.", "success")
    else:
        flash(f"{result} is deactivated: they cannot sign in and their sessions ended.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


def _names(session: Session, consortium_id: int) -> dict[int, str]:
    return {u.id: f"{u.display_name} ({u.email})" for u in _users(session, consortium_id)}


# --- categories -----------------------------------------------------------------------------


@blueprint.get("/categories")
@login_required
def categories() -> ResponseReturnValue:
    return _categories_page(_admin())


def _categories_page(
    who: Actor, refused: Refusal | None = None, values: Mapping[str, str] | None = None
) -> ResponseReturnValue:
    rows = (
        db_session()
        .execute(
            select(Category)
            .where(Category.consortium_id == who.consortium_id)
            .order_by(Category.active.desc(), Category.code)
        )
        .scalars()
    )
    return render_form(
        "admin/categories.html",
        refused,
        categories=list(rows),
        values=values or {"tax_code": "GST on Expenses"},
    )


@blueprint.post("/categories")
@login_required
def new_category() -> ResponseReturnValue:
    who = _admin()
    form = FormReader(request.form)
    code = form.text("code", limit=40).lower()
    name = form.text("name", limit=120)
    gl_code = form.text("gl_code", limit=20)
    tax_code = form.text("tax_code", limit=40)
    result = attempt(
        lambda s, w: (
            add_category(
                s, w, code=code, name=name, gl_code=gl_code, tax_code=tax_code, now=now()
            ).code
        ),
        form,
    )
    if isinstance(result, Refusal):
        return _categories_page(who, result, request.form)
    flash(f"Category {result} added (GL {gl_code}).", "success")
    return redirect(url_for("admin.categories"))


@blueprint.post("/categories/<int:category_id>/active")
@login_required
def category_active(category_id: int) -> ResponseReturnValue:
    who = _admin()
    category = db_session().get(Category, category_id)
    if category is None or category.consortium_id != who.consortium_id:
        raise NotFoundError("There is no such category.")
    form = FormReader(request.form)
    active = form.choice("active", ["0", "1"]) == "1"

    def work(session: Session, w: Actor) -> str:
        set_category_active(session, w, category_id, active, now=now())
        return session.get_one(Category, category_id).code

    result = attempt(work, form)
    if isinstance(result, Refusal):
        return _categories_page(who, result)
    state = "back in use" if active else "retired: no new requests can use it"
    flash(f"Category {result} is {state}.", "success")
    return redirect(url_for("admin.categories"))


# --- approval policy ------------------------------------------------------------------------


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


def _published(session: Session, consortium_id: int) -> ApprovalPolicy | None:
    return session.execute(
        select(ApprovalPolicy).where(
            ApprovalPolicy.consortium_id == consortium_id, ApprovalPolicy.status == "published"
        )
    ).scalar()


def _policy_in_scope(session: Session, who: Actor, policy_id: int) -> ApprovalPolicy:
    policy = session.get(ApprovalPolicy, policy_id)
    if policy is None or policy.consortium_id != who.consortium_id:
        raise NotFoundError("There is no such policy.")
    return policy


def _known(session: Session, consortium_id: int) -> dict[str, Any]:
    return {
        "organisations": {o.code for o in _organisations(session, consortium_id)},
        "categories": set(
            session.execute(
                select(Category.code).where(Category.consortium_id == consortium_id)
            ).scalars()
        ),
        "users": {u.id for u in _users(session, consortium_id)},
    }


@blueprint.get("/policy")
@login_required
def policies() -> ResponseReturnValue:
    who = _admin()
    session = db_session()
    start = request.args.get("from", "")
    if start == "default":
        text = rules_to_text(default_rules())
    elif start.isdigit() and len(start) < 19:
        text = rules_to_text(rules_of(session, _policy_in_scope(session, who, int(start)).id))
    else:
        live = _published(session, who.consortium_id)
        text = rules_to_text(rules_of(session, live.id) if live else default_rules())
    return _policies_page(who, text)


def _policies_page(who: Actor, text: str, refused: Refusal | None = None) -> ResponseReturnValue:
    session = db_session()
    live = _published(session, who.consortium_id)
    names = _names(session, who.consortium_id)
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
    who = _admin()
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
    if status == "published":
        flash(f"Policy version {version} is published: new requests follow it.", "success")
    else:
        flash(f"Policy version {version} saved as a draft. Publish it when ready.", "success")
    return redirect(url_for("admin.policy", policy_id=policy_id))


@blueprint.get("/policy/<int:policy_id>")
@login_required
def policy(policy_id: int) -> ResponseReturnValue:
    return _policy_page(_admin(), policy_id)


def _policy_page(who: Actor, policy_id: int, refused: Refusal | None = None) -> ResponseReturnValue:
    session = db_session()
    found = _policy_in_scope(session, who, policy_id)
    rules = rules_of(session, found.id)
    names = _names(session, who.consortium_id)
    return render_form(
        "admin/policy.html",
        refused,
        policy=found,
        rules=describe(rules, names),
        text=rules_to_text(rules),
        problems=check_rules(rules) if found.status == "draft" else [],
        names=names,
    )


@blueprint.post("/policy/<int:policy_id>/publish")
@login_required
def publish_policy(policy_id: int) -> ResponseReturnValue:
    who = _admin()
    _policy_in_scope(db_session(), who, policy_id)
    result = attempt(lambda s, w: publish(s, w, policy_id, now=now()).version)
    if isinstance(result, Refusal):
        return _policy_page(who, policy_id, result)
    flash(f"Policy version {result} is published: new requests follow it.", "success")
    return redirect(url_for("admin.policy", policy_id=policy_id))


# --- delegations ----------------------------------------------------------------------------


def _delegation_state(delegation: Delegation, today: date) -> str:
    if delegation.revoked_at is not None:
        return "revoked"
    if delegation.ends_on < today:
        return "ended"
    if delegation.starts_on > today:
        return "upcoming"
    return "active"


@blueprint.get("/delegations")
@login_required
def delegations() -> ResponseReturnValue:
    return _delegations_page(_admin())


def _delegations_page(
    who: Actor, refused: Refusal | None = None, values: Mapping[str, str] | None = None
) -> ResponseReturnValue:
    session = db_session()
    today = _today(session, who)
    show_all = request.args.get("all") == "1"
    query = select(Delegation).where(Delegation.consortium_id == who.consortium_id)
    if not show_all:
        query = query.where(Delegation.revoked_at.is_(None), Delegation.ends_on >= today)
    rows = session.execute(
        query.order_by(Delegation.starts_on.desc(), Delegation.id.desc()).limit(200)
    ).scalars()
    return render_form(
        "admin/delegations.html",
        refused,
        delegations=[(d, _delegation_state(d, today)) for d in rows],
        names=_names(session, who.consortium_id),
        people_options=[
            (u.id, f"{u.display_name} ({u.email})")
            for u in _users(session, who.consortium_id, active_only=True)
        ],
        show_all=show_all,
        values=values or {"starts_on": today.isoformat()},
    )


@blueprint.post("/delegations")
@login_required
def add_delegation() -> ResponseReturnValue:
    who = _admin()
    form = FormReader(request.form)
    from_user_id = form.identifier("from_user_id")
    to_user_id = form.identifier("to_user_id")
    starts_on = form.day("starts_on")
    ends_on = form.day("ends_on")
    session = db_session()
    for name, value in (("from_user_id", from_user_id), ("to_user_id", to_user_id)):
        if value is not None and not belongs_to(session, who.consortium_id, value):
            form.errors[name] = "Choose one from the list."

    def work(s: Session, w: Actor) -> int:
        return delegate(  # form.check() has seen every field given
            s,
            w,
            from_user_id=cast(int, from_user_id),
            to_user_id=cast(int, to_user_id),
            starts_on=cast(date, starts_on),
            ends_on=cast(date, ends_on),
            now=now(),
        ).id

    result = attempt(work, form)
    if isinstance(result, Refusal):
        return _delegations_page(who, result, request.form)
    flash("Delegation arranged: decisions will record who acted on whose behalf.", "success")
    return redirect(url_for("admin.delegations"))


@blueprint.post("/delegations/<int:delegation_id>/revoke")
@login_required
def revoke_delegation(delegation_id: int) -> ResponseReturnValue:
    who = _admin()
    found = db_session().get(Delegation, delegation_id)
    if found is None or found.consortium_id != who.consortium_id:
        raise NotFoundError("There is no such delegation.")
    if found.revoked_at is not None:  # revoking again would overwrite when it was revoked
        flash("That delegation was already revoked.", "info")
        return redirect(url_for("admin.delegations", all=1))
    result = attempt(lambda s, w: revoke(s, w, delegation_id, now=now()))
    if isinstance(result, Refusal):
        return _delegations_page(who, result)
    flash("Delegation revoked.", "success")
    return redirect(url_for("admin.delegations"))
