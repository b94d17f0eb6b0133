"""What an entry does to the balances, worked out in memory on the locked counters.

Pure: no SQL here. The write path locks the accounts, turns their rows into
:class:`AccountState`, applies each leg with :func:`apply_leg` (which refuses an overdraft the
moment a leg would cause one) and gets back the transfer row to write, balance-after included.
The bulk loader applies its legs the same way, so the two can never disagree on a balance.

Sign convention (docs/ledger.md#sign-convention): counters are sums of positive amounts; a
balance-after is the account's posted net *debit* (debits − credits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger import chain
from ledger.chain import TransferContent
from ledger.errors import AccountClosedError, InsufficientFundsError
from ledger.holds import HeldTransfer
from ledger.values import AccountType, Leg, Phase, PostPending, Reserve, Transfer, TransferKind


@dataclass
class AccountState:
    """An account's counters as this transaction changes them, under its row lock."""

    id: int
    code: str
    type: AccountType
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    closed: bool
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    touched: bool = False

    @property
    def net(self) -> int:
        return self.debits_posted - self.credits_posted

    @property
    def available(self) -> int:
        if self.debits_must_not_exceed_credits or self.type is AccountType.FUND:
            return self.credits_posted - self.debits_posted - self.debits_pending
        return self.debits_posted - self.credits_posted - self.credits_pending

    def overdrawn(self) -> bool:
        if self.debits_must_not_exceed_credits:
            return self.debits_posted + self.debits_pending > self.credits_posted
        if self.credits_must_not_exceed_debits:
            return self.credits_posted + self.credits_pending > self.debits_posted
        return False


def account_states(rows: Sequence[Sequence[Any]]) -> dict[int, AccountState]:
    """Rows of ``ACCOUNT_STATE`` as mutable states (SQLite hands booleans back as 0 and 1)."""
    return {
        row[0]: AccountState(
            row[0], row[1], AccountType(row[2]), bool(row[3]), bool(row[4]), bool(row[5]), *row[6:]
        )
        for row in rows
    }


def apply_leg(
    leg: Leg,
    by_code: dict[str, AccountState],
    states: dict[int, AccountState],
    pendings: dict[int, HeldTransfer],
) -> dict[str, Any]:
    """Apply one leg to the locked counters, refuse an overdraft, and return its row."""
    pending_id: int | None = None
    expires_at: datetime | None = None
    if isinstance(leg, Transfer | Reserve):
        debit, credit, amount = by_code[leg.debit], by_code[leg.credit], leg.amount
        category, request_id = leg.category, leg.request_id
        for state in (debit, credit):
            if state.closed:
                raise AccountClosedError(f"Account {state.code} is closed.")
        needed_debit, needed_credit = debit.available, credit.available
        if isinstance(leg, Transfer):
            phase = Phase.SINGLE
            debit.debits_posted += amount
            credit.credits_posted += amount
        else:
            phase, expires_at = Phase.PENDING, leg.expires_at
            debit.debits_pending += amount
            credit.credits_pending += amount
        if debit.overdrawn():
            raise InsufficientFundsError(debit.code, needed_debit, amount)
        if credit.overdrawn():
            raise InsufficientFundsError(credit.code, needed_credit, amount)
    else:
        held = pendings[leg.pending_id]
        debit, credit = states[held.debit_account_id], states[held.credit_account_id]
        category, request_id, pending_id = held.category, held.request_id, held.id
        debit.debits_pending -= held.amount
        credit.credits_pending -= held.amount
        if isinstance(leg, PostPending):
            phase, amount = Phase.POST_PENDING, leg.amount or held.amount
            debit.debits_posted += amount
            credit.credits_posted += amount
        else:
            phase, amount = Phase.VOID_PENDING, held.amount
    debit.touched = credit.touched = True
    return {
        "debit_account_id": debit.id,
        "credit_account_id": credit.id,
        "amount": amount,
        "kind": TransferKind(leg.kind).value,
        "phase": phase.value,
        "pending_id": pending_id,
        "expires_at": expires_at,
        "category": category,
        "request_id": request_id,
        "debit_balance_after": debit.net,
        "credit_balance_after": credit.net,
    }


def transfer_content(row: dict[str, Any], states: dict[int, AccountState]) -> TransferContent:
    """What the hash chain commits to for one transfer row about to be written."""
    return chain.transfer_content(row, lambda account_id: states[account_id].code)
