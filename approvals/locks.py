"""Row locks that serialise changes to money, taken in one order (docs/concurrency.md).

INVARIANT: a transaction takes these locks in this order, never the other way round, so no two
can wait on each other: request -> payment -> supplier -> client -> ledger book -> accounts ->
audit head. A lock is held until commit; whatever is read after it is read fresh.

The row comes back with its attributes loaded again from the locked version
(``populate_existing``): an object the session read before the lock, to check scope for
example, would otherwise keep the state another connection has since changed. On PostgreSQL the
lock is ``FOR NO KEY UPDATE`` where rows only point at the locked one (a payment or a refund
inserted meanwhile does not wait for it); SQLite runs one writer at a time anyway.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals.models import Client, FundRequest, Payment, Supplier

Row = TypeVar("Row", FundRequest, Payment, Supplier, Client)


def locked(session: Session, model: type[Row], row_id: int) -> Row | None:
    """The row, locked until commit and read fresh; ``None`` if there is no such row."""
    statement = (
        select(model)
        .where(model.id == row_id)
        .with_for_update(key_share=model is not FundRequest)
        .execution_options(populate_existing=True)
    )
    return session.execute(statement).scalar()
