"""One-entry ledger forms: grant receipts, GST refunds, and the year-end return to the funder.

Each posts one ledger entry once: a hidden key on the form makes a resubmission a replay.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.funds import receive_grant as receive_grant_funds
from approvals.funds import receive_gst_refund, return_to_funder
from approvals.models import Role
from ledger.money import format_cents
from ledger.values import Posted
from web.clock import now
from web.forms import FormReader
from web.pages.finance.blueprint import blueprint
from web.pages.finance.scope import balances, posted_values, require_finance
from web.refusals import Refusal, attempt, render_form
from web.session import actor, db_session, local_today

Work = Callable[[Session, Actor], Posted]


def _ledger_form(
    template: str,
    read: Callable[[FormReader], tuple[Work, str]],
    **context: object,
) -> ResponseReturnValue:
    """GET shows the form; POST posts one ledger entry (once, thanks to a hidden key)."""
    who = actor()
    session = db_session()
    refused: Refusal | None = None
    values = {
        "on": local_today(session, who.consortium_id).isoformat(),
        "key": secrets.token_urlsafe(18),
    }
    if request.method == "POST":
        values = posted_values()
        form = FormReader(request.form)
        work, done = read(form)
        posted = attempt(work, form)
        if isinstance(posted, Refusal):
            refused = posted
        else:
            if posted.replayed:
                flash("That was already recorded; nothing was posted twice.", "info")
            else:
                flash(done, "success")
            return redirect(url_for("finance.home"))
    return render_form(
        template,
        refused,
        balances=balances(session, who),
        values=values,
        **context,
    )


Service = Callable[..., Posted]


def _reader(service: Service, done: str) -> Callable[[FormReader], tuple[Work, str]]:
    """Amount, date and memo for a one-entry service such as a grant receipt."""

    def read(form: FormReader) -> tuple[Work, str]:
        amount = form.money("amount", allow_zero=False)
        on = form.day("on")
        memo = form.text("memo", limit=300)
        token = form.optional_text("key", limit=40)
        key = f"web:{actor().user_id}:{token}" if token else None

        def work(session: Session, who: Actor) -> Posted:
            assert isinstance(on, date)  # noqa: S101 - form.check() refused a missing date
            return service(session, who, amount_cents=amount, on=on, memo=memo, key=key, now=now())

        return work, done.format(amount=format_cents(amount))

    return read


@blueprint.route("/grants/new", methods=["GET", "POST"])
@login_required
def grant() -> ResponseReturnValue:
    require_finance()
    return _ledger_form(
        "finance/ledger_form.html",
        _reader(receive_grant_funds, "Recorded a grant receipt of {amount} into the pool."),
        heading="Record a grant receipt",
        explain="Money from the funder arrives in the bank and goes to the unallocated pool.",
        action=url_for("finance.grant"),
        button="Record grant receipt",
    )


@blueprint.route("/gst-refund", methods=["GET", "POST"])
@login_required
def gst_refund() -> ResponseReturnValue:
    require_finance()
    return _ledger_form(
        "finance/ledger_form.html",
        _reader(receive_gst_refund, "Recorded a GST refund of {amount} from the tax office."),
        heading="Record a GST refund received",
        explain="The tax office's refund arrives in the bank and clears GST receivable.",
        action=url_for("finance.gst_refund"),
        button="Record GST refund",
    )


@blueprint.route("/return", methods=["GET", "POST"])
@login_required
def return_funds() -> ResponseReturnValue:
    actor().require_lead(Role.FIN_MGR, doing="return funds to the funder")
    return _ledger_form(
        "finance/ledger_form.html",
        _reader(return_to_funder, "Returned {amount} from the pool to the funder."),
        heading="Return unspent funds to the funder",
        explain="At year end, unspent money leaves the unallocated pool for the funder's bank "
        "account. Only the finance manager may do this.",
        action=url_for("finance.return_funds"),
        button="Return to funder",
    )
