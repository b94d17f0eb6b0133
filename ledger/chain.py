"""The hash chain: each journal transaction commits to its content and to its predecessor.

``hash = sha256(prev_hash ‖ canonical content)``. The canonical content is sorted-key ASCII JSON
of everything that gives the transaction its meaning, its transfers' amounts and balances-after
included, so changing any stored figure breaks the chain from that transaction on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime


@dataclass(frozen=True)
class TransferContent:
    debit: str
    credit: str
    amount: int
    kind: str
    phase: str
    pending_id: int | None
    expires_at: datetime | None
    category: str | None
    request_id: int | None
    debit_balance_after: int
    credit_balance_after: int


@dataclass(frozen=True)
class TransactionContent:
    book: str
    sequence: int
    effective_date: date
    memo: str
    actor: str
    idempotency_key: str | None
    payload_hash: str
    reverses_id: int | None
    backdated: bool
    created_at: datetime
    transfers: Sequence[TransferContent]


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(content: TransactionContent) -> bytes:
    payload = {
        "book": content.book,
        "seq": content.sequence,
        "date": content.effective_date.isoformat(),
        "memo": content.memo,
        "actor": content.actor,
        "key": content.idempotency_key,
        "payload": content.payload_hash,
        "reverses": content.reverses_id,
        "backdated": content.backdated,
        "created": _instant(content.created_at),
        "transfers": [
            {
                "debit": t.debit,
                "credit": t.credit,
                "amount": t.amount,
                "kind": t.kind,
                "phase": t.phase,
                "pending": t.pending_id,
                "expires": _instant(t.expires_at),
                "category": t.category,
                "request": t.request_id,
                "debit_after": t.debit_balance_after,
                "credit_after": t.credit_balance_after,
            }
            for t in content.transfers
        ],
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def chain_hash(prev_hash: str, content: TransactionContent) -> str:
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(canonical(content))
    return digest.hexdigest()
