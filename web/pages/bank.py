"""``/bank``: finance imports statements and reviews the matches; the auditor reads them.

The rules (what matches automatically, who may match what, why a bad file writes nothing) live
in ``reports.bank``; this module reads forms, calls one service per request, and shows each
error next to the form it belongs to (a refused file lists every bad line with its number).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from approvals.consortium.actors import Actor
from approvals.errors import ApprovalError, NotFoundError
from approvals.lifecycle.queries import names_by_label
from approvals.models import Role
from approvals.models.people import FINANCE
from reports.bank.match import AUTO, MATCH_WINDOW_DAYS, REVIEW_WINDOW_DAYS
from reports.bank.review import (
    explain_line,
    match_line,
    open_lines,
    recently_resolved,
    rematch_open_lines,
    statements,
    unmatch_line,
)
from reports.bank.statement_csv import MAX_FILE_BYTES, Finding, StatementRefusedError
from reports.bank.statement_import import finance_importer, import_statement
from reports.bank.targets import parse_token
from web.clock import now
from web.errors import status_of
from web.forms import FormReader
from web.session import actor, as_actor, db_session

blueprint = Blueprint("bank", __name__, url_prefix="/bank")
RESOLVERS = FINANCE
READERS = (*FINANCE, Role.AUDITOR)
OPEN_SHOWN = 100
RECENT_SHOWN = 50
STATEMENTS_SHOWN = 20


def _resolver(doing: str) -> Actor:
    who = actor()
    who.require_lead(*RESOLVERS, doing=doing)
    return who


@blueprint.get("/")
@login_required
def home() -> ResponseReturnValue:
    who = actor()
    who.require_lead(*READERS, doing="see bank statements")
    return _page(who)


def _page(
    who: Actor,
    errors: dict[str, str] | None = None,
    *,
    findings: list[Finding] | None = None,
    line_id: int | None = None,
) -> str:
    session = db_session()
    imported = statements(session, who.consortium_id, limit=STATEMENTS_SHOWN)
    waiting = open_lines(session, who.consortium_id, limit=OPEN_SHOWN + 1)
    recent = recently_resolved(session, who.consortium_id, limit=RECENT_SHOWN)
    labels = {s.imported_by for s in imported} | {v.line.resolved_by or "" for v in recent}
    people = names_by_label(session, labels) | {AUTO: "automatic"}
    return render_template(
        "bank/home.html",
        statements=imported,
        waiting=waiting[:OPEN_SHOWN],
        more_waiting=len(waiting) > OPEN_SHOWN,
        recent=recent,
        people=people,
        me=who.user_id,
        may_resolve=any(who.has_lead(role) for role in RESOLVERS),
        window=MATCH_WINDOW_DAYS,
        review_window=REVIEW_WINDOW_DAYS,
        max_kb=MAX_FILE_BYTES // 1000,
        errors=errors or {},
        findings=findings or [],
        error_line=line_id,
        form=request.form if errors else {},
    )


@blueprint.post("/import")
@login_required
def upload() -> ResponseReturnValue:
    who = _resolver("import bank statements")
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _page(who, {"file": "Choose the statement's CSV file."}), 422
    data = sent.stream.read(MAX_FILE_BYTES + 1)  # one byte over is enough to refuse it
    name = sent.filename
    try:
        done = as_actor(
            lambda s, a: import_statement(
                s, finance_importer(a), file_name=name, data=data, now=now()
            )
        )
    except StatementRefusedError as error:
        message = "The file was refused whole; nothing was imported:"
        return _page(who, {"file": message}, findings=error.findings), status_of(error)
    except ApprovalError as error:
        return _page(who, {"file": error.message}), status_of(error)
    flash(
        f"Imported {done.lines} line(s): {done.matched} matched automatically, "
        f"{done.unmatched} to review.",
        "success",
    )
    return redirect(url_for("bank.home"))


@blueprint.post("/rematch")
@login_required
def rematch() -> ResponseReturnValue:
    _resolver("match bank statement lines")
    matched = as_actor(lambda s, a: rematch_open_lines(s, a, now=now()))
    flash(
        f"{len(matched)} line(s) matched automatically; the rest stay to review."
        if matched
        else "No open line has a single certain match yet.",
        "success" if matched else "info",
    )
    return redirect(url_for("bank.home"))


@blueprint.post("/lines/<int:line_id>/match")
@login_required
def match(line_id: int) -> ResponseReturnValue:
    who = _resolver("match bank statement lines")
    token = FormReader(request.form).raw("target")
    try:
        kind, target_id = parse_token(token)
        as_actor(lambda s, a: match_line(s, a, line_id, kind, target_id, now=now()))
    except NotFoundError:
        raise
    except ApprovalError as error:
        return _line_error(who, line_id, "target", error)
    flash("The line is matched.", "success")
    return redirect(url_for("bank.home"))


@blueprint.post("/lines/<int:line_id>/explain")
@login_required
def explain(line_id: int) -> ResponseReturnValue:
    who = _resolver("explain bank statement lines")
    reason = FormReader(request.form).raw("reason")
    try:
        as_actor(lambda s, a: explain_line(s, a, line_id, reason, now=now()))
    except NotFoundError:
        raise
    except ApprovalError as error:
        return _line_error(who, line_id, "reason", error)
    flash("The line is explained.", "success")
    return redirect(url_for("bank.home"))


@blueprint.post("/lines/<int:line_id>/unmatch")
@login_required
def unmatch(line_id: int) -> ResponseReturnValue:
    _resolver("unmatch bank statement lines")
    as_actor(lambda s, a: unmatch_line(s, a, line_id, now=now()))
    flash("The line is back on the list to review.", "success")
    return redirect(url_for("bank.home"))


def _line_error(who: Actor, line_id: int, field: str, error: ApprovalError) -> ResponseReturnValue:
    """The page again, with the message beside the form of the line it is about."""
    return _page(who, {field: error.message}, line_id=line_id), status_of(error)
