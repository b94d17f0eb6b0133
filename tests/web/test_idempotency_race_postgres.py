"""Twenty copies of one idempotent approval, sent at once over real PostgreSQL connections: one
effect, and every copy gets the first answer (finding: 276 of 400 answered invalid_transition)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from approvals.models import Decision
from tests.web.conftest import make_app
from tests.web.test_api import Api, draft_body, issue
from web import session_factory

pytestmark = pytest.mark.postgres
COPIES = 20
ROUNDS = 8


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

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
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
