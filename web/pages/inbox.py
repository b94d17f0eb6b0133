"""The approver's inbox: what waits for my decision, with the money and the client's story.

TLs, the PM, finance managers and the CEO decide steps; delegates see their principals' work.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select

from approvals.lifecycle.queries import availabilities, awaiting, names
from approvals.models import Client, Decision, FundRequest, Role
from web.session import actor, db_session, local_today

blueprint = Blueprint("inbox", __name__, url_prefix="/approvals")
APPROVERS = (Role.TL, Role.PM, Role.FIN_MGR, Role.CEO)


@blueprint.get("/")
@login_required
def home() -> ResponseReturnValue:
    who = actor()
    who.require(*APPROVERS, doing="decide requests")
    session = db_session()
    waiting = awaiting(session, who, local_today(session, who.consortium_id))
    codes: dict[int, str] = {}
    if waiting:
        rows = session.execute(
            select(Client.id, Client.code).where(Client.id.in_({r.client_id for r in waiting}))
        )
        codes = {client_id: code for client_id, code in rows}
    panels = availabilities(session, waiting)
    decided = session.execute(
        select(FundRequest.id, FundRequest.number, FundRequest.state, Decision.action, Decision.at)
        .join(Decision, Decision.request_id == FundRequest.id)
        .where(Decision.actor_id == who.user_id)
        .order_by(Decision.id.desc())
        .limit(15)
    ).all()
    return render_template(
        "inbox/home.html",
        waiting=[(r, panels[r.id]) for r in waiting],
        codes=codes,
        decided=decided,
        people=names(session, {r.requester_id for r in waiting}),
    )
