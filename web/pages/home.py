"""``/``: send each person to their own home, and give every template what the layout needs."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, g, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import func, select

from approvals.consortium.actors import Actor
from approvals.errors import ApprovalError
from approvals.lifecycle.requests import request_label
from approvals.models import Consortium, Notification, Role
from approvals.models.people import APPROVING, FINANCE
from approvals.zone import zone_of
from ledger.money import format_cents
from web.session import actor, db_session

blueprint = Blueprint("home", __name__)

# (endpoint, label, roles that may open it, whether the role must be held at the lead agency)
AREAS: list[tuple[str, str, tuple[Role, ...], bool]] = [
    ("sf.home", "My clients", (Role.SF,), False),
    ("inbox.home", "Approvals", APPROVING, False),
    ("pm.home", "Program", (Role.PM,), True),
    ("finance.home", "Finance", FINANCE, True),
    ("admin.home", "Admin", (Role.ADMIN,), True),
    ("auditor.home", "Audit", (Role.AUDITOR, Role.FIN_MGR), True),
    # Last: a person's first area is their home, and the auditor's is the audit.
    ("bank.home", "Bank", (*FINANCE, Role.AUDITOR), True),
]


def areas_of(who: Actor) -> list[tuple[str, str]]:
    return [
        (endpoint, label)
        for endpoint, label, roles, lead in AREAS
        if any(who.has_lead(role) if lead else who.has(role) for role in roles)
    ]


@blueprint.get("/")
@login_required
def index() -> ResponseReturnValue:
    mine = areas_of(actor())
    if not mine:
        return redirect(url_for("notifications.home"))
    return redirect(url_for(mine[0][0]))


def _layout() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {"areas": [], "unread": 0}
    try:
        who = actor()
    except ApprovalError:  # e.g. the consortium went away: the page itself will say so
        return {"areas": [], "unread": 0}
    session = db_session()
    unread = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == who.user_id, Notification.read_at.is_(None))
    )
    consortium = session.get_one(Consortium, who.consortium_id)
    return {"areas": areas_of(who), "unread": unread or 0, "consortium": consortium}


def _local(value: Any, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if value is None:
        return ""
    if hasattr(value, "astimezone") and getattr(value, "tzinfo", None) is not None:
        value = value.astimezone(_zone())
    return str(value.strftime(fmt))


def _zone() -> ZoneInfo:
    """The reader's consortium's zone, once per request (a page shows hundreds of times)."""
    if "zone" not in g:
        name = "Australia/Sydney"
        if current_user.is_authenticated:
            name = db_session().get_one(Consortium, current_user.consortium_id).timezone
        g.zone = zone_of(name)
    zone: ZoneInfo = g.zone
    return zone


def init_app(app: Flask) -> None:
    app.context_processor(_layout)
    app.add_template_filter(format_cents, "money")
    app.add_template_filter(request_label, "request_label")
    app.add_template_filter(_local, "local")
    app.add_template_filter(lambda d: d.strftime("%d/%m/%Y") if d else "", "day")
