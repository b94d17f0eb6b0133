"""The admin overview: counts of what the consortium holds, the live policy, scheduled jobs."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.models import Category, Consortium, Delegation, Organisation, User
from reports.jobs.status import job_status
from web.pages.admin.blueprint import blueprint
from web.pages.admin.scope import in_scope, local_day, published, require_admin
from web.session import db_session


@blueprint.get("/")
@login_required
def home() -> ResponseReturnValue:
    who = require_admin()
    session = db_session()
    policy = published(session, who.consortium_id)
    counts = {
        "organisations": _count(
            session, select(Organisation.id).where(Organisation.consortium_id == who.consortium_id)
        ),
        "users": _count(session, select(User.id).where(in_scope(who.consortium_id))),
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
                Delegation.ends_on >= local_day(session, who),
            ),
        ),
    }
    code = session.get_one(Consortium, who.consortium_id).code
    jobs = job_status(session, who.consortium_id, code)
    return render_template("admin/home.html", counts=counts, policy=policy, jobs=jobs)


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
