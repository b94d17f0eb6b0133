"""Spending categories: add one with its GL and tax codes, retire or reuse it."""

from __future__ import annotations

from collections.abc import Mapping

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.consortium.catalogue import add_category, set_category_active
from approvals.errors import NotFoundError
from approvals.models import (
    Category,
)
from web.clock import now
from web.forms import FormReader
from web.pages.admin.blueprint import blueprint
from web.pages.admin.scope import require_admin
from web.refusals import Refusal, attempt, render_form
from web.session import db_session


@blueprint.get("/categories")
@login_required
def categories() -> ResponseReturnValue:
    return _categories_page(require_admin())


def _categories_page(
    who: Actor, refused: Refusal | None = None, values: Mapping[str, str] | None = None
) -> ResponseReturnValue:
    rows = (
        db_session()
        .execute(
            select(Category)
            .where(Category.consortium_id == who.consortium_id)
            .order_by(Category.active.desc(), Category.code)
        )
        .scalars()
    )
    return render_form(
        "admin/categories.html",
        refused,
        categories=list(rows),
        values=values or {"tax_code": "GST on Expenses"},
    )


@blueprint.post("/categories")
@login_required
def new_category() -> ResponseReturnValue:
    who = require_admin()
    form = FormReader(request.form)
    code = form.text("code", limit=40).lower()
    name = form.text("name", limit=120)
    gl_code = form.text("gl_code", limit=20)
    tax_code = form.text("tax_code", limit=40)
    result = attempt(
        lambda s, w: (
            add_category(
                s, w, code=code, name=name, gl_code=gl_code, tax_code=tax_code, now=now()
            ).code
        ),
        form,
    )
    if isinstance(result, Refusal):
        return _categories_page(who, result, request.form)
    flash(f"Category {result} added (GL {gl_code}).", "success")
    return redirect(url_for("admin.categories"))


@blueprint.post("/categories/<int:category_id>/active")
@login_required
def category_active(category_id: int) -> ResponseReturnValue:
    who = require_admin()
    category = db_session().get(Category, category_id)
    if category is None or category.consortium_id != who.consortium_id:
        raise NotFoundError("There is no such category.")
    form = FormReader(request.form)
    active = form.choice("active", ["0", "1"]) == "1"

    def work(session: Session, w: Actor) -> str:
        set_category_active(session, w, category_id, active, now=now())
        return session.get_one(Category, category_id).code

    result = attempt(work, form)
    if isinstance(result, Refusal):
        return _categories_page(who, result)
    state = "back in use" if active else "retired: no new requests can use it"
    flash(f"Category {result} is {state}.", "success")
    return redirect(url_for("admin.categories"))
