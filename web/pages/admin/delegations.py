"""Delegations: one person decides on another's behalf for a span of days, until revoked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import cast

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.consortium.people import belongs_to
from approvals.errors import NotFoundError
from approvals.models import (
    Delegation,
)
from approvals.policy.delegations import delegate, revoke
from web.clock import now
from web.forms import FormReader
from web.pages.admin.blueprint import blueprint
from web.pages.admin.scope import delegation_state, local_day, names_of, require_admin, users_of
from web.refusals import Refusal, attempt, render_form
from web.session import db_session


@blueprint.get("/delegations")
@login_required
def delegations() -> ResponseReturnValue:
    return _delegations_page(require_admin())


def _delegations_page(
    who: Actor, refused: Refusal | None = None, values: Mapping[str, str] | None = None
) -> ResponseReturnValue:
    session = db_session()
    today = local_day(session, who)
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
        delegations=[(d, delegation_state(d, today)) for d in rows],
        names=names_of(session, who.consortium_id),
        people_options=[
            (u.id, f"{u.display_name} ({u.email})")
            for u in users_of(session, who.consortium_id, active_only=True)
        ],
        show_all=show_all,
        values=values or {"starts_on": today.isoformat()},
    )


@blueprint.post("/delegations")
@login_required
def add_delegation() -> ResponseReturnValue:
    who = require_admin()
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
    who = require_admin()
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
