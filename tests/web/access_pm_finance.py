"""Who may use each endpoint of the PM and finance areas (everyone else gets 403 or 404).

Read by the central authorization-matrix test. URL parameters are ``request_id``, ``payment_id``
and ``supplier_id`` (ints); ``SAMPLE_VALUES`` gives the matrix a payment and a supplier to use.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals.consortium.actors import load_actor
from approvals.consortium.catalogue import add_supplier
from approvals.models import FundRequest, Organisation, Payment, User
from ledger.db import run_in_transaction
from tests.support.clock import CLOCK
from web.session import session_factory

PM = {"pm@lead.demo"}
FINANCE = {"fin@lead.demo", "finmgr@lead.demo"}

ACCESS: dict[str, set[str]] = {
    "pm.home": PM,
    "pm.chart_pool_use": PM,
    "pm.chart_by_category": PM,
    "pm.chart_by_ngo": PM,
    "pm.allocate": PM,
    "pm.move": PM,
    "pm.policy": PM,
    "finance.home": FINANCE,
    "finance.pay": FINANCE,
    "finance.close": FINANCE,
    "finance.payments": FINANCE,
    "finance.refund": FINANCE,
    "finance.grant": FINANCE,
    "finance.gst_refund": FINANCE,
    "finance.return_funds": {"finmgr@lead.demo"},
    "finance.suppliers": FINANCE,
    "finance.add_supplier": FINANCE,
    "finance.verify_supplier": FINANCE,
}


def _payment(app: Flask) -> int:
    """A payment on an NGO1 request."""
    with session_factory(app)() as session:
        found = session.execute(
            select(Payment.id)
            .join(FundRequest, FundRequest.id == Payment.request_id)
            .join(Organisation, Organisation.id == FundRequest.organisation_id)
            .where(Organisation.code == "NGO1")
            .order_by(Payment.id)
            .limit(1)
        ).scalar_one()
    return int(found)


def _supplier(app: Flask) -> int:
    """A new supplier entered by the PM, so either finance person may verify it."""

    def add(session: Session) -> int:
        user = session.execute(select(User).where(User.email == "pm@lead.demo")).scalar_one()
        consortium_id = session.execute(
            select(Organisation.consortium_id).where(Organisation.code == "NGO1")
        ).scalar_one()
        now = CLOCK.now()
        who = load_actor(session, user_id=user.id, consortium_id=consortium_id, today=CLOCK.today)
        return add_supplier(
            session, who, name="Matrix Test Supplier", abn=None, gst_registered=False, now=now
        ).id

    return run_in_transaction(session_factory(app), add)


SAMPLE_VALUES = {"payment_id": _payment, "supplier_id": _supplier}
