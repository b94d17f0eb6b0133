"""Twenty copies of one idempotent approval, sent at once over real PostgreSQL connections: one
effect, and every copy gets the first answer (finding: 276 of 400 answered invalid_transition)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from approvals import idempotency
from approvals.models import Decision
from tests.support.clock import CLOCK
from tests.support.web import make_app
from tests.web.test_api import Api, assert_error, draft_body, issue
from web.session import session_factory

pytestmark = pytest.mark.postgres
COPIES = 20
ROUNDS = 8
HANG = 120  # seconds


@pytest.fixture
def app(demo_postgres: str, tmp_path: Path) -> Iterator[Flask]:
    made = make_app(demo_postgres, tmp_path)
    yield made
    made.extensions["flexpool.engine"].dispose()


def _api(app: Flask, email: str) -> Api:
    response = issue(app, email)
    assert response.status_code == 201, response.get_json()
    return Api(app, response.get_json()["token"])


def _at_once(calls: list[Any]) -> list[Any]:
    start, answers = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG)  # a guard against a hang (the old code waited for ever), not a timing
    assert all(a is not None for a in answers), "a call never answered"
    return answers


def test_twenty_copies_of_one_keyed_approval_approve_once_and_all_replay_it(app: Flask) -> None:
    sf, tl = _api(app, "sf@ngo1.demo"), _api(app, "tl@ngo1.demo")
    copies = [Api(app, tl.token) for _ in range(COPIES)]
    for _ in range(ROUNDS):
        body = draft_body(app, sf, amount="44.00", gst="4.00")
        rid = sf.post("/requests", body).get_json()["id"]
        assert sf.post(f"/requests/{rid}/submit").get_json()["state"] == "pending"
        answers = _approve_at_once(copies, rid, f"approve-{uuid.uuid4()}")
        statuses = [a.status_code for a in answers]
        assert statuses == [200] * COPIES, [a.get_json() for a in answers if a.status_code != 200]
        assert len({str(a.get_json()) for a in answers}) == 1
        replayed = [a for a in answers if a.headers.get("Idempotent-Replayed") == "true"]
        assert len(replayed) == COPIES - 1
        assert _approvals(app, rid) == 1


def _approve_at_once(copies: list[Api], rid: int, key: str) -> list[Any]:
    path, headers = f"/requests/{rid}/approve", {"Idempotency-Key": key}
    return _at_once([lambda c=c: c.post(path, {"amount": "30.00"}, **headers) for c in copies])


def _approvals(app: Flask, rid: int) -> int:
    with session_factory(app)() as session:
        found = session.scalar(
            select(func.count())
            .select_from(Decision)
            .where(Decision.request_id == rid, Decision.action == "approve")
        )
    return found or 0


def test_a_twin_that_waits_too_long_is_told_to_retry_and_then_gets_its_turn(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait for a first call still running is bounded: a clear 409 with Retry-After."""
    monkeypatch.setattr(idempotency, "CLAIM_WAIT", timedelta(milliseconds=300))
    sf = _api(app, "sf@ngo1.demo")
    body, key = draft_body(app, sf), f"slow-{uuid.uuid4()}"
    held = session_factory(app)()  # the first call, still running: its claim not committed
    idempotency.claim(
        held,
        user_id=sf.get("/me").get_json()["id"],
        key=key,
        method="POST",
        path="/api/v1/requests",
        print_="first",
        now=CLOCK.now(),
    )
    answers = _at_once([lambda: sf.post("/requests", body, **{"Idempotency-Key": key})])
    held.rollback()  # the first call failed: nothing kept under the key
    held.close()
    assert assert_error(answers[0], 409)["error"] == "idempotency_in_progress"
    assert answers[0].headers["Retry-After"] == "2"
    assert sf.post("/requests", body, **{"Idempotency-Key": key}).status_code == 201
