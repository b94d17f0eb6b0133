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
from dataclasses import dataclass
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.actors import Actor
from approvals.errors import NotFoundError
from approvals.fiscal import Period, financial_year
from approvals.funds import allocate as allocate_funds
from approvals.funds import move_between_envelopes
from approvals.models import (
    ApprovalPolicy,
    Category,
    Consortium,
    Organisation,
    OrgKind,
    Role,
    User,
)
from approvals.policies import published_policy
from approvals.policy_words import describe
from approvals.queries import names_by_label
from approvals.setup import envelope_account
from approvals.spend import Spend, net_spend
from ledger.models import accounts, books, transactions, transfers
from ledger.money import format_cents
from ledger.queries import get_balances, totals
from ledger.values import AccountType, Balance, Posted
from web import charts, db_session
from web.auth import actor, local_today, now
from web.forms import FormReader
from web.refusals import Refusal, attempt, render_form

blueprint = Blueprint("pm", __name__, url_prefix="/pm")
POOL = "pool"
RECENT = 20


def _pm() -> Actor:
    who = actor()
    who.require_lead(Role.PM, doing="open the program pages")
    return who


@dataclass(frozen=True)
class Envelope:
    code: str  # the organisation's code, or "" for the pool itself
    name: str
    account: str
    balance: Balance


def _book(session: Session, who: Actor) -> str:
    return session.get_one(Consortium, who.consortium_id).code


def _partners(session: Session, who: Actor) -> list[Organisation]:
    return list(
        session.execute(
            select(Organisation)
            .where(
                Organisation.consortium_id == who.consortium_id,
                Organisation.kind == OrgKind.PARTNER.value,
            )
            .order_by(Organisation.code)
        ).scalars()
    )


def envelopes(
    session: Session, who: Actor, partners: list[Organisation] | None = None
) -> tuple[Envelope, list[Envelope]]:
    """The pool and every partner's envelope, straight from the ledger's counters."""
    partners = _partners(session, who) if partners is None else partners
    codes = {org.code: envelope_account(org.code) for org in partners}
    balances = get_balances(session, _book(session, who), [POOL, *codes.values()])
    pool = Envelope("", "Unallocated pool", POOL, balances[POOL])
    found = [
        Envelope(org.code, org.name, codes[org.code], balances[codes[org.code]]) for org in partners
    ]
    return pool, found


@dataclass(frozen=True)
class PoolUse:
    year: Period
    today: date
    spent: int  # this financial year, net of refunds
    held: int  # reserved for approved requests not yet paid
    unspent: int  # every fund account's posted balance now (pool, envelopes, clients)

    @property
    def total(self) -> int:
        """What the year has had to spend: what it spent plus what is still there."""
        return self.spent + self.unspent

    @property
    def elapsed_percent(self) -> float:
        days = (self.year.end - self.year.start).days + 1
        return 100.0 * ((self.today - self.year.start).days + 1) / days

    @property
    def spent_percent(self) -> float:
        return 100.0 * self.spent / self.total if self.total > 0 else 0.0

    @property
    def committed_percent(self) -> float:
        return 100.0 * (self.spent + self.held) / self.total if self.total > 0 else 0.0


def pool_use(
    session: Session, who: Actor, found: list[Envelope] | None = None
) -> tuple[PoolUse, Spend]:
    """The year's use of the pool; ``found`` saves reading the envelopes twice on the home."""
    today = local_today(session, who.consortium_id)
    year = financial_year(today)
    spent = net_spend(session, who.consortium_id, year)
    unspent = totals(session, _book(session, who), AccountType.FUND).balance(AccountType.FUND)
    if found is None:
        _pool, found = envelopes(session, who)
    held = sum(envelope.balance.held_out for envelope in found)
    return PoolUse(year, today, spent.total, held, unspent), spent


@dataclass(frozen=True)
class Movement:
    on: date
    source: str
    target: str
    amount: int
    memo: str
    kind: str
    by: str


def recent_movements(
    session: Session,
    who: Actor,
    limit: int = RECENT,
    partners: list[Organisation] | None = None,
) -> list[Movement]:
    """Allocations, moves between envelopes and their reversals, newest first."""
    partners = _partners(session, who) if partners is None else partners
    names = {envelope_account(org.code): org.code for org in partners}
    names[POOL] = "Pool"
    # The fund accounts first (a unique-index seek), then their transfers: a five-way join
    # cost more to plan than to run, on every view of the home.
    funds = dict(
        session.execute(
            select(accounts.c.id, accounts.c.code)
            .join(books, books.c.id == accounts.c.book_id)
            .where(books.c.code == _book(session, who), accounts.c.code.in_(names))
        ).all()
    )
    rows = session.execute(
        select(
            transactions.c.effective_date,
            transactions.c.memo,
            transactions.c.actor,
            transfers.c.amount,
            transfers.c.kind,
            transfers.c.debit_account_id,
            transfers.c.credit_account_id,
        )
        .join(transactions, transactions.c.id == transfers.c.transaction_id)
        .where(
            transfers.c.debit_account_id.in_(funds),
            transfers.c.credit_account_id.in_(funds),
            transfers.c.phase == "single",
            transfers.c.kind.in_(("allocation", "reversal")),
        )
        .order_by(transfers.c.id.desc())
        .limit(limit)
    ).all()
    people = names_by_label(session, {row.actor for row in rows})
    return [
        Movement(
            row.effective_date,
            names[funds[row.debit_account_id]],
            names[funds[row.credit_account_id]],
            row.amount,
            row.memo,
            row.kind,
            people.get(row.actor, row.actor),
        )
        for row in rows
    ]


@blueprint.get("/")
@login_required
def home() -> ResponseReturnValue:
    who = _pm()
    session = db_session()
    partners = _partners(session, who)
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
    codes = [org.code for org in _partners(session, who) if org.active]
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
