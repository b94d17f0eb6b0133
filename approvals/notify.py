"""The in-app inbox (what waits for me, what changed on my requests) and its e-mail outbox."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from approvals.models import Notification, User


def notify(
    session: Session,
    user_ids: Iterable[int],
    *,
    kind: str,
    message: str,
    request_id: int | None,
    now: datetime,
) -> None:
    for user_id in sorted(set(user_ids)):
        session.add(
            Notification(
                user_id=user_id,
                kind=kind,
                message=message[:500],
                request_id=request_id,
                created_at=now,
            )
        )
    session.flush()


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


MAIL_WINDOW = timedelta(days=1)  # switching e-mail on does not send a backlog of old news
MAIL_BATCH = 200


def claim_mail(session: Session, *, now: datetime) -> list[Mail]:
    """Claim recent unmailed notifications of active people and say what to send.

    The claim is a conditional update: two mailers running at once never both get a row.
    Claimed before sending, so a failed send is logged and not retried (at most once).
    """
    rows = session.execute(
        select(Notification.id, User.email, Notification.message)
        .join(User, User.id == Notification.user_id)
        .where(
            Notification.emailed_at.is_(None),
            Notification.created_at >= now - MAIL_WINDOW,
            User.active.is_(True),
        )
        .order_by(Notification.created_at, Notification.id)
        .limit(MAIL_BATCH)
    ).all()
    mails = []
    for notification_id, email, message in rows:
        claimed = session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.emailed_at.is_(None))
            .values(emailed_at=now)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            subject = message if len(message) <= 70 else message[:67] + "..."
            mails.append(Mail(email, f"flexpool: {subject}", message))
    return mails
