"""Categories (with GL and tax codes) and suppliers (with a second person verifying changes)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals import audit
from approvals.abn import normalise_abn
from approvals.consortium.actors import Actor
from approvals.errors import DuplicateError, InvalidInputError, NotAllowedError, NotFoundError
from approvals.models import Category, Role, Supplier
from approvals.models.people import FINANCE

_CATEGORY_CODE = re.compile(r"[a-z][a-z0-9_]{1,39}", re.ASCII)
_GL_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z\-.]{0,19}", re.ASCII)
_BSB = re.compile(r"[0-9]{6}", re.ASCII)
_ACCOUNT = re.compile(r"[0-9]{5,10}", re.ASCII)


def add_category(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    gl_code: str,
    tax_code: str,
    now: datetime,
) -> Category:
    actor.require_lead(Role.ADMIN, doing="manage categories")
    problems: dict[str, str] = {}
    if not _CATEGORY_CODE.fullmatch(code or ""):
        problems["code"] = "2-40 lower-case letters, digits or '_' (e.g. bond)."
    if not (name or "").strip() or len(name) > 120:
        problems["name"] = "1-120 characters."
    if not _GL_CODE.fullmatch(gl_code or ""):
        problems["gl_code"] = "An account code such as 6-1234 or 420."
    if not (tax_code or "").strip() or len(tax_code) > 40:
        problems["tax_code"] = "The tax rate's name, e.g. GST on Expenses."
    if problems:
        raise InvalidInputError("The category was not saved.", fields=problems)
    taken = select(Category.id).where(
        Category.consortium_id == actor.consortium_id, Category.code == code
    )
    if session.execute(taken).first() is not None:
        raise DuplicateError(f"Category {code} already exists.", fields={"code": "Already used."})
    category = Category(
        consortium_id=actor.consortium_id,
        code=code,
        name=name.strip(),
        gl_code=gl_code,
        tax_code=tax_code.strip(),
        active=True,
    )
    session.add(category)
    session.flush()
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="category.added",
        subject_type="category",
        subject_id=category.id,
        now=now,
        code=code,
        gl_code=gl_code,
    )
    return category


def set_category_active(
    session: Session, actor: Actor, category_id: int, active: bool, *, now: datetime
) -> None:
    """Categories are never deleted: payments keep pointing at them."""
    actor.require_lead(Role.ADMIN, doing="manage categories")
    category = session.get(Category, category_id)
    if category is None or category.consortium_id != actor.consortium_id:
        raise NotFoundError("There is no such category.")
    category.active = active
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="category.active_set",
        subject_type="category",
        subject_id=category.id,
        now=now,
        active=active,
    )


def _supplier_fields(
    name: str, abn: str | None, bsb: str | None, account_number: str | None
) -> tuple[str, str | None, str | None, str | None]:
    problems: dict[str, str] = {}
    name = (name or "").strip()
    if not 0 < len(name) <= 200:
        problems["name"] = "1-200 characters."
    digits = None
    if abn:
        try:
            digits = normalise_abn(abn)
        except InvalidInputError as error:
            problems.update(error.fields)
    bsb = (bsb or "").replace("-", "").replace(" ", "") or None
    account_number = (account_number or "").replace(" ", "") or None
    if (bsb is None) != (account_number is None):
        problems["bsb"] = "Give both a BSB and an account number, or neither."
    elif bsb is not None and (
        not _BSB.fullmatch(bsb) or not _ACCOUNT.fullmatch(account_number or "")
    ):
        problems["bsb"] = "A BSB has 6 digits; an account number 5-10 digits."
    if problems:
        raise InvalidInputError("The supplier was not saved.", fields=problems)
    return name, digits, bsb, account_number


def add_supplier(
    session: Session,
    actor: Actor,
    *,
    name: str,
    abn: str | None,
    gst_registered: bool,
    bsb: str | None = None,
    account_number: str | None = None,
    now: datetime,
) -> Supplier:
    """A new supplier, unverified until a second person checks its ABN and bank details."""
    actor.require(Role.SF, Role.TL, Role.FIN, Role.FIN_MGR, Role.PM, doing="add suppliers")
    name, digits, bsb, account_number = _supplier_fields(name, abn, bsb, account_number)
    if gst_registered and digits is None:
        raise InvalidInputError(
            "A GST-registered supplier has an ABN.", fields={"abn": "Required when registered."}
        )
    supplier = Supplier(
        consortium_id=actor.consortium_id,
        name=name,
        abn=digits,
        gst_registered=gst_registered,
        bsb=bsb,
        account_number=account_number,
        changed_by_id=actor.user_id,
        changed_at=now,
    )
    session.add(supplier)
    session.flush()
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="supplier.added",
        subject_type="supplier",
        subject_id=supplier.id,
        now=now,
        abn=digits,
    )
    return supplier


def change_supplier_details(
    session: Session,
    actor: Actor,
    supplier_id: int,
    *,
    abn: str | None,
    bsb: str | None,
    account_number: str | None,
    now: datetime,
) -> Supplier:
    """New ABN or bank details need verifying again, by someone other than who changed them."""
    actor.require_lead(*FINANCE, doing="change supplier details")
    supplier = _supplier_in_scope(session, actor, supplier_id)
    _name, digits, bsb, account_number = _supplier_fields(supplier.name, abn, bsb, account_number)
    supplier.abn, supplier.bsb, supplier.account_number = digits, bsb, account_number
    supplier.changed_by_id, supplier.changed_at = actor.user_id, now
    supplier.verified_by_id = supplier.verified_at = None
    session.flush()
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="supplier.changed",
        subject_type="supplier",
        subject_id=supplier.id,
        now=now,
        abn=digits,
        bank_changed=bsb is not None,
    )
    return supplier


def verify_supplier(session: Session, actor: Actor, supplier_id: int, *, now: datetime) -> Supplier:
    actor.require_lead(*FINANCE, doing="verify suppliers")
    supplier = _supplier_in_scope(session, actor, supplier_id)
    if supplier.changed_by_id == actor.user_id:
        raise NotAllowedError("A second person must verify the details you entered.")
    supplier.verified_by_id, supplier.verified_at = actor.user_id, now
    session.flush()
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="supplier.verified",
        subject_type="supplier",
        subject_id=supplier.id,
        now=now,
    )
    return supplier


def _supplier_in_scope(session: Session, actor: Actor, supplier_id: int) -> Supplier:
    supplier = session.get(Supplier, supplier_id)
    if supplier is None or supplier.consortium_id != actor.consortium_id:
        raise NotFoundError("There is no such supplier.")
    return supplier
