"""``/exports``: finance runs exports now and downloads them; the auditor downloads any past run.

Each run is an ``ExportRun`` with its SHA-256: a download re-checks the file on disk against it
and refuses one that no longer matches (a file edited or replaced after the export), and every
download is written to the audit trail with who took it. The API does the same through the same
functions (``reports.export_service``).
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select

from approvals.consortium.actors import Actor
from approvals.errors import ApprovalError
from approvals.fiscal import parse_month
from approvals.lifecycle.queries import names_by_label
from ledger.errors import DomainError
from reports.closing import sign_off_month
from reports.export_service import READERS, RUNNERS, newest_runs, order_now, take_download
from reports.models import ExportKind, MonthSignOff
from reports.runs import EXPORTERS, available_kinds, parse_period, run_export
from web.clock import now
from web.errors import status_of
from web.forms import FormReader
from web.session import actor, as_actor, db_session, local_today, session_factory

blueprint = Blueprint("exports", __name__, url_prefix="/exports")
PAGE = 50


def _reader() -> Actor:
    who = actor()
    who.require_lead(*READERS, doing="see the exports")
    return who


def _folder() -> Path:
    return Path(current_app.config["FLEXPOOL"].exports_dir)


@blueprint.get("/")
@login_required
def home() -> ResponseReturnValue:
    return _page(_reader())


def _page(who: Actor, errors: dict[str, str] | None = None) -> str:
    session = db_session()
    before = request.args.get("before", type=int)
    runs = newest_runs(session, who, before=before or None, limit=PAGE)
    sign_offs = list(
        session.execute(
            select(MonthSignOff)
            .where(MonthSignOff.consortium_id == who.consortium_id)
            .order_by(MonthSignOff.period.desc())
            .limit(12)
        ).scalars()
    )
    labels = {r.requested_by for r in runs} | {f"user:{c.closed_by_id}" for c in sign_offs}
    people = names_by_label(session, labels)
    return render_template(
        "exports/home.html",
        runs=runs[:PAGE],
        more=runs[PAGE - 1].id if len(runs) > PAGE else None,
        people=people,
        sign_offs=sign_offs,
        may_run=any(who.has_lead(role) for role in RUNNERS),
        kinds=[(kind.value, EXPORTERS[kind].label) for kind in available_kinds()],
        errors=errors or {},
        form=request.form if errors else {},
    )


@blueprint.post("/run")
@login_required
def run() -> ResponseReturnValue:
    who = actor()
    who.require_lead(*RUNNERS, doing="run exports")
    form = FormReader(request.form)
    kind = form.choice("kind", [k.value for k in available_kinds()])
    label = form.text("period", limit=20, required=False)
    try:
        form.check()
    except ApprovalError as error:
        return _page(who, dict(error.fields)), status_of(error)
    try:
        period = parse_period(label, ExportKind(kind))
    except ApprovalError as error:  # the reason and the expected form, next to the field
        hint = (error.fields or {}).get("period", "")
        return _page(who, {"period": f"{error.message} {hint}".strip()}), status_of(error)
    order = order_now(db_session(), who, ExportKind(kind), period, _folder())
    try:
        done = run_export(session_factory(current_app), order, now=now)
    except OSError:
        current_app.logger.exception("export failed")
        flash("The export could not be written; it is listed as failed.", "error")
        return redirect(url_for("exports.home"))
    except DomainError as error:  # e.g. refused by a pre-flight: listed failed
        flash(f"The export was refused and is listed as failed: {error.message}", "error")
        return redirect(url_for("exports.home"))
    if done is not None:  # a manual run is never skipped; only a scheduled one can be
        flash(f"Exported {done.file_name} (SHA-256 {done.sha256}).", "success")
    return redirect(url_for("exports.home"))


@blueprint.post("/close")
@login_required
def close() -> ResponseReturnValue:
    """Sign off a month: the ledger is locked through its last day, on a clean reconciliation."""
    who = actor()
    who.require_lead(*RUNNERS, doing="close a month")
    form = FormReader(request.form)
    label = form.text("close_period", limit=20)
    try:
        form.check()
        period = parse_month(label)
        as_actor(
            lambda s, a: sign_off_month(
                s, a, period, today=local_today(s, a.consortium_id), now=now()
            )
        )
    except DomainError as error:
        return _page(who, {"close_period": error.message}), status_of(error)
    flash(f"{period.label} is closed: nothing can be dated in it any more.", "success")
    return redirect(url_for("exports.home"))


@blueprint.get("/<int:run_id>/download")
@login_required
def download(run_id: int) -> ResponseReturnValue:
    file = as_actor(lambda s, a: take_download(s, a, run_id, _folder(), now=now()))
    return send_file(
        file.path,
        as_attachment=True,
        download_name=file.name,
        mimetype=file.media_type,
        max_age=0,
    )
