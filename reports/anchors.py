"""Chain heads anchored outside the database, so its owner cannot rewrite history unseen.

Whoever owns the database can switch its triggers off, rewrite the newest ledger transaction and
recompute its hash, the counters and the book's head: the chain then verifies. What they cannot
reach is a file beside the exports (docs/operations.md): after every clean nightly verify, each
chain's head (ledger book and audit trail: sequence and hash) is appended to
``chain-anchors.jsonl``, and every later verify checks that each anchored sequence still has
that hash. With ``FLEXPOOL_CHAIN_KEY`` (or ``FLEXPOOL_CHAIN_KEY_FILE``) set, each line carries an
HMAC-SHA256 under a key the database never sees, so the file cannot be forged from the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals.models import AuditEvent, AuditHead, Consortium
from ledger.models import books, transactions
from ledger.values import Finding

FILE_NAME = "chain-anchors.jsonl"
CHECK = "anchor"
CHAINS = ("ledger", "audit")


@dataclass(frozen=True)
class Anchor:
    chain: str  # "ledger" or "audit"
    book: str  # the consortium (and book) code
    sequence: int
    hash: str
    at: datetime

    def body(self) -> bytes:
        payload = [
            "flexpool-anchor-v1",
            self.chain,
            self.book,
            self.sequence,
            self.hash,
            self.at.astimezone(UTC).isoformat(timespec="seconds"),
        ]
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class AnchorCheck:
    findings: list[Finding]
    compared: int  # anchored heads of this book compared with the chains
    path: Path


def key_from_env(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The anchor key: ``FLEXPOOL_CHAIN_KEY`` itself, or the first line of the file it names."""
    env = os.environ if environ is None else environ
    if env.get("FLEXPOOL_CHAIN_KEY"):
        return env["FLEXPOOL_CHAIN_KEY"].encode()
    if env.get("FLEXPOOL_CHAIN_KEY_FILE"):
        line = Path(env["FLEXPOOL_CHAIN_KEY_FILE"]).read_text(encoding="utf-8").strip()
        return line.encode() or None
    return None


def _mac(anchor: Anchor, key: bytes) -> str:
    return hmac.new(key, anchor.body(), hashlib.sha256).hexdigest()


def current_heads(session: Session, code: str, at: datetime) -> list[Anchor]:
    """The ledger book's and the audit trail's heads as the database has them now."""
    heads: list[Anchor] = []
    book = session.execute(
        select(books.c.last_sequence, books.c.last_hash).where(books.c.code == code)
    ).first()
    if book is not None and book.last_sequence:
        heads.append(Anchor("ledger", code, book.last_sequence, book.last_hash, at))
    audit = session.execute(
        select(AuditHead.last_sequence, AuditHead.last_hash)
        .join(Consortium, Consortium.id == AuditHead.consortium_id)
        .where(Consortium.code == code)
    ).first()
    if audit is not None and audit.last_sequence:
        heads.append(Anchor("audit", code, audit.last_sequence, audit.last_hash, at))
    return heads


def append(folder: Path, anchors: list[Anchor], key: bytes | None) -> Path:
    """Add ``anchors`` to the file, flushed to disk before returning."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    with path.open("a", encoding="ascii") as out:
        for anchor in anchors:
            line = {
                "chain": anchor.chain,
                "book": anchor.book,
                "sequence": anchor.sequence,
                "hash": anchor.hash,
                "at": anchor.at.astimezone(UTC).isoformat(timespec="seconds"),
                "mac": _mac(anchor, key) if key else None,
            }
            out.write(json.dumps(line, separators=(",", ":")) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return path


def check(session: Session, code: str, folder: Path, key: bytes | None) -> AnchorCheck:
    """Every anchored head of book ``code`` that the chains no longer hold, or that is forged."""
    path = folder / FILE_NAME
    findings: list[Finding] = []
    compared = 0
    if not path.exists():
        return AnchorCheck(findings, compared, path)
    lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    for number, text in enumerate(lines, start=1):
        anchor, mac = _parse(text)
        where = f"{FILE_NAME} line {number}"
        if anchor is None:
            findings.append(Finding(CHECK, f"{where} is not an anchor.", book=code))
            continue
        if anchor.book != code:
            continue
        compared += 1
        if key is not None and (mac is None or not hmac.compare_digest(mac, _mac(anchor, key))):
            findings.append(Finding(CHECK, f"{where} does not carry the key's MAC.", book=code))
        stored = _hash_at(session, anchor)
        if stored != anchor.hash:
            state = "is gone" if stored is None else "has a different hash"
            findings.append(
                Finding(
                    CHECK,
                    f"The {anchor.chain} chain's #{anchor.sequence}, anchored "
                    f"{anchor.at:%Y-%m-%d %H:%M} UTC ({where}), {state}: history was rewritten.",
                    book=code,
                )
            )
    return AnchorCheck(findings, compared, path)


def _parse(text: str) -> tuple[Anchor | None, str | None]:
    try:
        data: Any = json.loads(text)
        anchor = Anchor(
            str(data["chain"]),
            str(data["book"]),
            int(data["sequence"]),
            str(data["hash"]),
            datetime.fromisoformat(str(data["at"])),
        )
    except (ValueError, KeyError, TypeError):
        return None, None
    if anchor.chain not in CHAINS or anchor.at.tzinfo is None:
        return None, None
    mac = data.get("mac")
    return anchor, mac if isinstance(mac, str) else None


def _hash_at(session: Session, anchor: Anchor) -> str | None:
    if anchor.chain == "ledger":
        query = (
            select(transactions.c.hash)
            .join(books, books.c.id == transactions.c.book_id)
            .where(books.c.code == anchor.book, transactions.c.sequence == anchor.sequence)
        )
    else:
        query = (
            select(AuditEvent.hash)
            .join(Consortium, Consortium.id == AuditEvent.consortium_id)
            .where(Consortium.code == anchor.book, AuditEvent.sequence == anchor.sequence)
        )
    found = session.execute(query).scalar()
    return None if found is None else str(found)
