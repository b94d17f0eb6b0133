"""What every finance page shares: the FIN / FIN_MGR check, the posted form, the balances.

Every finance page reads only its own consortium's book; these helpers are where that is drawn.
"""

from __future__ import annotations

from flask import request
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.models import Consortium
from approvals.models.people import FINANCE
from ledger.queries import get_balances
from ledger.values import Balance
from web.session import actor


def require_finance() -> Actor:
    """The lead agency's FIN or FIN_MGR; anyone else is refused."""
    who = actor()
    who.require_lead(*FINANCE, doing="open the finance pages")
    return who


def posted_values() -> dict[str, str]:
    """What the form sent, to show again beside a refusal (the CSRF token aside)."""
    return {name: request.form.get(name, "") for name in request.form if name != "csrf_token"}


def _book(session: Session, who: Actor) -> str:
    return session.get_one(Consortium, who.consortium_id).code


def balances(session: Session, who: Actor) -> dict[str, Balance]:
    """Bank, pool and GST receivable: what a finance page shows beside its form."""
    return get_balances(session, _book(session, who), ("bank", "pool", "gst_receivable"))
