"""The in-app inbox: what waits for me and what changed on my requests
(docs/approvals.md#notifications)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.models import Notification
from web.clock import now
from web.session import actor, as_actor, db_session

blueprint = Blueprint("notifications", __name__, url_prefix="/inbox")
PAGE = 50


@blueprint.get("/")
@login_required
def home() -> ResponseReturnValue:
    who = actor()
    before = request.args.get("before", type=int)
    query = select(Notification).where(Notification.user_id == who.user_id)
    if before:
        query = query.where(Notification.id < before)
    rows = db_session().execute(query.order_by(Notification.id.desc()).limit(PAGE + 1)).scalars()
    items = list(rows)
    more = items[PAGE - 1].id if len(items) > PAGE else None
    return render_template("notifications.html", items=items[:PAGE], more=more)


@blueprint.post("/read")
@login_required
def mark_read() -> ResponseReturnValue:
    def work(session: Session, who: Actor) -> None:
        session.execute(
            update(Notification)
            .where(Notification.user_id == who.user_id, Notification.read_at.is_(None))
            .values(read_at=now())
        )

    as_actor(work)
    return redirect(url_for("notifications.home"))
