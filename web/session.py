"""The request's sessions and the signed-in person: what pages, the API and sign-in share.

Its own module, apart from the app factory (``web/__init__.py``) and sign-in (``web/auth.py``),
so that ``web/`` has no import cycle: pages and the API import from here and from
``web.clock``, never from the package or from each other (docs/architecture.md#the-web-layer).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context
from flask_login import current_user
from sqlalchemy.orm import Session, sessionmaker

from approvals import zone
from approvals.consortium.actors import Actor, load_actor
from approvals.errors import NotAllowedError
from approvals.models import Consortium
from ledger.db import run_in_transaction
from web.clock import now
from web.mail import send_soon

T = TypeVar("T")


def session_factory(app: Flask) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.extensions["flexpool.sessions"]
    return factory


def db_session() -> Session:
    """The request's reading session, closed when the request ends; writes use ``as_actor``."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["flexpool.reads"]()
    session: Session = g.db_session
    return session


def close_session(_error: Any = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def local_today(session: Session, consortium_id: int, at: datetime | None = None) -> date:
    """Today (or ``at``'s day) in the consortium's zone, by the app's clock."""
    return zone.local_today(_hold(session.get_one(Consortium, consortium_id)), at or now())


def _hold(row: Consortium) -> Consortium:
    """Keep the row referenced for the rest of the request.

    The session's identity map holds rows weakly: without a reference, the layout, the date
    filters and the services each fetched the consortium (and the user) again, a query apiece."""
    if has_request_context():
        g.consortium_row = row
    return row


def actor() -> Actor:
    """The signed-in person with their roles today, loaded once per request."""
    if "actor" not in g:
        if not current_user.is_authenticated:
            raise NotAllowedError("Please sign in.")
        session = db_session()
        g.actor = load_actor(
            session,
            user_id=current_user.user_id,
            consortium_id=current_user.consortium_id,
            today=local_today(session, current_user.consortium_id),
        )
    found: Actor = g.actor
    return found


def as_actor(work: Callable[[Session, Actor], T], *, user_id: int | None = None) -> T:
    """One committed unit of work as the signed-in person (or ``user_id``, for API tokens)."""
    who = actor()

    def unit(session: Session) -> T:
        fresh = load_actor(
            session,
            user_id=user_id or who.user_id,
            consortium_id=who.consortium_id,
            today=local_today(session, who.consortium_id),
        )
        return work(session, fresh)

    factory = session_factory(current_app)
    result = run_in_transaction(factory, unit)
    send_soon(factory, current_app.config["FLEXPOOL"])  # whatever this change notified
    return result
