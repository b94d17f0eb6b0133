"""The ledger state a period's file is built from: every export and the month close name it.

Why a module of its own in the shared layer: the journal, the reconciliation, the acquittal, the
accounting files and the month's sign-off all record the same head (sequence and chain hash of
the last transaction dated in the period), so each kind reads it here rather than from another
kind (docs/exports.md#exports-and-their-runs, "Same ledger, same bytes").
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import books, transactions


def ledger_head(session: Session, book: str, through: date | None) -> tuple[int, str]:
    """The last transaction dated on or before ``through``: the state a period's file shows.

    Its sequence and chain hash name the ledger state an export was built from; a later
    transaction dated inside the period (a backdated entry) changes them, which is how a stale
    export or sign-off is detected.
    """
    query = (
        select(transactions.c.sequence, transactions.c.hash)
        .join(books, books.c.id == transactions.c.book_id)
        .where(books.c.code == book)
        .order_by(transactions.c.sequence.desc())
        .limit(1)
    )
    if through is not None:
        query = query.where(transactions.c.effective_date <= through)
    found = session.execute(query).first()
    return (int(found[0]), str(found[1])) if found else (0, "0" * 64)
