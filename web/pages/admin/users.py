"""Users and their dated roles: create a person, grant a role, deactivate and reactivate."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import cast

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.consortium.people import belongs_to, create_user, grant_role, set_user_active
from approvals.errors import NotFoundError
from approvals.models import (
    Delegation,
    Membership,
    Organisation,
    Role,
    User,
)
from web.clock import now
from web.forms import FormReader
from web.pages.admin.blueprint import blueprint
from web.pages.admin.scope import (
    ROLES,
    delegation_state,
    local_day,
    names_of,
    organisation_options,
    require_admin,
    users_of,
)
from web.refusals import Refusal, attempt, render_form
from web.session import db_session


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
    return _users_page(require_admin())


def _users_page(
    who: Actor, refused: Refusal | None = None, values: Mapping[str, str] | None = None
) -> ResponseReturnValue:
    session = db_session()
    today = local_day(session, who)
    people = users_of(session, who.consortium_id)
    memberships = _memberships(session, who.consortium_id, [user.id for user in people])
    return render_form(
        "admin/users.html",
        refused,
        people=people,
        memberships=memberships,
        today=today,
        is_current=_current,
        role_options=[(role, role) for role in ROLES],
        organisation_options=organisation_options(session, who.consortium_id),
        values=values or {"valid_from": today.isoformat()},
    )


@blueprint.post("/users")
@login_required
def add_user() -> ResponseReturnValue:
    who = require_admin()
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
    return _user_page(require_admin(), user_id)


def _user_page(
    who: Actor,
    user_id: int,
    refused: Refusal | None = None,
    values: Mapping[str, str] | None = None,
) -> ResponseReturnValue:
    session = db_session()
    person = _user_in_scope(session, who, user_id)
    today = local_day(session, who)
    names = names_of(session, who.consortium_id)
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
        delegations=[(d, delegation_state(d, today)) for d in delegations],
        names=names,
        role_options=[(role, role) for role in ROLES],
        organisation_options=organisation_options(session, who.consortium_id),
        is_me=user_id == who.user_id,
        values=values or {"valid_from": today.isoformat()},
    )


@blueprint.post("/users/<int:user_id>/roles")
@login_required
def add_role(user_id: int) -> ResponseReturnValue:
    who = require_admin()
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
    who = require_admin()
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
