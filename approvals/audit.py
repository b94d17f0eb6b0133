"""The audit trail: every change, and every read of a client record, hash-chained per consortium.

Appending locks the consortium's ``AuditHead`` row, so the sequence is gapless and the chain has
one order, exactly as the ledger's book row does for transactions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from approvals.models import AuditEvent, AuditHead, Decision
from ledger.models import GENESIS_HASH


def _canonical(event: AuditEvent) -> bytes:
    payload = [
        "flexpool-audit-v1",
        event.consortium_id,
        event.sequence,
        event.actor_id,
        event.action,
        event.subject_type,
        event.subject_id,
        event.details,
        event.at.astimezone(UTC).isoformat(timespec="microseconds"),
    ]
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _hash(prev_hash: str, event: AuditEvent) -> str:
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(_canonical(event))
    return digest.hexdigest()


def decision_digest(decision: Decision) -> str:
    """What a decision said, as its audit event carries it: who, what, for whom, how much, when.

    The decision row and its event are written in one transaction; the event is chained, so a
    decision rewritten later no longer matches (``approvals.lifecycle.records``)."""
    payload = [
        "flexpool-decision-v1",
        decision.id,
        decision.request_id,
        decision.step_id,
        decision.round,
        decision.action,
        decision.from_state,
        decision.to_state,
        decision.actor_id,
        decision.on_behalf_of_id,
        decision.reason,
        decision.amount_cents,
        decision.at.astimezone(UTC).isoformat(timespec="microseconds"),
    ]
    encoded = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()
    return hashlib.sha256(encoded).hexdigest()


def open_trail(session: Session, consortium_id: int) -> None:
    session.add(AuditHead(consortium_id=consortium_id, last_sequence=0, last_hash=GENESIS_HASH))
    session.flush()


def record(
    session: Session,
    *,
    consortium_id: int,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    now: datetime,
    **details: Any,
) -> AuditEvent:
    """Append one event. ``details`` hold codes and ids, never health information."""
    head = session.execute(
        select(AuditHead).where(AuditHead.consortium_id == consortium_id).with_for_update()
    ).scalar_one()
    event = AuditEvent(
        consortium_id=consortium_id,
        sequence=head.last_sequence + 1,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=details,
        at=now,
        prev_hash=head.last_hash,
    )
    event.hash = _hash(head.last_hash, event)
    session.add(event)
    session.execute(
        update(AuditHead)
        .where(AuditHead.consortium_id == consortium_id)
        .values(last_sequence=event.sequence, last_hash=event.hash)
    )
    session.flush()
    return event


@dataclass(frozen=True)
class AuditFinding:
    sequence: int
    message: str


def verify_trail(session: Session, consortium_id: int) -> list[AuditFinding]:
    """Every gap and broken link in a consortium's audit chain."""
    findings: list[AuditFinding] = []
    prev_hash, expected = GENESIS_HASH, 1
    events = session.execute(
        select(AuditEvent)
        .where(AuditEvent.consortium_id == consortium_id)
        .order_by(AuditEvent.sequence)
    ).scalars()
    for event in events:
        if event.sequence != expected:
            findings.append(
                AuditFinding(event.sequence, f"Audit event #{event.sequence} follows a gap.")
            )
        if event.prev_hash != prev_hash or _hash(event.prev_hash, event) != event.hash:
            findings.append(
                AuditFinding(event.sequence, f"Audit event #{event.sequence} breaks the chain.")
            )
        prev_hash, expected = event.hash, event.sequence + 1
    head = session.get(AuditHead, consortium_id)
    if head is not None and (head.last_sequence, head.last_hash) != (expected - 1, prev_hash):
        findings.append(AuditFinding(expected - 1, "The audit head does not match the last event."))
    return findings
