"""The holds an entry posts or voids: loaded and checked before any account is locked.

A ``PostPending`` or ``VoidPending`` leg names a reservation by its transfer id; this module
reads those reservations once, with whatever already resolved them, and refuses every leg that
cannot apply (unknown, not a hold, already resolved, expired or not yet expired, posted for more
than was held), so the write path only ever applies legs that are known to be possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.errors import (
    InvalidEntryError,
    NotPendingError,
    PendingAlreadyResolvedError,
    PendingExpiredError,
    PendingNotExpiredError,
    UnknownTransferError,
)
from ledger.models import transfers
from ledger.values import Leg, Phase, PostPending, VoidPending


@dataclass(frozen=True)
class HeldTransfer:
    """A reservation as it stands, and the transfer that resolved it, if any."""

    id: int
    book_id: int
    debit_account_id: int
    credit_account_id: int
    amount: int
    phase: str
    expires_at: datetime | None
    category: str | None
    request_id: int | None
    resolved_by: int | None


def load_pendings(
    session: Session, book_id: int, legs: tuple[Leg, ...], now: datetime
) -> dict[int, HeldTransfer]:
    """The holds ``legs`` post or void, by id; raises if any of them cannot be resolved now."""
    wanted = [leg for leg in legs if isinstance(leg, PostPending | VoidPending)]
    if not wanted:
        return {}
    resolution = transfers.alias("resolution")
    held = transfers.alias("held")
    rows = (
        session.connection()
        .execute(
            select(
                held.c.id,
                held.c.book_id,
                held.c.debit_account_id,
                held.c.credit_account_id,
                held.c.amount,
                held.c.phase,
                held.c.expires_at,
                held.c.category,
                held.c.request_id,
                resolution.c.id.label("resolved_by"),
            )
            .select_from(held.outerjoin(resolution, resolution.c.pending_id == held.c.id))
            .where(held.c.id.in_([leg.pending_id for leg in wanted]))
        )
        .all()
    )
    found = {row.id: HeldTransfer(**row._mapping) for row in rows}
    for leg in wanted:
        _check_resolvable(leg, found.get(leg.pending_id), book_id, now)
    return found


def _check_resolvable(
    leg: PostPending | VoidPending, pending: HeldTransfer | None, book_id: int, now: datetime
) -> None:
    if pending is None or pending.book_id != book_id:
        raise UnknownTransferError(f"There is no pending transfer T{leg.pending_id} in this book.")
    if pending.phase != Phase.PENDING:
        raise NotPendingError(f"Transfer T{pending.id} is not a pending transfer.")
    if pending.resolved_by is not None:
        raise PendingAlreadyResolvedError(
            f"Reservation T{pending.id} was already posted or released (by T{pending.resolved_by})."
        )
    expired = pending.expires_at is not None and pending.expires_at <= now
    if isinstance(leg, PostPending) and expired:
        raise PendingExpiredError(
            f"Reservation T{pending.id} expired at {pending.expires_at:%Y-%m-%d %H:%M} UTC."
        )
    if isinstance(leg, VoidPending) and leg.expiry and not expired:
        raise PendingNotExpiredError(f"Reservation T{pending.id} has not expired yet.")
    if isinstance(leg, PostPending) and leg.amount is not None and leg.amount > pending.amount:
        raise InvalidEntryError(
            [
                f"cannot post {leg.amount} cents against reservation T{pending.id} "
                f"of {pending.amount}"
            ]
        )
