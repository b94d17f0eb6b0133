"""Frozen value objects for what a caller asks the ledger to do, and their pure checks.

A :class:`JournalEntry` is the whole request: a book, an accounting date, a memo, an actor, an
optional idempotency key and one or more *legs*. Each leg becomes one transfer (one debit, one
credit, one positive amount), so an entry can never be unbalanced. The checks here need no
database and return a list of problems rather than stopping at the first (as Beancount does).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

MAX_MEMO = 500
MAX_ACTOR = 120
MAX_KEY = 100
MAX_CATEGORY = 40
MAX_LEGS = 100
ACCOUNT_CODE = re.compile(r"[a-z][a-z0-9_]*(?::[A-Za-z0-9][A-Za-z0-9_.\-]*)*", re.ASCII)
BOOK_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,39}", re.ASCII)
MAX_AMOUNT = 10**12 - 1


class AccountType(StrEnum):
    ASSET = "asset"
    FUND = "fund"


class TransferKind(StrEnum):
    GRANT_RECEIPT = "grant_receipt"
    ALLOCATION = "allocation"
    RESERVATION = "reservation"
    POST = "post"
    VOID = "void"
    PAYMENT = "payment"
    REFUND = "refund"
    REVERSAL = "reversal"
    ADJUSTMENT = "adjustment"
    RETURN_TO_FUNDER = "return_to_funder"


class Phase(StrEnum):
    """How a transfer touches the counters: posted at once, held, or resolving a hold."""

    SINGLE = "single"
    PENDING = "pending"
    POST_PENDING = "post_pending"
    VOID_PENDING = "void_pending"


POSTED_PHASES = (Phase.SINGLE, Phase.POST_PENDING)

_Rule = TypeVar("_Rule")


class UnmappedKindError(LookupError):
    """A classifier over transfer kinds has no rule for a kind: a kind was added without deciding
    what each report makes of it. A programming error, so never a default such as grant income."""


def rule_for(rules: Mapping[TransferKind, _Rule], kind: str, classifier: str) -> _Rule:
    """``rules[kind]``, or a clear :class:`UnmappedKindError` naming the classifier.

    Each classifier's ``rules`` is keyed by every member (a test walks the enum through it)."""
    try:
        return rules[TransferKind(kind)]
    except (ValueError, KeyError):
        raise UnmappedKindError(f"{classifier} has no rule for transfer kind {kind!r}.") from None


@dataclass(frozen=True)
class Transfer:
    """Move ``amount`` cents now: debit one account, credit the other."""

    debit: str
    credit: str
    amount: int
    kind: TransferKind
    category: str | None = None
    request_id: int | None = None


@dataclass(frozen=True)
class Reserve:
    """Hold ``amount`` cents (a pending transfer) until it is posted, voided or expires."""

    debit: str
    credit: str
    amount: int
    kind: TransferKind = TransferKind.RESERVATION
    expires_at: datetime | None = None
    category: str | None = None
    request_id: int | None = None


@dataclass(frozen=True)
class PostPending:
    """Post a held transfer, in full (``amount=None``) or in part; the rest is released."""

    pending_id: int
    amount: int | None = None
    kind: TransferKind = TransferKind.POST


@dataclass(frozen=True)
class VoidPending:
    """Release a held transfer. ``expiry=True`` voids it only once its expiry has passed."""

    pending_id: int
    expiry: bool = False
    kind: TransferKind = TransferKind.VOID


Leg = Transfer | Reserve | PostPending | VoidPending


@dataclass(frozen=True)
class JournalEntry:
    book: str
    effective_date: date
    memo: str
    actor: str
    legs: tuple[Leg, ...]
    idempotency_key: str | None = None

    def payload_hash(self, reverses_id: int | None = None) -> str:
        """The fingerprint an idempotency key is bound to: everything but the key itself.

        A reversal's legs mirror its original, so two reversals of look-alike transactions
        would have the same legs; the reversed transaction's id is part of what was asked.
        """
        payload = {
            "reverses": reverses_id,
            "book": self.book,
            "date": self.effective_date.isoformat(),
            "memo": self.memo,
            "actor": self.actor,
            "legs": [_leg_payload(leg) for leg in self.legs],
        }
        return sha256_json(payload)


def _leg_payload(leg: Leg) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(leg).__name__}
    for name, value in vars(leg).items():
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    return data


def sha256_json(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def check_amount(amount: object, what: str = "amount") -> list[str]:
    # bool is an int subclass; True cents is a bug, not a dollar.
    if not isinstance(amount, int) or isinstance(amount, bool):
        return [f"{what} must be a whole number of cents, got {amount!r}"]
    if amount <= 0:
        return [f"{what} must be positive, got {amount}"]
    if amount > MAX_AMOUNT:
        return [f"{what} is too large: {amount} cents"]
    return []


def check_leg(index: int, leg: Leg) -> list[str]:
    where = f"leg {index + 1}"
    problems: list[str] = []
    if isinstance(leg, Transfer | Reserve):
        problems += check_amount(leg.amount, f"{where} amount")
        for side in ("debit", "credit"):
            code = getattr(leg, side)
            if not isinstance(code, str) or not ACCOUNT_CODE.fullmatch(code):
                problems.append(f"{where} {side} account {code!r} is not a valid account code")
        if leg.debit == leg.credit:
            problems.append(f"{where} debits and credits the same account {leg.debit}")
        if leg.category is not None and not (0 < len(leg.category) <= MAX_CATEGORY):
            problems.append(f"{where} category must be 1-{MAX_CATEGORY} characters")
        if (
            isinstance(leg, Reserve)
            and leg.expires_at is not None
            and leg.expires_at.tzinfo is None
        ):
            problems.append(f"{where} expiry must be a timezone-aware datetime")
    elif isinstance(leg, PostPending | VoidPending):
        if not isinstance(leg.pending_id, int) or leg.pending_id <= 0:
            problems.append(f"{where} refers to no pending transfer ({leg.pending_id!r})")
        if isinstance(leg, PostPending) and leg.amount is not None:
            problems += check_amount(leg.amount, f"{where} amount")
    else:
        problems.append(f"{where} is not a ledger leg: {leg!r}")
    try:
        TransferKind(leg.kind)
    except ValueError:
        problems.append(f"{where} has an unknown kind {leg.kind!r}")
    return problems


def check_header(entry: JournalEntry) -> list[str]:
    """The checks on the entry itself, without its legs."""
    problems: list[str] = []
    if not isinstance(entry.effective_date, date) or isinstance(entry.effective_date, datetime):
        problems.append("effective date must be a date")
    if not entry.memo or not entry.memo.strip():
        problems.append("memo is required")
    elif len(entry.memo) > MAX_MEMO:
        problems.append(f"memo is longer than {MAX_MEMO} characters")
    if not entry.actor or len(entry.actor) > MAX_ACTOR:
        problems.append(f"actor must be 1-{MAX_ACTOR} characters")
    if entry.idempotency_key is not None and not (0 < len(entry.idempotency_key) <= MAX_KEY):
        problems.append(f"idempotency key must be 1-{MAX_KEY} characters")
    if not entry.legs:
        problems.append("a journal entry needs at least one transfer")
    elif len(entry.legs) > MAX_LEGS:
        problems.append(f"a journal entry has at most {MAX_LEGS} transfers")
    return problems


def check_entry(entry: JournalEntry) -> list[str]:
    """Every problem with an entry that can be seen without the database."""
    problems = check_header(entry)
    for index, leg in enumerate(entry.legs):
        problems += check_leg(index, leg)
    pending_refs = [
        leg.pending_id for leg in entry.legs if isinstance(leg, PostPending | VoidPending)
    ]
    if len(pending_refs) != len(set(pending_refs)):
        problems.append("a pending transfer can be resolved only once")
    return problems


@dataclass(frozen=True)
class Posted:
    """What a write returns; a replay of the same idempotency key returns the original."""

    transaction_id: int
    sequence: int
    hash: str
    transfer_ids: tuple[int, ...]
    replayed: bool = False


@dataclass(frozen=True)
class Balance:
    """An account's balance in its normal direction (credits for funds, debits for assets).

    ``pending`` is the net of holds in the same direction; ``available`` is what may still be
    spent: posted less outgoing holds (incoming holds are not counted until posted).
    """

    account: str
    type: AccountType
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def posted(self) -> int:
        return normal(self.type, self.debits_posted - self.credits_posted)

    @property
    def pending(self) -> int:
        return normal(self.type, self.debits_pending - self.credits_pending)

    @property
    def held_out(self) -> int:
        """Reserved to leave this account (approved requests not yet paid, for an envelope)."""
        return self.debits_pending if self.type is AccountType.FUND else self.credits_pending

    @property
    def held_in(self) -> int:
        """Reserved to arrive in this account (approved for a client, not yet paid)."""
        return self.credits_pending if self.type is AccountType.FUND else self.debits_pending

    @property
    def available(self) -> int:
        if self.type is AccountType.FUND:
            return self.credits_posted - self.debits_posted - self.debits_pending
        return self.debits_posted - self.credits_posted - self.credits_pending


def normal(account_type: AccountType, net_debit: int) -> int:
    """Turn a debit-positive net into the account's normal direction."""
    return net_debit if account_type is AccountType.ASSET else -net_debit


@dataclass(frozen=True)
class Finding:
    """One thing ``verify`` found wrong; ``verify`` returns all of them."""

    check: str
    message: str
    book: str | None = None
    account: str | None = None
    transaction_id: int | None = None
    transfer_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"[{self.check}] {self.message}"
