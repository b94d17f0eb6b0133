"""The hash chain: each journal transaction commits to its content and to its predecessor.

``hash = sha256(prev_hash ‖ canonical content)``. The canonical content is ASCII JSON, in a
fixed field order, of everything that gives the transaction its meaning, its transfers' amounts
and balances-after included, so changing any stored figure breaks the chain from there on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class TransactionContent:
    book: str
    sequence: int
    effective_date: date
    memo: str
    actor: str
    idempotency_key: str | None
    payload_hash: str | None
    reverses_id: int | None
    backdated: bool
    created_at: datetime
    transfers: Sequence[TransferContent]


def transfer_content(row: Mapping[str, Any], code_of: Callable[[int], str]) -> TransferContent:
    """What the chain commits to for one transfer row, read by column name.

    The one builder posting, bulk load and verify share: the row is a transfer as written to
    ``ledger_transfers`` (a dict before the insert, a result row's mapping when read back), and
    ``code_of`` names an account by its id.
    """
    return TransferContent(
        debit=code_of(row["debit_account_id"]),
        credit=code_of(row["credit_account_id"]),
        amount=row["amount"],
        kind=row["kind"],
        phase=row["phase"],
        pending_id=row["pending_id"],
        expires_at=row["expires_at"],
        category=row["category"],
        request_id=row["request_id"],
        debit_balance_after=row["debit_balance_after"],
        credit_balance_after=row["credit_balance_after"],
    )


def transaction_hash(
    prev_hash: str,
    *,
    book: str,
    sequence: int,
    effective_date: date,
    memo: str,
    actor: str,
    idempotency_key: str | None,
    payload_hash: str | None,
    reverses_id: int | None,
    backdated: bool,
    created_at: datetime,
    transfers: Sequence[TransferContent],
) -> str:
    """The chain hash of one transaction: the one function posting, bulk load and verify call.

    Every field is named, so two of the look-alike ones (two ids, two optional strings) can never
    trade places between the code that writes the chain and the code that checks it.
    """
    content = TransactionContent(
        book=book,
        sequence=sequence,
        effective_date=effective_date,
        memo=memo,
        actor=actor,
        idempotency_key=idempotency_key,
        payload_hash=payload_hash,
        reverses_id=reverses_id,
        backdated=backdated,
        created_at=created_at,
        transfers=transfers,
    )
    return chain_hash(prev_hash, content)


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(content: TransactionContent) -> bytes:
    """Positional JSON arrays: unambiguous, stable, and about twice as fast as sorted objects.

    Field order is part of the format; changing it changes every hash, so it never changes.
    """
    payload = [
        "flexpool-ledger-v1",
        content.book,
        content.sequence,
        content.effective_date.isoformat(),
        content.memo,
        content.actor,
        content.idempotency_key,
        content.payload_hash,
        content.reverses_id,
        content.backdated,
        _instant(content.created_at),
        [
            [
                t.debit,
                t.credit,
                t.amount,
                t.kind,
                t.phase,
                t.pending_id,
                _instant(t.expires_at),
                t.category,
                t.request_id,
                t.debit_balance_after,
                t.credit_balance_after,
            ]
            for t in content.transfers
        ],
    ]
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


def chain_hash(prev_hash: str, content: TransactionContent) -> str:
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(canonical(content))
    return digest.hexdigest()
