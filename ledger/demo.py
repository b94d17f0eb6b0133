"""A small demonstration book that shows every kind of ledger movement once.

A grant arrives, the pool is allocated to two NGO envelopes, requests reserve money for clients,
one is paid in part with GST, one is released, a mistaken allocation is reversed. Dates fall in
the previous and current month of ``today``, so the demo always looks recent.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.books import fund, open_account, open_book
from ledger.errors import DuplicateCodeError
from ledger.models import books
from ledger.money import parse_cents
from ledger.posting import post_entry, reverse_transaction
from ledger.values import (
    JournalEntry,
    Leg,
    PostPending,
    Reserve,
    Transfer,
    TransferKind,
    VoidPending,
)

DEMO_BOOK = "DEMO"
ENVELOPES = {"org:NGO1": "Harbour Mental Health Services", "org:NGO2": "Northside Community Care"}
CLIENTS = ("client:C-0001", "client:C-0002", "client:C-0003", "client:C-0004")


def load_demo_book(session: Session, *, now: datetime, today: date) -> str:
    """Open and fill the DEMO book; refuses if it already exists."""
    if session.execute(select(books.c.id).where(books.c.code == DEMO_BOOK)).first() is not None:
        raise DuplicateCodeError(
            f"The database already holds the demo book {DEMO_BOOK}; use a fresh database."
        )
    open_book(session, code=DEMO_BOOK, name="Demo consortium (North Coast)", now=now)
    for code, name in ENVELOPES.items():
        open_account(session, book=DEMO_BOOK, spec=fund(code, name), now=now)
    for code in CLIENTS:
        open_account(
            session, book=DEMO_BOOK, spec=fund(code, f"Client {code.split(':')[1]}"), now=now
        )

    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)  # first of last month

    def post(day_offset: int, memo: str, *legs: Leg) -> tuple[int, ...]:
        entry = JournalEntry(
            DEMO_BOOK, min(start + timedelta(days=day_offset), today), memo, "demo", legs
        )
        return post_entry(session, entry, now=now).transfer_ids

    def cents(text: str) -> int:
        return parse_cents(text)

    post(
        0,
        "Grant instalment received from the funder",
        Transfer("bank", "pool", cents("120,000.00"), TransferKind.GRANT_RECEIPT),
    )
    post(
        1,
        "Quarterly allocation to partner envelopes",
        Transfer("pool", "org:NGO1", cents("40,000.00"), TransferKind.ALLOCATION),
        Transfer("pool", "org:NGO2", cents("30,000.00"), TransferKind.ALLOCATION),
    )
    mistake = post_entry(
        session,
        JournalEntry(
            DEMO_BOOK,
            start + timedelta(days=2),
            "Allocation keyed twice",
            "demo",
            (Transfer("pool", "org:NGO2", cents("5,000.00"), TransferKind.ALLOCATION),),
        ),
        now=now,
    )
    reverse_transaction(
        session,
        book=DEMO_BOOK,
        transaction_id=mistake.transaction_id,
        effective_date=start + timedelta(days=3),
        memo="Reverse duplicate allocation",
        actor="demo",
        now=now,
    )
    expiry = now + timedelta(days=30)
    (bond,) = post(
        5,
        "R-0001 rental bond",
        Reserve("org:NGO1", "client:C-0001", cents("480.00"), expires_at=expiry, category="bond"),
    )
    (fridge,) = post(
        6,
        "R-0002 fridge",
        Reserve(
            "org:NGO1", "client:C-0002", cents("899.00"), expires_at=expiry, category="furniture"
        ),
    )
    (course,) = post(
        7,
        "R-0003 TAFE course fee",
        Reserve(
            "org:NGO2", "client:C-0003", cents("250.00"), expires_at=expiry, category="education"
        ),
    )
    post(
        8,
        "R-0004 transport to appointments",
        Reserve(
            "org:NGO2", "client:C-0004", cents("120.00"), expires_at=expiry, category="transport"
        ),
    )
    post(
        12,
        "Pay R-0002: invoice INV-2231 $880.00 inc. $80.00 GST (ex-GST charged to funds)",
        PostPending(fridge, cents("800.00")),
        Transfer(
            "client:C-0002", "bank", cents("800.00"), TransferKind.PAYMENT, category="furniture"
        ),
        Transfer(
            "gst_receivable", "bank", cents("80.00"), TransferKind.PAYMENT, category="furniture"
        ),
    )
    post(14, "R-0003 withdrawn: client enrolled through another program", VoidPending(course))
    post(
        20,
        "Pay R-0001: bond lodged, GST-free",
        PostPending(bond),
        Transfer("client:C-0001", "bank", cents("480.00"), TransferKind.PAYMENT, category="bond"),
    )
    return DEMO_BOOK
