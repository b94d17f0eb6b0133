"""Transitions raced through the JSON API: one winner, clear 409s for the rest, never a 500.

The API loads a request to check scope before its transition locks it, so a transition that kept
that first copy acted on a state another connection had already changed. Each racer here is its
own test client on its own PostgreSQL connection, released together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

from approvals.consortium import tokens
from approvals.models import Decision, RequestStep
from ledger import verify
from ledger.db import make_engine, make_session_factory, run_in_transaction
from tests.support.web import make_app
from tests.support.world import A, Desk

pytestmark = pytest.mark.postgres
API = "/api/v1"


@pytest.fixture
def app(pg_desk: Desk, postgres_migrated: str, tmp_path: Path) -> Any:
    app = make_app(postgres_migrated, tmp_path)
    engine = make_engine(postgres_migrated, poolclass=NullPool)  # a real connection per racer
    app.extensions["flexpool.sessions"] = make_session_factory(engine)
    yield app
    engine.dispose()
    app.extensions["flexpool.engine"].dispose()


def token(desk: Desk, who: str, app: Flask) -> str:
    """A fresh token, used once: its first use marks it used, which would queue the racers."""
    moment = datetime.now(UTC)

    def issue(session: Any) -> str:
        actor = desk.world.actor(session, who)
        _, secret = tokens.create_token(
            session, actor, name="race", expires_at=moment + timedelta(days=7), now=moment
        )
        return secret

    secret = run_in_transaction(desk.world.factory, issue)
    app.test_client().get(f"{API}/requests", headers={"Authorization": f"Bearer {secret}"})
    return secret


def race_calls(app: Flask, calls: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[int, Any]]:
    """(token, path, body) posted together, each from its own client; (status, JSON) each."""
    barrier = threading.Barrier(len(calls), timeout=30)
    answers: list[tuple[int, Any]] = [(0, None)] * len(calls)

    def call(i: int) -> None:
        secret, path, body = calls[i]
        client = app.test_client()
        barrier.wait()
        response = client.post(API + path, json=body, headers={"Authorization": f"Bearer {secret}"})
        answers[i] = (response.status_code, response.get_json(silent=True))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def count(desk: Desk, query: Callable[[], Any]) -> int:
    with desk.world.factory() as session:
        return int(session.execute(query()).scalar_one())


def test_submit_and_withdraw_raced_give_one_winner_and_a_withdrawn_draft_stays_withdrawn(
    pg_desk: Desk, app: Flask
) -> None:
    desk = pg_desk
    drafts = [desk.new(amount=1_000) for _ in range(12)]
    calls = []
    for draft in drafts:
        calls += [
            (token(desk, "sf1", app), f"/requests/{draft}/withdraw", {}),
            (token(desk, "sf1", app), f"/requests/{draft}/submit", {}),
        ]
    answers = race_calls(app, calls)
    assert {status for status, _ in answers} <= {200, 409}, answers
    for i, draft in enumerate(drafts):
        withdrawn, submitted = answers[2 * i], answers[2 * i + 1]
        assert withdrawn[0] == 200, withdrawn  # a draft or a pending request may be withdrawn
        assert desk.state(draft) == "withdrawn"
        if submitted[0] == 409:
            assert submitted[1]["error"] == "invalid_transition"
        decided = count(desk, lambda d=draft: select(func.count()).where(Decision.request_id == d))
        assert decided == 1 + (submitted[0] == 200)


def test_twenty_submits_of_one_draft_give_one_200_and_409s(pg_desk: Desk, app: Flask) -> None:
    desk = pg_desk
    draft = desk.new(amount=1_000)
    calls = [(token(desk, "sf1", app), f"/requests/{draft}/submit", {}) for _ in range(20)]
    answers = race_calls(app, calls)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [409] * 19, answers
    assert all(body["error"] == "invalid_transition" for status, body in answers if status == 409)
    assert desk.state(draft) == "pending"
    steps = count(desk, lambda: select(func.count()).where(RequestStep.request_id == draft))
    assert steps == 1  # the default chain for $10 is the Team Leader alone, one round


def test_twenty_payments_of_one_request_raced_stay_within_approval_and_tolerance(
    pg_desk: Desk, app: Flask
) -> None:
    desk = pg_desk
    request_id = desk.submitted(amount=10_000)
    desk.act("tl1", request_id, A.APPROVE)
    calls = [
        (
            token(desk, "fin", app),
            f"/requests/{request_id}/payments",
            {
                "invoice_number": f"INV-P{i}",
                "inc_gst": "30.00",
                "gst": "0.00",
                "paid_on": "2026-11-20",
            },
        )
        for i in range(20)
    ]
    answers = race_calls(app, calls)
    statuses = sorted(status for status, _ in answers)
    # $30 three times is part-paid; the fourth ($120) is within the $20 tolerance and settles.
    assert statuses.count(201) == 4 and all(s in (201, 409, 422) for s in statuses), answers
    assert desk.state(request_id) == "paid"
    with desk.world.factory() as session:
        assert verify(session, desk.world.code) == []


def test_one_invoice_number_paid_on_twenty_requests_at_once_answers_one_201_and_409s(
    pg_desk: Desk, app: Flask
) -> None:
    desk = pg_desk
    requests = []
    for _ in range(20):
        request_id = desk.submitted(amount=1_000)
        desk.act("tl1", request_id, A.APPROVE)
        requests.append(request_id)
    body = {"invoice_number": "INV-ONE", "inc_gst": "10.00", "gst": "0.00", "paid_on": "2026-11-20"}
    calls = [(token(desk, "fin", app), f"/requests/{r}/payments", body) for r in requests]
    answers = race_calls(app, calls)
    assert sorted(status for status, _ in answers) == [201] + [409] * 19, answers
    assert all(body["error"] == "duplicate" for status, body in answers if status == 409)
    assert sorted(desk.state(r) for r in requests) == ["approved"] * 19 + ["paid"]
