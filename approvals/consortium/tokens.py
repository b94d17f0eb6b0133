"""API bearer tokens (the stored first answers of idempotent writes are in ``idempotency``).

A token is ``fp_`` followed by 43 URL-safe characters (256 random bits). Only its sha256 is
kept, so a copy of the database cannot be used to call the API. A token acts for its user in its
consortium with the roles they hold on the day; revoking it, deactivating the user or reaching
its expiry ends it. Making and revoking tokens is written to the audit trail.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.consortium.people import consortium_of
from approvals.errors import InvalidInputError, NotFoundError
from approvals.models import ApiToken, TokenKind, User

PREFIX = "fp_"
MAX_PERSONAL_DAYS = 366
LOGIN_TOKEN_DAYS = 30
MAX_NAME = 80
LAST_USED_GRANULARITY = timedelta(minutes=1)  # a busy client must not write on every call


@dataclass(frozen=True)
class Bearer:
    """Who a verified token speaks for."""

    token_id: int
    user_id: int
    consortium_id: int


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def _check_name(name: str) -> str:
    clean = (name or "").strip()
    if not 0 < len(clean) <= MAX_NAME:
        raise InvalidInputError(
            "Give the token a name.", fields={"name": f"1-{MAX_NAME} characters."}
        )
    return clean


def _issue(
    session: Session,
    *,
    user_id: int,
    consortium_id: int,
    kind: TokenKind,
    name: str,
    expires_at: datetime,
    now: datetime,
) -> tuple[ApiToken, str]:
    secret = _new_secret()
    token = ApiToken(
        consortium_id=consortium_id,
        user_id=user_id,
        kind=kind.value,
        name=name,
        prefix=secret[:12],
        secret_hash=hash_secret(secret),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        consortium_id=consortium_id,
        actor_id=user_id,
        action="api_token.created",
        subject_type="api_token",
        subject_id=token.id,
        now=now,
        kind=kind.value,
        expires_at=expires_at.isoformat(),
    )
    return token, secret


def create_token(
    session: Session, actor: Actor, *, name: str, expires_at: datetime, now: datetime
) -> tuple[ApiToken, str]:
    """A personal token for the actor; the secret is returned here and never again."""
    clean = _check_name(name)
    if not now < expires_at <= now + timedelta(days=MAX_PERSONAL_DAYS):
        raise InvalidInputError(
            "A token expires after today and within a year.",
            fields={"expires_on": "After today, within a year."},
        )
    return _issue(
        session,
        user_id=actor.user_id,
        consortium_id=actor.consortium_id,
        kind=TokenKind.PERSONAL,
        name=clean,
        expires_at=expires_at,
        now=now,
    )


def issue_login_token(
    session: Session, user: User, *, name: str, now: datetime
) -> tuple[ApiToken, str] | None:
    """A token for a user who has just given their password (``None``: they work nowhere)."""
    consortium_id = consortium_of(session, user.id)
    if consortium_id is None:
        return None
    return _issue(
        session,
        user_id=user.id,
        consortium_id=consortium_id,
        kind=TokenKind.LOGIN,
        name=_check_name(name),
        expires_at=now + timedelta(days=LOGIN_TOKEN_DAYS),
        now=now,
    )


def verify_token(session: Session, secret: str, *, now: datetime) -> Bearer | None:
    """The live token with this secret, marked as used; ``None`` for anything else."""
    if not isinstance(secret, str) or not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    token = session.execute(
        select(ApiToken).where(ApiToken.secret_hash == hash_secret(secret))
    ).scalar()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        token.last_used_at = now
        session.flush()
    return Bearer(token.id, token.user_id, token.consortium_id)


def tokens_of(session: Session, actor: Actor) -> list[ApiToken]:
    """The actor's own tokens, newest first, revoked and expired ones included."""
    return list(
        session.execute(
            select(ApiToken)
            .where(ApiToken.user_id == actor.user_id, ApiToken.consortium_id == actor.consortium_id)
            .order_by(ApiToken.id.desc())
        ).scalars()
    )


def revoke_token(session: Session, actor: Actor, token_id: int, *, now: datetime) -> ApiToken:
    """End one of the actor's own tokens; revoking it twice changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.user_id:
        raise NotFoundError("There is no such token.")
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
        audit.record(
            session,
            consortium_id=token.consortium_id,
            actor_id=actor.user_id,
            action="api_token.revoked",
            subject_type="api_token",
            subject_id=token.id,
            now=now,
        )
    return token
