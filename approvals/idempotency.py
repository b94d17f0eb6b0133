"""The stored first answer to a write sent with an ``Idempotency-Key``, and the claim on the key
that makes a retry wait for (and replay) the first call instead of running the work again.

A key is claimed before the work runs. Inside the work's own transaction the claim is invisible
until it commits with the answer, and a twin's insert waits on the unique index (so a dead
connection releases it). A write whose work commits on its own (an export) claims in a
transaction of its own, with a lease: a claim whose holder died is released when it ends.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from approvals.errors import ApprovalError
from approvals.models import IdempotentRequest
from ledger.errors import IdempotencyConflictError

CLAIM_WAIT = timedelta(seconds=5)  # how long a retry waits for its twin still running
CLAIM_LEASE = timedelta(minutes=15)  # how long a claim outside the work's transaction holds
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired


class IdempotencyInProgressError(ApprovalError):
    """The first call with this key is still running: retry shortly to get its answer."""

    code = "idempotency_in_progress"
    kind = "conflict"
    retry_after = 2

    def __init__(self) -> None:
        super().__init__(
            "The first request with this Idempotency-Key is still running; retry shortly to get"
            " its answer.",
            fields={"Idempotency-Key": "Retry shortly with the same key and body."},
        )


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def find_replay(
    session: Session, user_id: int, key: str, print_: str, *, now: datetime
) -> IdempotentRequest | None:
    """The stored first answer for this key; a conflict if the key was used for another write, a
    409 to retry while a claim holds it, and nothing (the claim dropped) once its lease is over."""
    found = session.execute(
        select(IdempotentRequest).where(
            IdempotentRequest.user_id == user_id, IdempotentRequest.key == key
        )
    ).scalar()
    if found is not None and found.fingerprint != print_:
        raise IdempotencyConflictError(
            "This Idempotency-Key was already used for a different request.",
            fields={"Idempotency-Key": "Use a new key for a new request."},
        )
    if found is None or found.lease_until is None:
        return found
    if found.lease_until > now:
        raise IdempotencyInProgressError()
    # Its holder died (a killed worker): release the claim so this call runs the work.
    session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.id == found.id, IdempotentRequest.lease_until == found.lease_until
        )
    )
    session.flush()
    return None


def claim(
    session: Session,
    *,
    user_id: int,
    key: str,
    method: str,
    path: str,
    print_: str,
    now: datetime,
    lease: bool = False,
) -> None:
    """Claim the key before the work runs, so a twin call waits for this one and replays it.

    INVARIANT: one call per (user, key) does the work. Inside the work's own transaction
    (``lease=False``) the claim is invisible until it commits with the answer: a twin's insert
    waits on the unique index (on PostgreSQL at most ``CLAIM_WAIT``, then
    :class:`IdempotencyInProgressError`), then fails, and the twin replays the answer. With
    ``lease=True`` the claim commits on its own and holds until ``now + CLAIM_LEASE``.
    """
    session.flush()  # what was pending, so the timeout below bounds only the claim
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        _lock_timeout(session, f"{int(CLAIM_WAIT.total_seconds() * 1000)}ms")
    session.add(
        IdempotentRequest(
            user_id=user_id,
            key=key,
            method=method,
            path=path[:300],
            fingerprint=print_,
            status=409,
            body={},
            created_at=now,
            lease_until=now + CLAIM_LEASE if lease else None,
        )
    )
    try:
        session.flush()
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise IdempotencyInProgressError() from error
        raise
    if postgres:
        _lock_timeout(session, "0")


def _lock_timeout(session: Session, value: str) -> None:
    session.execute(text("SELECT set_config('lock_timeout', :value, true)"), {"value": value})


def settle(session: Session, *, user_id: int, key: str, status: int, body: dict[str, Any]) -> None:
    """Put the real answer in place of the claim (and end its lease)."""
    found = _claimed(session, user_id, key)
    found.status = status
    found.body = body
    found.lease_until = None
    session.flush()


def forget(session: Session, *, user_id: int, key: str) -> None:
    """Drop a claim whose work failed unexpectedly, so a retry with the key may run it again."""
    session.delete(_claimed(session, user_id, key))
    session.flush()


def _claimed(session: Session, user_id: int, key: str) -> IdempotentRequest:
    return session.execute(
        select(IdempotentRequest).where(
            IdempotentRequest.user_id == user_id, IdempotentRequest.key == key
        )
    ).scalar_one()
