"""Suppliers, and the second person who verifies a new or changed supplier's ABN and bank details.

A supplier is paid only once someone other than whoever last changed it has checked it.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import aliased

from approvals.abn import display_abn
from approvals.consortium.catalogue import add_supplier as add_supplier_record
from approvals.consortium.catalogue import verify_supplier as verify_supplier_record
from approvals.errors import NotFoundError
from approvals.models import Supplier, User
from ledger.errors import DomainError
from web.clock import now
from web.forms import FormReader
from web.pages.finance.blueprint import blueprint
from web.pages.finance.scope import posted_values, require_finance
from web.refusals import Refusal, refusal, render_form
from web.session import as_actor, db_session


@blueprint.get("/suppliers")
@login_required
def suppliers() -> ResponseReturnValue:
    who = require_finance()
    session = db_session()
    changer, verifier = aliased(User), aliased(User)
    rows = session.execute(
        select(Supplier, changer.display_name, verifier.display_name)
        .join(changer, changer.id == Supplier.changed_by_id)
        .outerjoin(verifier, verifier.id == Supplier.verified_by_id)
        .where(Supplier.consortium_id == who.consortium_id)
        .order_by(Supplier.verified_at.is_not(None), Supplier.name, Supplier.id)
    )
    return render_template(
        "finance/suppliers.html",
        rows=list(rows),
        me=who.user_id,
        abn=display_abn,
    )


@blueprint.route("/suppliers/new", methods=["GET", "POST"])
@login_required
def add_supplier() -> ResponseReturnValue:
    require_finance()
    refused: Refusal | None = None
    values: dict[str, str] = {}
    if request.method == "POST":
        values = posted_values()
        form = FormReader(request.form)
        name = form.text("name", limit=200)
        abn = form.optional_text("abn", limit=20)
        registered = form.flag("gst_registered")
        bsb = form.optional_text("bsb", limit=10)
        account_number = form.optional_text("account_number", limit=14)
        try:
            form.check()
            added = as_actor(
                lambda s, w: (
                    add_supplier_record(
                        s,
                        w,
                        name=name,
                        abn=abn,
                        gst_registered=registered,
                        bsb=bsb,
                        account_number=account_number,
                        now=now(),
                    ).name
                )
            )
        except DomainError as error:
            refused = refusal(error)
        else:
            flash(f"Added {added}. A second person must verify its details.", "success")
            return redirect(url_for("finance.suppliers"))
    return render_form("finance/supplier_new.html", refused, values=values)


@blueprint.route("/suppliers/<int:supplier_id>/verify", methods=["GET", "POST"])
@login_required
def verify_supplier(supplier_id: int) -> ResponseReturnValue:
    who = require_finance()
    session = db_session()
    supplier = session.get(Supplier, supplier_id)
    if supplier is None or supplier.consortium_id != who.consortium_id:
        raise NotFoundError("There is no such supplier.")
    refused: Refusal | None = None
    if request.method == "POST" and supplier.verified_at is not None:
        flash(f"{supplier.name} is already verified.", "info")
        return redirect(url_for("finance.suppliers"))
    if request.method == "POST":
        try:
            name = as_actor(lambda s, w: verify_supplier_record(s, w, supplier_id, now=now()).name)
        except DomainError as error:
            refused = refusal(error)
        else:
            flash(f"Verified {name}'s ABN and bank details.", "success")
            return redirect(url_for("finance.suppliers"))
    changed_by = session.get_one(User, supplier.changed_by_id)
    verified_by = session.get(User, supplier.verified_by_id) if supplier.verified_by_id else None
    return render_form(
        "finance/supplier_verify.html",
        refused,
        supplier=supplier,
        abn=display_abn(supplier.abn) if supplier.abn else None,
        changed_by=changed_by.display_name,
        verified_by=verified_by.display_name if verified_by else None,
        mine=supplier.changed_by_id == who.user_id,
    )
