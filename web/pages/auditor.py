"""The auditor's area: the consortium's ledger, its audit log, and both chains verified.

Read-only, for the lead agency's AUDITOR and FIN_MGR. Clients appear by code and initials only;
opening a client's ledger account reads the client record, and that read is itself audited.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.audit import verify_trail
from approvals.consortium.actors import Actor
from approvals.consortium.clients import get_client
from approvals.models import AuditEvent, AuditHead, Client, Consortium, Role, User
from ledger.models import accounts, books
from ledger.queries import (
    balance_as_of,
    balance_of,
    find_account,
    get_balance,
    list_entries,
    net_as_of,
    totals,
)
from ledger.values import AccountType, normal
from ledger.verify import summarize
from reports import anchors
from reports.integrity import verify_consortium
from web.clock import now
from web.forms import FormReader
from web.session import actor, as_actor, db_session, local_today

blueprint = Blueprint("auditor", __name__, url_prefix="/audit")
PAGE = 50
GROUPS = {
    "all": "All accounts",
    "lead": "Bank, GST and pool",
    "org": "Partner envelopes",
    "client": "Client accounts",
}
MAX_FILTER = 60


def _reader() -> Actor:
    who = actor()
    who.require_lead(Role.AUDITOR, Role.FIN_MGR, doing="use the audit pages")
    return who


def _book(session: Session, who: Actor) -> str:
    """The consortium's ledger book (its code is the consortium's)."""
    return session.get_one(Consortium, who.consortium_id).code


@blueprint.get("/")
@login_required
def home() -> ResponseReturnValue:
    who = _reader()
    session = db_session()
    book = _book(session, who)
    summed = totals(session, book)
    head = session.get(AuditHead, who.consortium_id)
    ledger_head = session.execute(
        select(books.c.last_sequence, books.c.closed_through).where(books.c.code == book)
    ).one()
    return render_template(
        "auditor/home.html",
        book=book,
        accounts=summed.accounts,
        debits=summed.debits,
        credits=summed.credits,
        transactions=ledger_head.last_sequence,
        closed_through=ledger_head.closed_through,
        events=head.last_sequence if head else 0,
    )


# --- the ledger -----------------------------------------------------------------------------


def _as_of(form: FormReader) -> date | None:
    return form.day("as_of", required=False)


@blueprint.get("/ledger")
@login_required
def ledger() -> ResponseReturnValue:
    who = _reader()
    session = db_session()
    book = _book(session, who)
    form = FormReader(request.args)
    as_of = _as_of(form)
    group = request.args.get("group", "all")
    if group not in GROUPS:
        form.errors["group"] = "Choose one from the list."
        group = "all"
    after = form.raw("after")[:120]
    query = (
        select(
            accounts.c.id,
            accounts.c.code,
            accounts.c.name,
            accounts.c.type,
            accounts.c.closed,
            accounts.c.debits_posted,
            accounts.c.credits_posted,
            accounts.c.debits_pending,
            accounts.c.credits_pending,
        )
        .join(books, books.c.id == accounts.c.book_id)
        .where(books.c.code == book)
    )
    if group == "org":
        query = query.where(accounts.c.code.startswith("org:", autoescape=True))
    elif group == "client":
        query = query.where(accounts.c.code.startswith("client:", autoescape=True))
    elif group == "lead":
        query = query.where(
            ~accounts.c.code.startswith("org:", autoescape=True),
            ~accounts.c.code.startswith("client:", autoescape=True),
        )
    if after:
        query = query.where(accounts.c.code > after)
    rows = session.connection().execute(query.order_by(accounts.c.code).limit(PAGE + 1)).all()
    lines = []
    for row in rows[:PAGE]:
        balance = balance_of(row)
        posted_then = (
            normal(AccountType(row.type), net_as_of(session, row.id, as_of))
            if as_of is not None
            else None
        )
        lines.append({"row": row, "balance": balance, "as_of": posted_then})
    more = rows[PAGE - 1].code if len(rows) > PAGE else None
    return render_template(
        "auditor/ledger.html",
        book=book,
        lines=lines,
        as_of=as_of,
        group=group,
        groups=GROUPS,
        after=after,
        more=more,
        today=local_today(session, who.consortium_id),
        errors=form.errors,
        values=request.args,
    ), (422 if form.errors else 200)


def _client_seen(who: Actor, account: str) -> tuple[str, str] | None:
    """For a client's account: the client's code and initials, the read written to the trail."""
    if not account.startswith("client:"):
        return None
    client_id = (
        db_session()
        .execute(
            select(Client.id).where(
                Client.consortium_id == who.consortium_id, Client.code == account[len("client:") :]
            )
        )
        .scalar()
    )
    if client_id is None:
        return None

    def read(session: Session, w: Actor) -> tuple[str, str]:
        client = get_client(session, w, client_id, now=now(), why="ledger account viewed")
        return client.code, client.initials

    return as_actor(read)


@blueprint.get("/ledger/<account>")
@login_required
def account(account: str) -> ResponseReturnValue:
    who = _reader()
    session = db_session()
    book = _book(session, who)
    found = find_account(session, book, account)  # 404 for a code outside this book
    form = FormReader(request.args)
    as_of = _as_of(form)
    cursor = form.raw("cursor")[:200] or None
    balance = get_balance(session, book, found.code)
    posted_then = balance_as_of(session, book, found.code, as_of) if as_of else None
    page = list_entries(session, book, found.code, cursor=cursor, limit=PAGE)
    name = session.execute(select(accounts.c.name).where(accounts.c.id == found.id)).scalar()
    client = _client_seen(who, found.code)
    return render_template(
        "auditor/account.html",
        book=book,
        account=found,
        name=name,
        balance=balance,
        as_of=as_of,
        posted_then=posted_then,
        page=page,
        first_page=cursor is None,
        client=client,
        errors=form.errors,
        values=request.args,
    ), (422 if form.errors else 200)


@blueprint.get("/verify/ledger")
@login_required
def ledger_verify() -> ResponseReturnValue:
    who = _reader()
    session = db_session()
    book = _book(session, who)
    folder = Path(current_app.config["FLEXPOOL"].exports_dir)
    try:
        verdict = verify_consortium(session, book, folder, anchors.key_from_env())
        anchor_line = verdict.anchor_line(where=False)
    except OSError:  # the key file named by FLEXPOOL_CHAIN_KEY_FILE cannot be read
        verdict = verify_consortium(session, book, None, None)
        anchor_line = "Anchors: not compared: the anchor key file cannot be read."
    return render_template(
        "auditor/ledger_verify.html",
        book=book,
        findings=verdict.findings,
        summary=summarize(verdict.findings),
        anchor_line=anchor_line,
        checked_at=now(),
    )


# --- the audit log --------------------------------------------------------------------------


@blueprint.get("/log")
@login_required
def audit_log() -> ResponseReturnValue:
    who = _reader()
    session = db_session()
    form = FormReader(request.args)
    action = form.raw("action")[:MAX_FILTER]
    subject_type = form.raw("subject_type")[:MAX_FILTER]
    subject_id = form.identifier("subject_id", required=False)
    before = form.identifier("before", required=False)
    query = select(AuditEvent, User.display_name, User.email).outerjoin(
        User, User.id == AuditEvent.actor_id
    )
    query = query.where(AuditEvent.consortium_id == who.consortium_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if subject_type:
        query = query.where(AuditEvent.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditEvent.subject_id == subject_id)
    if before is not None:
        query = query.where(AuditEvent.sequence < before)
    rows = session.execute(query.order_by(AuditEvent.sequence.desc()).limit(PAGE + 1)).all()
    more = rows[PAGE - 1][0].sequence if len(rows) > PAGE else None
    filters = {"action": action, "subject_type": subject_type, "subject_id": subject_id}
    return render_template(
        "auditor/log.html",
        events=[
            (event, name, email, _details(event.details)) for event, name, email in rows[:PAGE]
        ],
        more=more,
        filters={key: value for key, value in filters.items() if value not in (None, "")},
        actions=_distinct(session, who.consortium_id, AuditEvent.action),
        subject_types=_distinct(session, who.consortium_id, AuditEvent.subject_type),
        errors=form.errors,
        values=request.args,
    ), (422 if form.errors else 200)


def _distinct(session: Session, consortium_id: int, column: Any) -> list[str]:
    return list(
        session.execute(
            select(column)
            .where(AuditEvent.consortium_id == consortium_id)
            .group_by(column)
            .order_by(column)
        ).scalars()
    )


def _details(details: dict[str, Any] | None) -> list[tuple[str, str]]:
    return [(str(key), str(value)) for key, value in sorted((details or {}).items())]


@blueprint.get("/verify/log")
@login_required
def audit_verify() -> ResponseReturnValue:
    who = _reader()
    session = db_session()
    findings = verify_trail(session, who.consortium_id)
    count = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.consortium_id == who.consortium_id)
    )
    return render_template(
        "auditor/audit_verify.html", findings=findings, events=count or 0, checked_at=now()
    )
