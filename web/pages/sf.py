"""The Support Facilitator's day: my clients and their needs, my requests, a new request.

Opening a client record is a read of health-adjacent information, so it goes through
``approvals.consortium.clients.get_client`` in a committed unit of work: the audit trail records it.
A refused form comes back through ``web/refusals.py``, as on every other page.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.consortium.clients import (
    add_need,
    change_status,
    enrol_client,
    get_client,
    visible_clients,
)
from approvals.consortium.clients import can_see as can_see_client
from approvals.errors import NotFoundError
from approvals.lifecycle.queries import (
    client_availability,
    client_history,
    my_requests,
    names,
    page,
)
from approvals.lifecycle.requests import RequestInput, create_request
from approvals.lifecycle.states import Action
from approvals.lifecycle.transitions import transition
from approvals.models import (
    Category,
    Client,
    ClientStatus,
    Need,
    NeedDomain,
    Organisation,
    Role,
    Supplier,
)
from web.clock import now
from web.forms import FormReader
from web.refusals import Refusal, attempt, render_form
from web.session import actor, as_actor, db_session, local_today

blueprint = Blueprint("sf", __name__, url_prefix="/sf")
CLIENTS_PAGE = 50


def _staff(client_id: int | None = None) -> Actor:
    """SFs and TLs of a partner NGO work with clients; another NGO's client is not there (404)."""
    who = actor()
    who.require(Role.SF, Role.TL, doing="work with clients")
    if client_id is not None:
        found = db_session().get(Client, client_id)
        if found is None or not can_see_client(who, found):
            raise NotFoundError("There is no such client.")
    return who


@blueprint.get("/")
@login_required
def home() -> ResponseReturnValue:
    who = _staff()
    session = db_session()
    mine = list(
        session.execute(
            visible_clients(who).where(Client.support_facilitator_id == who.user_id)
        ).scalars()
    )
    everyone = visible_clients(who).with_only_columns(func.count()).order_by(None)
    requests, more = page(
        session, my_requests(who), before=request.args.get("before", type=int), limit=25
    )
    return render_template(
        "sf/home.html",
        mine=mine,
        others=session.execute(everyone).scalar_one() - len(mine),
        requests=requests,
        more=more,
        codes=_codes(session, {r.client_id for r in requests}),
    )


def _codes(session: Session, client_ids: set[int]) -> dict[int, str]:
    """Client codes for a table of requests (every request there is one the actor may see)."""
    if not client_ids:
        return {}
    rows = session.execute(select(Client.id, Client.code).where(Client.id.in_(client_ids)))
    return {client_id: code for client_id, code in rows}


@blueprint.get("/clients")
@login_required
def clients() -> ResponseReturnValue:
    """Every client of my NGO(s), by code, a page at a time, found by the start of the code."""
    who = _staff()
    session = db_session()
    search = request.args.get("q", "").strip()[:40]
    after = request.args.get("after", "")[:40]
    query = visible_clients(who)
    if search:
        query = query.where(func.upper(Client.code).startswith(search.upper(), autoescape=True))
    if after:
        query = query.where(Client.code > after)
    rows = list(session.execute(query.limit(CLIENTS_PAGE + 1)).scalars())
    shown = rows[:CLIENTS_PAGE]
    return render_template(
        "sf/clients.html",
        clients=shown,
        search=search,
        after=shown[-1].code if len(rows) > CLIENTS_PAGE else None,
        people=names(session, {c.support_facilitator_id for c in shown}),
    )


def _client_page(client_id: int, refused: Refusal | None = None) -> ResponseReturnValue:
    client = as_actor(lambda s, a: get_client(s, a, client_id, now=now(), why="client page"))
    session = db_session()
    who = actor()
    needs = list(
        session.execute(select(Need).where(Need.client_id == client.id).order_by(Need.id)).scalars()
    )
    return render_form(
        "sf/client.html",
        refused,
        client=client,
        needs=needs,
        history=client_history(session, who, client),
        domains=[(d.value, d.value.replace("_", " ")) for d in NeedDomain],
        statuses=[(s.value, s.value) for s in ClientStatus if s.value != client.status],
        form=request.form if refused else {},
    )


@blueprint.get("/clients/<int:client_id>")
@login_required
def client(client_id: int) -> ResponseReturnValue:
    _staff(client_id)
    return _client_page(client_id)


@blueprint.post("/clients/<int:client_id>/needs")
@login_required
def new_need(client_id: int) -> ResponseReturnValue:
    _staff(client_id)
    form = FormReader(request.form)
    domain = form.choice("domain", [d.value for d in NeedDomain])
    goal = form.text("goal", limit=200)
    added = attempt(
        lambda s, a: add_need(s, a, client_id, domain=domain, goal=goal, now=now()), form
    )
    if isinstance(added, Refusal):
        return _client_page(client_id, added)
    flash("The need was added to the Action Plan.", "success")
    return redirect(url_for("sf.client", client_id=client_id))


@blueprint.post("/clients/<int:client_id>/status")
@login_required
def set_status(client_id: int) -> ResponseReturnValue:
    _staff(client_id)
    form = FormReader(request.form)
    status = form.choice("status", [s.value for s in ClientStatus])
    changed = attempt(
        lambda s, a: change_status(s, a, client_id, ClientStatus(status), now=now()), form
    )
    if isinstance(changed, Refusal):
        return _client_page(client_id, changed)
    flash(f"The client is now {status}.", "success")
    return redirect(url_for("sf.client", client_id=client_id))


@blueprint.route("/clients/new", methods=["GET", "POST"])
@login_required
def new_client() -> ResponseReturnValue:
    who = _staff()
    session = db_session()
    organisations = sorted(who.organisations_with(Role.SF) | who.organisations_with(Role.TL))
    names = {
        o.id: o.name
        for o in session.execute(
            select(Organisation).where(Organisation.id.in_(organisations))
        ).scalars()
    }
    if request.method == "GET":
        return render_form("sf/new_client.html", None, form={}, organisations=names)
    form = FormReader(request.form)
    code = form.text("code", limit=20)
    initials = form.text("initials", limit=3)
    organisation_id = form.identifier("organisation_id") or 0
    created = attempt(
        lambda s, a: enrol_client(
            s,
            a,
            code=code,
            initials=initials,
            organisation_id=organisation_id,
            support_facilitator_id=a.user_id,
            now=now(),
        ),
        form,
    )
    if isinstance(created, Refusal):
        return render_form("sf/new_client.html", created, form=request.form, organisations=names)
    flash(
        f"{created.code} was referred. Mark them active when you start working together.",
        "success",
    )
    return redirect(url_for("sf.client", client_id=created.id))


def _request_form(client: Client, refused: Refusal | None = None) -> ResponseReturnValue:
    session = db_session()
    who = actor()
    needs = session.execute(
        select(Need).where(Need.client_id == client.id, Need.status == "open").order_by(Need.id)
    ).scalars()
    categories = session.execute(
        select(Category)
        .where(Category.consortium_id == who.consortium_id, Category.active.is_(True))
        .order_by(Category.name)
    ).scalars()
    suppliers = session.execute(
        select(Supplier).where(Supplier.consortium_id == who.consortium_id).order_by(Supplier.name)
    ).scalars()
    history = client_history(session, who, client)
    organisation = session.get_one(Organisation, client.organisation_id)
    panel = client_availability(
        session,
        client_id=client.id,
        organisation_id=client.organisation_id,
        day=local_today(session, who.consortium_id),
    )
    return render_form(
        "sf/new_request.html",
        refused,
        client=client,
        needs=[(n.id, f"{n.domain.replace('_', ' ')}: {n.goal}") for n in needs],
        categories=[(c.id, c.name) for c in categories],
        suppliers=[
            (s.id, s.name + ("" if s.verified_at else " (not yet verified)")) for s in suppliers
        ],
        history=history,
        organisation=organisation,
        panel=panel,
        form=request.form if refused else {},
    )


@blueprint.route("/clients/<int:client_id>/requests/new", methods=["GET", "POST"])
@login_required
def new_request(client_id: int) -> ResponseReturnValue:
    _staff(client_id)
    client = as_actor(lambda s, a: get_client(s, a, client_id, now=now(), why="new request"))
    if request.method == "GET":
        return _request_form(client)
    form = FormReader(request.form)
    need_id = form.identifier("need_id") or 0
    category_id = form.identifier("category_id") or 0
    amount_cents = form.money("amount")
    gst_cents = form.money("gst", allow_zero=True, required=False)
    supplier_id = form.identifier("supplier_id", required=False)
    purpose = form.text("purpose", limit=500)
    no_other_channel = form.text("no_other_channel", limit=1000)
    needed_by = form.day("needed_by")
    submit = request.form.get("intent") == "submit"

    def work(session: Session, who: Actor) -> int:
        assert needed_by is not None  # noqa: S101 - form.check() refused a missing date
        data = RequestInput(
            client_id=client.id,
            need_id=need_id,
            category_id=category_id,
            amount_cents=amount_cents,
            gst_cents=gst_cents,
            supplier_id=supplier_id,
            purpose=purpose,
            no_other_channel=no_other_channel,
            needed_by=needed_by,
        )
        created = create_request(session, who, data, now=now())
        if submit:
            transition(session, who, created.id, Action.SUBMIT, now=now())
        return created.id

    request_id = attempt(work, form)
    if isinstance(request_id, Refusal):
        fields = {_FORM_NAMES.get(k, k): v for k, v in request_id.fields.items()}
        return _request_form(client, replace(request_id, fields=fields))
    flash("Submitted for approval." if submit else "Saved as a draft.", "success")
    return redirect(url_for("requests.detail", request_id=request_id))


# The service names fields by the model; the form by what people type.
_FORM_NAMES = {"amount_cents": "amount", "gst_cents": "gst"}
