"""The consortium's organisations; adding a partner opens its funding envelope."""

from __future__ import annotations

from collections.abc import Mapping

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from approvals.abn import display_abn
from approvals.consortium.actors import Actor
from approvals.consortium.setup import add_partner, envelope_account
from approvals.models import (
    Consortium,
    OrgKind,
)
from ledger.errors import UnknownAccountError
from ledger.queries import get_balance
from web.clock import now
from web.forms import FormReader
from web.pages.admin.blueprint import blueprint
from web.pages.admin.scope import organisations_of, require_admin
from web.refusals import Refusal, attempt, render_form
from web.session import db_session


@blueprint.get("/organisations")
@login_required
def organisations() -> ResponseReturnValue:
    return _organisations_page(require_admin())


def _organisations_page(
    who: Actor, refused: Refusal | None = None, values: Mapping[str, str] | None = None
) -> ResponseReturnValue:
    session = db_session()
    book = session.get_one(Consortium, who.consortium_id).code
    rows = []
    for organisation in organisations_of(session, who.consortium_id):
        envelope = None
        if organisation.kind == OrgKind.PARTNER.value:
            try:
                envelope = get_balance(session, book, envelope_account(organisation.code))
            except UnknownAccountError:
                envelope = None
        abn = display_abn(organisation.abn) if organisation.abn else ""
        rows.append((organisation, abn, envelope))
    return render_form(
        "admin/organisations.html",
        refused,
        rows=rows,
        values=values or {},
    )


@blueprint.post("/organisations")
@login_required
def add_organisation() -> ResponseReturnValue:
    who = require_admin()
    form = FormReader(request.form)
    code = form.text("code", limit=20).upper()
    name = form.text("name", limit=200)
    abn = form.optional_text("abn", limit=20)
    result = attempt(
        lambda s, w: add_partner(s, w, code=code, name=name, abn=abn, now=now()).code, form
    )
    if isinstance(result, Refusal):
        return _organisations_page(who, result, request.form)
    flash(f"Partner {result} added, with its funding envelope org:{result}.", "success")
    return redirect(url_for("admin.organisations"))
