"""The in-app inbox: what waits for me, and what changed on my requests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from approvals.models import Notification


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
