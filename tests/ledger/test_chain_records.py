"""Posting, bulk load and verify hash a transaction through one function, with the same fields."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ledger import JournalEntry, Transfer, TransferKind, chain, post_entry
from ledger.bulk import load_history
from ledger.chain import TransactionContent, TransferContent
from tests.support.ledger import LedgerKit, open_kit

START = date(2026, 7, 1)


def _entries(book: str) -> list[JournalEntry]:
    grant = Transfer("bank", "pool", 50_000, TransferKind.GRANT_RECEIPT)
    entries = [JournalEntry(book, START, "grant", "import", (grant,), "grant-1")]
    for i in range(4):
        leg = Transfer("pool", f"org:NGO{1 + i % 2}", 100 + i, TransferKind.ALLOCATION)
        entries.append(
            JournalEntry(book, START + timedelta(days=i), f"allocation {i}", "import", (leg,))
        )
    return entries


class Spy:
    """Every call of ``chain.transaction_hash``, by whoever made it, with what it was given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, dict[str, Any], str]] = []
        real = chain.transaction_hash

        def spy(prev_hash: str, **fields: Any) -> str:
            result = real(prev_hash, **fields)
            self.calls.append((prev_hash, fields, result))
            return result

        monkeypatch.setattr(chain, "transaction_hash", spy)

    def take(self) -> list[tuple[str, dict[str, Any], str]]:
        taken, self.calls = self.calls, []
        return taken


def _without_book(calls: list[tuple[str, dict[str, Any], str]]) -> list[dict[str, Any]]:
    """The fields, less the two that name the book (its code, and the key's payload hash)."""
    return [
        {k: v for k, v in fields.items() if k not in ("book", "payload_hash")}
        for _, fields, _ in calls
    ]


def test_posting_bulk_load_and_verify_hash_the_same_transaction_the_same_way(
    kit: LedgerKit, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = open_kit(session_factory, kit.now)
    spy = Spy(monkeypatch)

    for entry in _entries(kit.book):
        kit.run(lambda s, e=entry: post_entry(s, e, now=kit.now))
    posted = spy.take()
    loaded.run(lambda s: load_history(s, loaded.book, _entries(loaded.book), now=kit.now))
    bulk = spy.take()
    assert len(posted) == len(bulk) == 5
    # the same fields for the same transaction, whichever way it was written
    assert _without_book(posted) == _without_book(bulk)

    for writer, book in ((posted, kit), (bulk, loaded)):
        assert book.verify() == []
        checked = spy.take()
        # verify rebuilds exactly what the writer hashed, and gets the stored hash back
        assert [(p, f, h) for p, f, h in checked] == writer


def test_the_chain_records_take_keywords_only() -> None:
    for record in (TransactionContent, TransferContent):
        fields = [f.name for f in dataclasses.fields(record)]
        with pytest.raises(TypeError):
            record(*range(len(fields)))  # type: ignore[arg-type, misc]
        assert all(f.kw_only for f in dataclasses.fields(record))
