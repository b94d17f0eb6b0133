"""The app's own role does the app's work, and cannot switch the tamper evidence off.

A database of the test's own, migrated by the owner; a role given its grants by
``flexpool db grant-app-role`` (docs/operations.md); everything after that as that role.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from approvals.lifecycle.payments import PaymentInput
from approvals.lifecycle.refunds import record_refund
from approvals.models import Payment
from ledger.db import make_engine, make_session_factory
from ledger.verify import verify
from migrations import upgrade
from reports.jobs.tasks import nightly_verify
from tests.support.databases import own_postgres_database, postgres_url
from tests.support.world import A, World, as_, build_desk, build_world
from web.cli import main

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


@pytest.fixture
def app_url() -> Iterator[str]:
    """The app's URL: the test's own database, connected as a role that owns nothing."""
    role = f"flexpool_app_{os.getpid()}"
    admin = create_engine(make_url(postgres_url()).set(database="postgres"))
    with admin.begin() as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
    try:
        with own_postgres_database("app_role") as owner_url:
            upgrade(owner_url)
            granted = CliRunner(env={"FLEXPOOL_DATABASE_URL": owner_url}).invoke(
                main, ["db", "grant-app-role", role], catch_exceptions=False
            )
            assert granted.exit_code == 0, granted.output
            yield make_url(owner_url).set(username=role, password=None).render_as_string(False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def paid_request(world: World) -> None:
    desk = build_desk(world)
    request_id = desk.submitted(amount=8_800, gst=800)
    desk.act("tl1", request_id, A.APPROVE)
    desk.act("fin", request_id, A.PAY, payment=PaymentInput("INV-1", 8_800, 800, NOW.date()))
    with world.factory() as session:
        payment_id = session.execute(
            select(Payment.id).where(Payment.request_id == request_id)
        ).scalar_one()
    as_(
        world,
        "fin",
        lambda s, a: record_refund(
            s, a, payment_id, amount_cents=100, received_on=date(2026, 11, 20), reference="CN",
            now=NOW,
        ),
    )  # fmt: skip


REFUSED = (
    "ALTER TABLE decisions DISABLE TRIGGER decisions_append_only",
    "ALTER TABLE ledger_transfers DISABLE TRIGGER ALL",
    "SET session_replication_role = replica",
    "TRUNCATE audit_events CASCADE",
    "TRUNCATE ledger_transactions CASCADE",
    "UPDATE decisions SET actor_id = actor_id",
    "DELETE FROM audit_events",
    "UPDATE ledger_transfers SET amount = amount + 1",
    "UPDATE payments SET charged_cents = charged_cents + 1",
    "DELETE FROM payments",
    "UPDATE refunds SET amount_cents = amount_cents + 1",
    "CREATE TABLE shadow (id int)",
)


def test_the_app_role_does_the_apps_work_and_cannot_switch_the_evidence_off(
    app_url: str, tmp_path: Path
) -> None:
    engine = make_engine(app_url)
    try:
        factory = make_session_factory(engine)
        world = build_world(factory, NOW)
        paid_request(world)
        with factory() as session:
            assert verify(session, world.code) == []
        night = nightly_verify(factory, world.code, NOW.date(), now=lambda: NOW, out_dir=tmp_path)
        assert night.status == "done", night.detail
        for statement in REFUSED:
            with engine.connect() as conn, conn.begin():
                with pytest.raises(DBAPIError, match="permission denied|must be owner|append-only"):
                    conn.execute(text(statement))
    finally:
        engine.dispose()
