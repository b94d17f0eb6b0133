"""API token services: a secret shown once and stored hashed, verified while live, revoked by its
owner only, audited; idempotency records replay the same write and refuse a different one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals import idempotency
from approvals.consortium import tokens
from approvals.consortium.people import change_password
from approvals.errors import InvalidInputError, NotFoundError
from approvals.models import ApiToken, AuditEvent, User
from ledger.errors import IdempotencyConflictError
from tests.support.world import PASSWORD, World, as_


def make(world: World, who: str, days: int = 30, name: str = "script") -> tuple[int, str]:
    def work(session, actor):  # type: ignore[no-untyped-def]
        token, secret = tokens.create_token(
            session, actor, name=name, expires_at=world.now + timedelta(days=days), now=world.now
        )
        return token.id, secret

    found: tuple[int, str] = as_(world, who, work)
    return found


def verify(world: World, secret: str, days_later: int = 0) -> tokens.Bearer | None:
    moment = world.now + timedelta(days=days_later)
    with world.factory.begin() as session:
        return tokens.verify_token(session, secret, now=moment)


def test_a_token_is_stored_hashed_and_verifies_as_its_user(world: World) -> None:
    token_id, secret = make(world, "sf1")
    assert secret.startswith("fp_") and len(secret) > 40
    with world.factory() as session:
        stored = session.get_one(ApiToken, token_id)
        assert stored.secret_hash == tokens.hash_secret(secret) != secret
        audited = session.execute(
            select(AuditEvent.action).where(
                AuditEvent.subject_type == "api_token", AuditEvent.subject_id == token_id
            )
        ).scalars()
        assert list(audited) == ["api_token.created"]
    bearer = verify(world, secret)
    assert bearer == tokens.Bearer(token_id, world.users["sf1"], world.consortium_id)
    with world.factory() as session:
        assert session.get_one(ApiToken, token_id).last_used_at == world.now


@pytest.mark.parametrize("secret", ["", "fp_", "fp_guess", "x" * 500, "nope"])
def test_unknown_secrets_verify_as_nobody(world: World, secret: str) -> None:
    make(world, "sf1")
    assert verify(world, secret) is None


def test_expired_and_revoked_tokens_verify_as_nobody(world: World) -> None:
    token_id, secret = make(world, "sf1", days=2)
    assert verify(world, secret, days_later=1) is not None
    assert verify(world, secret, days_later=2) is None
    other_id, other = make(world, "sf1")
    with pytest.raises(NotFoundError):
        as_(world, "pm", lambda s, a: tokens.revoke_token(s, a, other_id, now=world.now))
    as_(world, "sf1", lambda s, a: tokens.revoke_token(s, a, other_id, now=world.now))
    as_(world, "sf1", lambda s, a: tokens.revoke_token(s, a, other_id, now=world.now))
    assert verify(world, other) is None
    with world.factory() as session:
        revoked = session.execute(
            select(AuditEvent.id).where(
                AuditEvent.action == "api_token.revoked", AuditEvent.subject_id == other_id
            )
        ).all()
        assert len(revoked) == 1


@pytest.mark.parametrize(("name", "days"), [("", 30), ("x" * 81, 30), ("ok", 0), ("ok", 400)])
def test_a_token_needs_a_name_and_an_expiry_within_a_year(
    world: World, name: str, days: int
) -> None:
    with pytest.raises(InvalidInputError):
        make(world, "sf1", days=days, name=name)


def test_an_idempotency_key_replays_or_conflicts(world: World) -> None:
    user = world.users["sf1"]
    first = idempotency.fingerprint("POST", "/api/v1/requests", b'{"a":1}')
    with world.factory.begin() as session:
        assert idempotency.find_replay(session, user, "k1", first, now=world.now) is None
        _claim(session, user, "k1", first, world.now)
        idempotency.settle(session, user_id=user, key="k1", status=201, body={"id": 7})
    with world.factory.begin() as session:
        found = idempotency.find_replay(session, user, "k1", first, now=world.now)
        assert found is not None and (found.status, found.body) == (201, {"id": 7})
        assert (
            idempotency.find_replay(session, world.users["sf2"], "k1", first, now=world.now) is None
        )
        other = idempotency.fingerprint("POST", "/api/v1/requests", b'{"a":2}')
        with pytest.raises(IdempotencyConflictError):
            idempotency.find_replay(session, user, "k1", other, now=world.now)


def _claim(session: Session, user: int, key: str, print_: str, now: datetime, **kw: Any) -> None:
    idempotency.claim(
        session, user_id=user, key=key, method="POST", path="/x", print_=print_, now=now, **kw
    )


def test_a_leased_claim_answers_in_progress_until_its_lease_ends_then_is_released(
    world: World,
) -> None:
    """A claim whose holder died (a worker killed mid-export) must not hold the key for ever."""
    user, print_ = world.users["sf1"], idempotency.fingerprint("POST", "/x", b"{}")
    with world.factory.begin() as session:
        _claim(session, user, "k2", print_, world.now, lease=True)
    with world.factory.begin() as session:
        with pytest.raises(idempotency.IdempotencyInProgressError):
            idempotency.find_replay(
                session, user, "k2", print_, now=world.now + timedelta(minutes=1)
            )
    later = world.now + idempotency.CLAIM_LEASE + timedelta(seconds=1)
    with world.factory.begin() as session:
        assert idempotency.find_replay(session, user, "k2", print_, now=later) is None
        _claim(session, user, "k2", print_, later)  # the key is free again


def test_a_password_change_revokes_every_token_of_that_person_and_no_one_elses(
    world: World,
) -> None:
    _, mine = make(world, "sf1")
    _, also_mine = make(world, "sf1", name="other script")
    _, theirs = make(world, "sf2")
    with world.factory.begin() as session:
        user = session.get_one(User, world.users["sf1"])
        change_password(
            session, user, current=PASSWORD, new="a brand new passphrase here", now=world.now
        )
    assert verify(world, mine) is None and verify(world, also_mine) is None
    assert verify(world, theirs) is not None
