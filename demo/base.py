"""The demonstration consortium's cast and catalogue, and the one way its builders act.

``flexpool demo`` (``demo/consortium.py``) and the national generator (``demo/national.py``)
share these: the logins, partners, categories and suppliers, made-up ABNs, and ``moment`` (a
local business hour as the aware UTC time every service takes).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker
from stdnum.au import abn as stdnum_abn

from approvals.consortium.actors import Actor, load_actor
from approvals.lifecycle.payments import PaymentInput
from approvals.models import FundRequest
from ledger.db import run_in_transaction

T = TypeVar("T")
PASSWORD = "flexpool-demo"  # noqa: S105 - the documented demo login, never a real one
CODE = "NORTHCOAST"
ZONE = ZoneInfo("Australia/Sydney")
LOGINS = {
    "admin@lead.demo": ("LEAD", "ADMIN", "Avery Admin"),
    "pm@lead.demo": ("LEAD", "PM", "Priya Manager"),
    "fin@lead.demo": ("LEAD", "FIN", "Finn Officer"),
    "finmgr@lead.demo": ("LEAD", "FIN_MGR", "Fatima Finance"),
    "ceo@lead.demo": ("LEAD", "CEO", "Casey Chief"),
    "auditor@lead.demo": ("LEAD", "AUDITOR", "Aud Itor"),
    "tl@ngo1.demo": ("NGO1", "TL", "Tom Lead"),
    "sf@ngo1.demo": ("NGO1", "SF", "Sam Facilitator"),
    "sf2@ngo1.demo": ("NGO1", "SF", "Sasha Facilitator"),
    "tl@ngo2.demo": ("NGO2", "TL", "Tara Lead"),
    "sf@ngo2.demo": ("NGO2", "SF", "Sid Facilitator"),
    "tl@ngo3.demo": ("NGO3", "TL", "Theo Lead"),
    "sf@ngo3.demo": ("NGO3", "SF", "Suki Facilitator"),
}
PARTNERS = {
    "NGO1": ("Harbour Mental Health Services", "53 004 085 616"),
    "NGO2": ("Northside Community Care", None),
    "NGO3": ("Valley Wellbeing Collective", None),
}
CATEGORIES = {
    "groceries": ("Groceries and essentials", "6-1100", "GST Free Expenses", 120),
    "bond": ("Rental bond", "6-1200", "BAS Excluded", 1_600),
    "furniture": ("Furniture and whitegoods", "6-1300", "GST on Expenses", 700),
    "travel": ("Travel to appointments", "6-1400", "GST on Expenses", 90),
    "education": ("Course fees", "6-1500", "GST Free Expenses", 450),
    "health_gap": ("Health gap payments", "6-1600", "GST Free Expenses", 160),
    "utilities": ("Utility arrears", "6-1700", "GST on Expenses", 300),
    "social": ("Social connection activities", "6-1800", "GST on Expenses", 60),
}
SUPPLIERS = [
    ("Coastal Fresh Foods", True, "groceries"),
    ("Harbour Real Estate Trust", False, "bond"),
    ("Northside Appliances", True, "furniture"),
    ("Valley Taxi Co-op", True, "travel"),
    ("North Coast TAFE", True, "education"),
    ("Harbour Allied Health", True, "health_gap"),
    ("Coastal Energy", True, "utilities"),
    ("Community Arts Hub", False, "social"),
]
DOMAINS = {
    "groceries": "daily_living",
    "bond": "housing",
    "furniture": "housing",
    "travel": "transport",
    "education": "education_employment",
    "health_gap": "physical_health",
    "utilities": "daily_living",
    "social": "social_connection",
}


@dataclass
class Demo:
    factory: sessionmaker[Session]
    today: date
    consortium_id: int = 0
    users: dict[str, int] = field(default_factory=dict)
    organisations: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    suppliers: dict[str, tuple[int, bool]] = field(default_factory=dict)
    clients: list[tuple[int, str, int, str]] = field(
        default_factory=list
    )  # id, org, need, sf email

    def run(self, who: str, at: datetime, work: Callable[[Session, Actor], T]) -> T:
        def unit(session: Session) -> T:
            actor = load_actor(
                session,
                user_id=self.users[who],
                consortium_id=self.consortium_id,
                today=at.astimezone(ZONE).date(),
            )
            return work(session, actor)

        return run_in_transaction(self.factory, unit)


def made_up_abn(rng: random.Random) -> str:
    """A checksum-valid ABN (made up: the demo never names a real business's ABN)."""
    body = "".join(str(rng.randint(0, 9)) for _ in range(9))
    return str(stdnum_abn.calc_check_digits(body)) + body


def moment(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZONE).astimezone(UTC)


def invoice_payment(
    request: FundRequest, invoice: str, at: datetime, *, part: bool = False
) -> PaymentInput:
    """The supplier's invoice for ``request``: the whole amount, or (``part``) half of it, a
    first instalment whose invoice number ends in ``-1``."""
    amount, gst = request.amount_cents, request.gst_cents
    if part:
        amount, gst = amount // 2, gst // 2
    return PaymentInput(
        f"{invoice}{'-1' if part else ''}",
        amount,
        gst,
        at.astimezone(ZONE).date(),
        final=not part,
    )
