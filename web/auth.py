"""Signing in and out, the signed-in person as an :class:`Actor`, and units of work as them.

The session cookie carries ``user:consortium:stamp`` where the stamp is derived from the password
hash and the user's session epoch, which sign-out and a password change raise: either ends every
session of that person (a cookie copied before sign-out included); an admin deactivating the
account ends them too. Every password presented is throttled per account and per address in the
database (``web.security.password_attempt``), and the answer never says which half was wrong.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TypeVar

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from sqlalchemy.orm import Session
from werkzeug.exceptions import TooManyRequests

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.consortium.people import authenticate, change_password, consortium_of, end_sessions
from approvals.consortium.throttle import forget_attempt
from approvals.errors import InvalidInputError
from approvals.models import User
from ledger.db import run_in_transaction
from web.clock import now
from web.redirects import safe_next
from web.security import password_attempt, remote_address
from web.session import as_actor, db_session, session_factory

T = TypeVar("T")
blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"


@dataclass
class SignedIn(UserMixin):  # type: ignore[misc]
    user_id: int
    consortium_id: int
    email: str
    display_name: str
    stamp: str

    def get_id(self) -> str:
        return f"{self.user_id}:{self.consortium_id}:{self.stamp}"


def _stamp(user: User) -> str:
    seed = f"{user.session_epoch}:{user.password_hash}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


@login_manager.user_loader
def _load(identity: str) -> SignedIn | None:
    try:
        user_id, consortium_id, stamp = identity.split(":")
        user = db_session().get(User, int(user_id))
    except ValueError:
        return None
    if user is None or not user.active or _stamp(user) != stamp:
        return None
    g.signed_in_row = user  # see _hold
    return SignedIn(user.id, int(consortium_id), user.email, user.display_name, stamp)


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    error = None
    email = ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()[:254]
        password = (request.form.get("password") or "")[:1024]

        def check(session: Session, attempt: int) -> SignedIn | None:
            user = authenticate(session, email=email, password=password)
            consortium_id = consortium_of(session, user.id) if user else None
            if user is None or consortium_id is None:
                return None
            forget_attempt(session, attempt)
            audit.record(
                session,
                consortium_id=consortium_id,
                actor_id=user.id,
                action="user.signed_in",
                subject_type="user",
                subject_id=user.id,
                now=now(),
                address=remote_address(),
            )
            return SignedIn(user.id, consortium_id, user.email, user.display_name, _stamp(user))

        factory = session_factory(current_app)
        try:
            signed_in = password_attempt(
                email,
                lambda attempt: run_in_transaction(factory, lambda s: check(s, attempt)),
                now=now(),
            )
        except TooManyRequests as refused:  # the form again, saying how long to wait
            error = f"Too many sign-in attempts. {_minutes(refused.retry_after)}"
            page = render_template("auth/login.html", error=error, email=email)
            return page, 429, {"Retry-After": str(refused.retry_after)}
        if signed_in is not None:
            login_user(signed_in)
            return redirect(safe_next(request.args.get("next"), url_for("home.index")))
        error = "That e-mail and password do not match an active account."
    return render_template("auth/login.html", error=error, email=email), (401 if error else 200)


def _minutes(seconds: object) -> str:
    minutes = max(1, -(-int(seconds) // 60)) if isinstance(seconds, int) else 1
    return f"Try again in {minutes} minute{'s' if minutes > 1 else ''}."


@blueprint.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """Ends every session of this person, not only this browser's: a copied cookie dies too."""
    user_id = current_user.user_id
    run_in_transaction(
        session_factory(current_app), lambda s: end_sessions(s, s.get_one(User, user_id))
    )
    logout_user()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/account/password", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    if request.method == "POST":
        current = request.form.get("current") or ""
        new = request.form.get("new") or ""
        if new != (request.form.get("confirm") or ""):
            errors["confirm"] = "The two new passwords differ."
        else:
            try:
                stamp = password_attempt(
                    current_user.email, lambda attempt: _change(attempt, current, new), now=now()
                )
            except InvalidInputError as error:
                errors = error.fields or {"new": error.message}
            else:
                login_user(
                    SignedIn(
                        current_user.user_id,
                        current_user.consortium_id,
                        current_user.email,
                        current_user.display_name,
                        stamp,
                    )
                )
                flash("Your password has changed. Other sessions have been signed out.", "success")
                return redirect(url_for("home.index"))
    return render_template("auth/password.html", errors=errors), (422 if errors else 200)


def _change(attempt: int, current: str, new: str) -> str:
    """Change the password (one throttled attempt at the current one); the new session stamp."""

    def work(session: Session, who: Actor) -> str:
        user = session.get_one(User, who.user_id)
        change_password(session, user, current=current, new=new, now=now())
        forget_attempt(session, attempt)
        return _stamp(user)

    try:
        return as_actor(work)
    except InvalidInputError as error:
        if "current" not in error.fields:  # the current password was right: not a failure
            factory = session_factory(current_app)
            run_in_transaction(factory, lambda s: forget_attempt(s, attempt))
        raise


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
