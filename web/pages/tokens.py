"""Personal API tokens: list mine, make one with a name and an expiry (its secret shown once),
revoke one. The services are ``approvals.consortium.tokens``; only the secret's hash is ever stored.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy.orm import Session

from approvals.consortium import tokens
from approvals.consortium.actors import Actor
from approvals.errors import InvalidInputError
from approvals.models import Consortium, TokenKind
from approvals.zone import local_midnight
from web.clock import now
from web.session import actor, as_actor, db_session, local_today

blueprint = Blueprint("tokens", __name__, url_prefix="/account/tokens")
DEFAULT_DAYS = 90


def _end_of(day: date, zone: str) -> datetime:
    """The end of a local day, as the moment the next one starts."""
    return local_midnight(zone, day + timedelta(days=1))


def _page(errors: dict[str, str], form: dict[str, str], secret: str | None = None) -> str:
    who = actor()
    session = db_session()
    today = local_today(session, who.consortium_id)
    return render_template(
        "tokens/home.html",
        tokens=tokens.tokens_of(session, who),
        login_kind=TokenKind.LOGIN.value,  # marked as made by the API's sign-in
        errors=errors,
        form=form,
        secret=secret,
        now=now(),
        min_day=(today + timedelta(days=1)).isoformat(),
        max_day=(today + timedelta(days=tokens.MAX_PERSONAL_DAYS - 1)).isoformat(),
        default_day=(today + timedelta(days=DEFAULT_DAYS)).isoformat(),
    )


@blueprint.get("/")
@login_required
def home() -> ResponseReturnValue:
    return _page({}, {})


@blueprint.post("/")
@login_required
def create() -> ResponseReturnValue:
    form = {
        "name": (request.form.get("name") or "").strip()[:200],
        "expires_on": (request.form.get("expires_on") or "").strip()[:20],
    }
    try:
        expires_on = date.fromisoformat(form["expires_on"])
    except ValueError:
        return _page({"expires_on": "Choose the day it stops working."}, form), 422

    def work(session: Session, who: Actor) -> str:
        zone = session.get_one(Consortium, who.consortium_id).timezone
        _, secret = tokens.create_token(
            session, who, name=form["name"], expires_at=_end_of(expires_on, zone), now=now()
        )
        return secret

    try:
        secret = as_actor(work)
    except InvalidInputError as error:
        return _page(error.fields or {"name": error.message}, form), 422
    return _page({}, {}, secret=secret), 201


@blueprint.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> ResponseReturnValue:
    as_actor(lambda session, who: tokens.revoke_token(session, who, token_id, now=now()))
    flash("The token is revoked: it no longer works.", "success")
    return redirect(url_for("tokens.home"))
