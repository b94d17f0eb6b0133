"""One fund request: its story, its money, its documents, and the actions open to the viewer.

Every action goes through ``approvals.lifecycle.transitions.transition``; this page only offers the
buttons the state table and the viewer's part in the request make sensible, and the service
decides.
"""

from __future__ import annotations

import io
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
from approvals.errors import ApprovalError, NotAllowedError, NotFoundError
from approvals.lifecycle.attachments import add_attachment, read_attachment
from approvals.lifecycle.permissions import Situation, offered
from approvals.lifecycle.queries import availability, client_history, names
from approvals.lifecycle.requests import can_see
from approvals.lifecycle.states import Action
from approvals.lifecycle.transitions import deciders_now, transition
from approvals.models import (
    Attachment,
    Category,
    Client,
    Decision,
    FundRequest,
    Need,
    Payment,
    RequestException,
    RequestStep,
    Role,
    StepApprover,
    StepStatus,
    Supplier,
)
from approvals.policy.words import named_in, step_in_words
from ledger.errors import DomainError
from web.clock import now
from web.errors import status_of
from web.forms import FormReader
from web.session import actor, as_actor, db_session

blueprint = Blueprint("requests", __name__, url_prefix="/requests")

DECISIONS = (Action.APPROVE, Action.REQUEST_INFO, Action.SEND_BACK, Action.REJECT)
NEEDS_REASON = {
    Action.REQUEST_INFO,
    Action.RESPOND,
    Action.SEND_BACK,
    Action.REJECT,
    Action.CANCEL,
}
LABELS = {
    Action.SUBMIT: "Submit for approval",
    Action.RESUBMIT: "Resubmit",
    Action.RESPOND: "Send the information",
    Action.WITHDRAW: "Withdraw",
    Action.APPROVE: "Approve",
    Action.REQUEST_INFO: "Ask for information",
    Action.SEND_BACK: "Send back for changes",
    Action.REJECT: "Reject",
    Action.CANCEL: "Cancel the approval",
}
# Offered actions whose form lives on another page: (endpoint, link text).
ELSEWHERE = {
    Action.PAY: ("finance.pay", "Record a payment"),
    Action.CLOSE: ("finance.close", "Close it: nothing more to pay"),
}


def _store() -> Path:
    return Path(current_app.config["FLEXPOOL"].attachments_dir)


def _visible(request_id: int) -> tuple[FundRequest, set[int]]:
    """The request and who decides its current step now (the viewer too, if standing in)."""
    session = db_session()
    found = session.get(FundRequest, request_id)
    who = actor()
    deciders = deciders_now(session, who, found, now()) if found is not None else set()
    if found is None or not can_see(who, found, deciders):
        raise NotFoundError("There is no such request.")
    return found, deciders


def offered_actions(who: Actor, found: FundRequest, deciders: set[int]) -> list[Action]:
    """The table's offer (``approvals.lifecycle.permissions.offered``); the service still checks
    each."""
    return offered(who, Situation.of(found), deciders)


def _render(
    request_id: int, errors: dict[str, str] | None = None, message: str | None = None
) -> str:
    found, deciders = _visible(request_id)
    session = db_session()
    who = actor()
    client = session.get_one(Client, found.client_id)
    steps = list(
        session.execute(
            select(RequestStep)
            .where(RequestStep.request_id == found.id, RequestStep.round == found.round)
            .order_by(RequestStep.position)
        ).scalars()
    )
    step_people: dict[int, list[int]] = {}
    for step_id, user_id in session.execute(
        select(StepApprover.step_id, StepApprover.user_id).where(
            StepApprover.step_id.in_([s.id for s in steps] or [-1])
        )
    ):
        step_people.setdefault(step_id, []).append(user_id)
    decisions = list(
        session.execute(
            select(Decision).where(Decision.request_id == found.id).order_by(Decision.id)
        ).scalars()
    )
    people = names(
        session,
        {found.requester_id}
        | {d.actor_id for d in decisions}
        | {d.on_behalf_of_id for d in decisions if d.on_behalf_of_id}
        | {u for users in step_people.values() for u in users}
        | {u for s in steps for u in named_in(s.approvers)},
    )
    actions = offered_actions(who, found, deciders)
    deciding = bool(set(actions) & set(DECISIONS))
    return render_template(
        "requests/detail.html",
        r=found,
        client=client,
        need=session.get(Need, found.need_id),
        category=session.get(Category, found.category_id),
        supplier=session.get(Supplier, found.supplier_id) if found.supplier_id else None,
        steps=steps,
        step_words={s.id: step_in_words(s.approvers, s.quorum, s.quorum_n, people) for s in steps},
        active_steps={s.id for s in steps if s.status == StepStatus.ACTIVE.value},
        step_people=step_people,
        decisions=decisions,
        people=people,
        offered=[a for a in actions if a in LABELS],
        links=[
            (url_for(ELSEWHERE[a][0], request_id=found.id), ELSEWHERE[a][1])
            for a in actions
            if a in ELSEWHERE
        ],
        labels=LABELS,
        needs_reason=NEEDS_REASON,
        panel=availability(session, found) if deciding else None,
        history=[h for h in client_history(session, who, client) if h.id != found.id][:10]
        if deciding
        else [],
        attachments=list(
            session.execute(
                select(Attachment).where(Attachment.request_id == found.id).order_by(Attachment.id)
            ).scalars()
        ),
        payments=list(
            session.execute(
                select(Payment).where(Payment.request_id == found.id).order_by(Payment.id)
            ).scalars()
        ),
        exceptions=list(
            session.execute(
                select(RequestException)
                .where(RequestException.request_id == found.id)
                .order_by(RequestException.id)
            ).scalars()
        ),
        can_attach=who.has(Role.SF, found.organisation_id)
        or who.has(Role.TL, found.organisation_id),
        errors=errors or {},
        message=message,
    )


@blueprint.get("/<int:request_id>")
@login_required
def detail(request_id: int) -> ResponseReturnValue:
    return _render(request_id)


@blueprint.post("/<int:request_id>/act")
@login_required
def act(request_id: int) -> ResponseReturnValue:
    _visible(request_id)
    form = FormReader(request.form)
    action_name = form.choice("action", [a.value for a in LABELS])
    reason = form.optional_text("reason", limit=1000)
    amount = form.money("amount", required=False) if form.raw("amount") else None
    override = form.optional_text("override_reason", limit=500)
    try:
        form.check()
        action = Action(action_name)
        moved = as_actor(
            lambda s, a: (
                transition(
                    s,
                    a,
                    request_id,
                    action,
                    now=now(),
                    reason=reason,
                    amount_cents=amount,
                    override_reason=override,
                ).state
            )
        )
    except DomainError as error:
        fields = {("amount" if k == "amount_cents" else k): v for k, v in error.fields.items()}
        return _render(request_id, fields, error.message), status_of(error)
    flash(f"Done: the request is now {moved.replace('_', ' ')}.", "success")
    return redirect(url_for("requests.detail", request_id=request_id))


@blueprint.post("/<int:request_id>/attachments")
@login_required
def attach(request_id: int) -> ResponseReturnValue:
    found, _ = _visible(request_id)
    if not any(actor().has(role, found.organisation_id) for role in (Role.SF, Role.TL)):
        raise NotAllowedError("Only the NGO's SFs and TLs attach documents.")
    upload = request.files.get("document")
    form = FormReader(request.form)
    kind = form.choice("kind", ["quote", "invoice", "receipt", "other"])
    if upload is None or not upload.filename:
        form.errors["document"] = "Choose a file or take a photo."
    try:
        form.check()
        assert upload is not None  # noqa: S101 - checked just above
        data = upload.read()
        as_actor(
            lambda s, a: add_attachment(
                s,
                a,
                request_id,
                kind=kind,
                filename=upload.filename or "document",
                data=data,
                store=_store(),
                now=now(),
            )
        )
    except ApprovalError as error:
        return _render(request_id, error.fields or {"document": error.message}, error.message), (
            status_of(error)
        )
    flash("The document was attached.", "success")
    return redirect(url_for("requests.detail", request_id=request_id))


@blueprint.get("/<int:request_id>/attachments/<int:attachment_id>")
@login_required
def document(request_id: int, attachment_id: int) -> ResponseReturnValue:
    attachment, data = as_actor(
        lambda s, a: read_attachment(s, a, attachment_id, store=_store(), now=now())
    )
    if attachment.request_id != request_id:
        raise NotFoundError("There is no such document.")
    # send_file writes an ASCII fallback and RFC 6266 filename*=UTF-8''... for any other name.
    response = send_file(
        io.BytesIO(data),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        etag=False,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
