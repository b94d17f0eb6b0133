"""``/pm``: the Program Manager's view of the pool and the partner envelopes.

The home shows what each envelope holds (posted, held for approved requests, available), the
recent allocations and moves, and three charts (pool use against the financial year, spend by
category and by NGO), each with a table of the same figures. PM allocates the pool to envelopes,
moves funds between envelopes, and reads the published approval policy. Only the lead agency's
PM opens any of it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.errors import NotFoundError
from approvals.funds import allocate as allocate_funds
from approvals.funds import move_between_envelopes
from approvals.models import (
    ApprovalPolicy,
    Category,
    Role,
    User,
)
from approvals.policy.versions import published_policy
from approvals.policy.words import describe
from ledger.money import format_cents
from ledger.values import Posted
from web import charts
from web.clock import now
from web.forms import FormReader
from web.pages.pm_figures import envelopes, partners_of, pool_use, recent_movements
from web.refusals import Refusal, attempt, render_form
from web.session import actor, db_session, local_today

blueprint = Blueprint("pm", __name__, url_prefix="/pm")


def _pm() -> Actor:
    who = actor()
    who.require_lead(Role.PM, doing="open the program pages")
    return who


@blueprint.get("/")
@login_required
def home() -> ResponseReturnValue:
    who = _pm()
    session = db_session()
    partners = partners_of(session, who)
    pool, found = envelopes(session, who, partners)
    use, spent = pool_use(session, who, found)
    return render_template(
        "pm/home.html",
        pool=pool,
        envelopes=found,
        totals={
            "posted": sum(e.balance.posted for e in found),
            "held": sum(e.balance.held_out for e in found),
            "available": sum(e.balance.available for e in found),
        },
        use=use,
        spend=spent,
        movements=recent_movements(session, who, partners=partners),
    )


@blueprint.get("/charts/pool-use.svg")
@login_required
def chart_pool_use() -> ResponseReturnValue:
    who = _pm()
    use, _spent = pool_use(db_session(), who)
    return charts.svg_response(
        charts.pool_use_chart(
            f"Pool use against {use.year.label} elapsed",
            elapsed_percent=use.elapsed_percent,
            spent_percent=use.spent_percent,
            committed_percent=use.committed_percent,
        )
    )


@blueprint.get("/charts/spend-by-category.svg")
@login_required
def chart_by_category() -> ResponseReturnValue:
    who = _pm()
    use, spent = pool_use(db_session(), who)
    return charts.svg_response(
        charts.money_bars(
            f"Spend by category, {use.year.label}", spent.by_category, series="Net spend"
        )
    )


@blueprint.get("/charts/spend-by-ngo.svg")
@login_required
def chart_by_ngo() -> ResponseReturnValue:
    who = _pm()
    use, spent = pool_use(db_session(), who)
    return charts.svg_response(
        charts.money_bars(
            f"Spend by NGO, {use.year.label}", spent.by_organisation, series="Net spend"
        )
    )


Work = Callable[[Session, Actor], Posted]


def _write_form(
    template: str, read: Callable[[FormReader, list[str]], tuple[Work, str]]
) -> ResponseReturnValue:
    """GET shows the form; POST reads it, posts one ledger entry, and redirects home.

    ``read`` takes every field (collecting the bad ones) and returns the unit of work with the
    message to flash once it is done. A hidden key makes a double submit post only once.
    """
    who = _pm()
    session = db_session()
    codes = [org.code for org in partners_of(session, who) if org.active]
    refused: Refusal | None = None
    values: dict[str, str] = {
        "on": local_today(session, who.consortium_id).isoformat(),
        "key": secrets.token_urlsafe(18),
    }
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in request.form if name != "csrf_token"}
        form = FormReader(request.form)
        work, done = read(form, codes)
        posted = attempt(work, form)
        if isinstance(posted, Refusal):
            refused = posted
        else:
            if posted.replayed:
                flash("That was already recorded; nothing was posted twice.", "info")
            else:
                flash(done, "success")
            return redirect(url_for("pm.home"))
    pool, found = envelopes(session, who)
    shown = [e for e in found if e.code in codes]
    return render_form(
        template,
        refused,
        values=values,
        pool=pool,
        envelopes=shown,
        options=[(e.code, f"{e.code} – {e.name}") for e in shown],
    )


def _key(form: FormReader) -> str | None:
    token = form.optional_text("key", limit=40)
    return f"web:{actor().user_id}:{token}" if token else None


@blueprint.route("/allocate", methods=["GET", "POST"])
@login_required
def allocate() -> ResponseReturnValue:
    def read(form: FormReader, codes: list[str]) -> tuple[Work, str]:
        organisation = form.choice("organisation", codes)
        amount = form.money("amount", allow_zero=False)
        on = form.day("on")
        memo = form.text("memo", limit=300)
        key = _key(form)

        def work(session: Session, who: Actor) -> Posted:
            assert on is not None  # noqa: S101 - form.check() refused a missing date
            return allocate_funds(
                session,
                who,
                organisation=organisation,
                amount_cents=amount,
                on=on,
                memo=memo,
                key=key,
                now=now(),
            )

        return work, f"Allocated {format_cents(amount)} from the pool to {organisation}."

    return _write_form("pm/allocate.html", read)


@blueprint.route("/move", methods=["GET", "POST"])
@login_required
def move() -> ResponseReturnValue:
    def read(form: FormReader, codes: list[str]) -> tuple[Work, str]:
        source = form.choice("source", codes)
        target = form.choice("target", codes)
        if source and source == target and "target" not in form.errors:
            form.errors["target"] = "Not the same as the source."
        amount = form.money("amount", allow_zero=False)
        on = form.day("on")
        memo = form.text("memo", limit=300)
        key = _key(form)

        def work(session: Session, who: Actor) -> Posted:
            assert on is not None  # noqa: S101 - form.check() refused a missing date
            return move_between_envelopes(
                session,
                who,
                source=source,
                target=target,
                amount_cents=amount,
                on=on,
                memo=memo,
                key=key,
                now=now(),
            )

        return work, f"Moved {format_cents(amount)} from {source} to {target}."

    return _write_form("pm/move.html", read)


@blueprint.get("/policy")
@login_required
def policy() -> ResponseReturnValue:
    who = _pm()
    session = db_session()
    try:
        found, rules = published_policy(session, who.consortium_id)
    except NotFoundError as error:
        return render_template(
            "pm/policy.html", policy=None, message=error.message, rules=[], categories=[]
        )
    ids = {
        int(spec[5:])
        for rule in rules
        for step in rule.steps
        for spec in (*step.approvers, step.escalate_to or "")
        if spec.startswith("user:") and spec[5:].isdigit()
    }
    people = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
    published_by = (
        session.get(User, found.published_by_id) if found.published_by_id is not None else None
    )
    category_names = dict(
        session.execute(
            select(Category.code, Category.name).where(Category.consortium_id == who.consortium_id)
        ).all()
    )
    categories = [
        [category_names.get(code, code) for code in sorted(rule.category_codes or ())]
        for rule in rules
    ]
    versions = session.execute(
        select(func.count())
        .select_from(ApprovalPolicy)
        .where(ApprovalPolicy.consortium_id == who.consortium_id)
    ).scalar_one()
    return render_template(
        "pm/policy.html",
        policy=found,
        published_by=published_by.display_name if published_by else None,
        rules=describe(rules, people),
        categories=categories,
        versions=versions,
        message=None,
    )
