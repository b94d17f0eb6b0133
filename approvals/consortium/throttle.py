"""Sign-in throttling kept in the database, so it holds across every worker and process.

Each attempt to present a password is first written as a failure and committed in its own
transaction, and only then counted (per account, per address, over each window). The k-th attempt
to commit therefore counts at least k rows: however many workers race, no more than the limit of
attempts are let through. An attempt that succeeds is deleted again, and so is one that was
refused (it never reached the password, and keeping it would let a flood of refusals grow the
table); a wrong password stays until the longest window has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from approvals.models import SignInFailure


@dataclass(frozen=True)
class Window:
    """At most ``amount`` failures within ``seconds``."""

    amount: int
    seconds: int


@dataclass(frozen=True)
class Limits:
    """The windows for one account, and the (usually wider) ones for one address: a partner
    NGO's office signs in from a single address."""

    account: Sequence[Window]
    address: Sequence[Window]

    def longest(self) -> int:
        return max((w.seconds for w in (*self.account, *self.address)), default=0)


def account_key(email: str) -> str:
    """The account as the throttle knows it: the typed e-mail, trimmed and lower-cased, whether or
    not such an account exists (an unknown one is throttled the same, so nothing tells them apart).
    """
    return (email or "").strip().lower()[:254]


def record_attempt(
    session: Session, *, account: str, address: str, now: datetime, windows: Limits
) -> int:
    """Write the attempt (as a failure, until it succeeds) and drop rows past every window.

    Commit this before :func:`refused_for` counts, so concurrent attempts see each other.
    """
    longest = windows.longest()
    session.execute(
        delete(SignInFailure).where(
            or_(SignInFailure.account == account, SignInFailure.address == address),
            SignInFailure.at <= now - timedelta(seconds=longest),
        )
    )
    attempt = SignInFailure(account=account, address=address, at=now)
    session.add(attempt)
    session.flush()
    return attempt.id


def refused_for(
    session: Session, *, account: str, address: str, now: datetime, windows: Limits
) -> int | None:
    """Seconds to wait if the account or the address is over a limit (this attempt counted),
    else ``None``."""
    checks = [(w, SignInFailure.account, account) for w in windows.account]
    checks += [(w, SignInFailure.address, address) for w in windows.address]
    for window, column, value in sorted(checks, key=lambda check: check[0].seconds):
        since = now - timedelta(seconds=window.seconds)
        count = session.scalar(
            select(func.count())
            .select_from(SignInFailure)
            .where(column == value, SignInFailure.at > since)
        )
        if (count or 0) > window.amount:
            return window.seconds
    return None


def forget_attempt(session: Session, attempt_id: int) -> None:
    """The attempt succeeded, or was refused before any password was checked."""
    session.execute(delete(SignInFailure).where(SignInFailure.id == attempt_id))
    session.flush()
