"""Tampering by whoever owns the database (triggers off) is found by the nightly verify.

Each test changes one thing underneath the application, as the database owner can: on
PostgreSQL with ``session_replication_role = replica`` (triggers off for the transaction), on
SQLite by dropping the triggers of this test's own copy of the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from approvals import audit
from approvals.lifecycle.payments import PaymentInput
from approvals.lifecycle.refunds import record_refund
from approvals.models import AuditEvent, AuditHead, Payment
from ledger.chain import transaction_hash, transfer_content
from ledger.models import accounts, books, transactions, transfers
from ledger.verify import verify
from reports import anchors
from reports.jobs.tasks import Outcome, nightly_verify
from tests.support.world import A, Desk, World, as_, build_desk, build_world

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
KEY = b"kept-outside-the-database"


def tamper(engine: Engine, *statements: str, **params: Any) -> None:
    """Run ``statements`` with every trigger off, as the owner of the database can."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            for (name,) in names.all():
                conn.execute(text(f'DROP TRIGGER "{name}"'))
        for statement in statements:
            conn.execute(text(statement), params)


@dataclass
class Paid:
    world: World
    engine: Engine
    folder: Path
    request_id: int
    payment_id: int
    night: int = 0

    def verify(self, key: bytes | None = None) -> Outcome:
        """The next night's verify, anchoring in ``folder``."""
        self.night += 1
        at = NOW + timedelta(days=self.night)
        return nightly_verify(
            self.world.factory,
            self.world.code,
            at.date(),
            now=lambda: at,
            out_dir=self.folder,
            key=key,
        )


@pytest.fixture
def paid(session_factory: sessionmaker[Session], engine: Engine, tmp_path: Path) -> Paid:
    """An approved request paid with GST and partly refunded; one clean, anchored verify."""
    desk: Desk = build_desk(build_world(session_factory, NOW))
    request_id = desk.submitted(amount=8_800, gst=800)
    desk.act("tl1", request_id, A.APPROVE)
    payment = PaymentInput("INV-1", 8_800, 800, date(2026, 11, 20))
    desk.act("fin", request_id, A.PAY, payment=payment)
    with desk.world.factory() as session:
        payment_id = session.execute(
            select(Payment.id).where(Payment.request_id == request_id)
        ).scalar_one()
    as_(
        desk.world,
        "fin",
        lambda s, a: record_refund(
            s, a, payment_id, amount_cents=3_000, received_on=NOW.date(), reference="CN-1", now=NOW
        ),
    )
    state = Paid(desk.world, engine, tmp_path / "exports", request_id, payment_id)
    assert state.verify(KEY).status == "done"
    return state


def failed_with(outcome: Outcome, *phrases: str) -> bool:
    return outcome.status == "failed" and all(phrase in outcome.detail for phrase in phrases)


def test_a_payment_amount_changed_underneath_fails_the_nightly_verify(paid: Paid) -> None:
    tamper(
        paid.engine,
        "UPDATE payments SET inc_gst_cents = 880, gst_cents = 80, charged_cents = 800 "
        "WHERE id = :id",
        id=paid.payment_id,
    )
    outcome = paid.verify()
    assert failed_with(outcome, "[records]", f"Payment {paid.payment_id}", "$8.80 paid")


def test_an_approved_amount_changed_underneath_fails_the_nightly_verify(paid: Paid) -> None:
    tamper(
        paid.engine,
        "UPDATE fund_requests SET approved_cents = approved_cents + 100000 WHERE id = :id",
        id=paid.request_id,
    )
    assert failed_with(paid.verify(), "[records]", "approved; its approval reserved $80.00")


def test_a_decisions_actor_changed_underneath_fails_the_nightly_verify(paid: Paid) -> None:
    tamper(
        paid.engine,
        "UPDATE decisions SET actor_id = :pm WHERE request_id = :id AND action = 'approve'",
        pm=paid.world.users["pm"],
        id=paid.request_id,
    )
    assert failed_with(paid.verify(), "[records]", "is not what the audit trail recorded")


def test_a_refund_raised_underneath_beyond_its_payment_fails_the_nightly_verify(
    paid: Paid,
) -> None:
    tamper(paid.engine, "UPDATE refunds SET amount_cents = 9000")
    outcome = paid.verify()
    assert failed_with(outcome, "[records]", "does not match its ledger transaction")
    assert "more than the $80.00 it charged" in outcome.detail


def _rewrite_newest_transaction(session: Session, code: str) -> None:
    """Change the newest transaction's memo and actor, recompute its hash and the book's head."""
    book = session.execute(select(books).where(books.c.code == code)).one()
    tx = session.execute(
        select(transactions).where(
            transactions.c.book_id == book.id, transactions.c.sequence == book.last_sequence
        )
    ).one()
    codes = {row.id: row.code for row in session.execute(select(accounts.c.id, accounts.c.code))}
    legs = session.execute(
        select(transfers).where(transfers.c.transaction_id == tx.id).order_by(transfers.c.id)
    ).all()
    memo, actor = "Refund on R-0001: corrected", "nobody"
    new_hash = transaction_hash(
        tx.prev_hash,
        book=code,
        sequence=tx.sequence,
        effective_date=tx.effective_date,
        memo=memo,
        actor=actor,
        idempotency_key=tx.idempotency_key,
        payload_hash=tx.payload_hash,
        reverses_id=tx.reverses_id,
        backdated=tx.backdated,
        created_at=tx.created_at,
        transfers=[transfer_content(t._mapping, codes.__getitem__) for t in legs],
    )
    statements = (
        "UPDATE ledger_transactions SET memo = :memo, actor = :actor, hash = :hash WHERE id = :id",
        "UPDATE ledger_books SET last_hash = :hash WHERE id = :book",
    )
    params = {"memo": memo, "actor": actor, "hash": new_hash, "id": tx.id, "book": book.id}
    session.rollback()
    tamper(session.get_bind(), *statements, **params)  # type: ignore[arg-type]


def test_the_newest_transaction_rewritten_with_its_hash_and_head_is_caught_by_the_anchor(
    paid: Paid,
) -> None:
    with paid.world.factory() as session:
        _rewrite_newest_transaction(session, paid.world.code)
    with paid.world.factory() as session:
        assert verify(session, paid.world.code) == []  # the chain alone no longer tells
    outcome = paid.verify(KEY)
    assert failed_with(outcome, "[anchor]", "The ledger chain's #", "has a different hash")


def _rewrite_audit_trail(session: Session, consortium_id: int, engine: Engine) -> None:
    """Every event's actor erased, the whole chain and its head recomputed."""
    events = list(
        session.execute(
            select(AuditEvent)
            .where(AuditEvent.consortium_id == consortium_id)
            .order_by(AuditEvent.sequence)
        ).scalars()
    )
    prev, statements, params = events[0].prev_hash, [], {}
    for n, event in enumerate(events):
        event.actor_id, event.prev_hash = None, prev
        prev = audit._hash(prev, event)  # noqa: SLF001 - the attacker has the source too
        statements.append(
            f"UPDATE audit_events SET actor_id = NULL, prev_hash = :p{n}, hash = :h{n} "
            f"WHERE id = :i{n}"
        )
        params.update({f"p{n}": event.prev_hash, f"h{n}": prev, f"i{n}": event.id})
    session.rollback()
    statements.append("UPDATE audit_heads SET last_hash = :head WHERE consortium_id = :c")
    tamper(engine, *statements, **params, head=prev, c=consortium_id)


def test_the_whole_audit_trail_rewritten_with_its_head_is_caught_by_the_anchor(
    paid: Paid,
) -> None:
    with paid.world.factory() as session:
        _rewrite_audit_trail(session, paid.world.consortium_id, paid.engine)
    with paid.world.factory() as session:
        assert audit.verify_trail(session, paid.world.consortium_id) == []
        assert session.get_one(AuditHead, paid.world.consortium_id).last_sequence > 0
    assert failed_with(paid.verify(KEY), "[anchor]", "The audit chain's #", "has a different")


def test_an_anchor_file_rewritten_without_the_key_is_refused(paid: Paid) -> None:
    with paid.world.factory() as session:
        _rewrite_newest_transaction(session, paid.world.code)
        forged_head = session.execute(
            select(books.c.last_hash).where(books.c.code == paid.world.code)
        ).scalar_one()
    path = paid.folder / anchors.FILE_NAME
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        if line["chain"] == "ledger":
            line["hash"] = forged_head
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    outcome = paid.verify(KEY)
    assert failed_with(outcome, "[anchor]", "does not carry the key's MAC")
    assert "has a different hash" not in outcome.detail


def test_a_clean_verify_anchors_both_chains_and_the_next_compares_them(paid: Paid) -> None:
    second = paid.verify(KEY)
    assert second.status == "done" and "compared 2 anchored chain head(s)" in second.detail
    lines = (paid.folder / anchors.FILE_NAME).read_text().splitlines()
    assert sorted(json.loads(line)["chain"] for line in lines) == sorted(["ledger", "audit"] * 2)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE payments SET charged_cents = charged_cents + 1",
        "UPDATE payments SET invoice_number = 'INV-2'",
        "DELETE FROM payments",
        "UPDATE refunds SET amount_cents = amount_cents + 1",
        "DELETE FROM refunds",
        "DELETE FROM audit_heads",
        "UPDATE request_exceptions SET detail = 'x'",
        "DELETE FROM client_status_changes",
        "UPDATE job_runs SET detail = 'nothing happened'",
        "DELETE FROM job_runs",
    ],
)
def test_the_records_beside_the_ledger_refuse_rewriting_while_triggers_are_on(
    paid: Paid, statement: str
) -> None:
    with paid.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO request_exceptions (request_id, kind, detail, at) "
                "VALUES (:id, 'note', 'kept', :at)"
            ),
            {"id": paid.request_id, "at": NOW},
        )
    with pytest.raises(IntegrityError, match="append-only"), paid.engine.begin() as conn:
        conn.execute(text(statement))
