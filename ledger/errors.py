"""What can go wrong in the ledger, in words a finance officer understands.

Each error carries a stable ``code`` (the API's ``error`` field) and a ``kind`` that tells the one
error-mapping module in ``web/`` which HTTP status it is: ``invalid`` (422), ``conflict`` (409),
``refused`` (403) or ``not_found`` (404). Nothing here knows about HTTP itself.
"""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """A refusal by a rule of the domain: the one base the web layer (``web/errors.py``), the CLI
    and any other edge catch, whichever package refused (see docs/architecture.md#errors).

    ``fields`` names each offending field with its own message (empty when the refusal is about the
    whole thing). It lives here because ``approvals`` imports ``ledger``, never the other way.
    """

    code = "domain_error"
    kind = "conflict"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class LedgerError(DomainError):
    code = "ledger_error"
    kind = "conflict"


class InvalidAmountError(LedgerError, ValueError):
    code = "invalid_amount"
    kind = "invalid"


class InvalidEntryError(LedgerError, ValueError):
    """A journal entry that fails the pure checks; lists every problem, not just the first."""

    code = "invalid_entry"
    kind = "invalid"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class UnknownBookError(LedgerError):
    code = "unknown_book"
    kind = "not_found"


class UnknownAccountError(LedgerError):
    code = "unknown_account"
    kind = "not_found"


class UnknownTransferError(LedgerError):
    code = "unknown_transfer"
    kind = "not_found"


class UnknownTransactionError(LedgerError):
    code = "unknown_transaction"
    kind = "not_found"


class DuplicateCodeError(LedgerError):
    code = "duplicate_code"
    kind = "conflict"


class InsufficientFundsError(LedgerError):
    code = "insufficient_funds"
    kind = "conflict"

    def __init__(self, account: str, available: int, needed: int) -> None:
        from ledger.money import format_cents

        self.account = account
        self.available = available
        self.needed = needed
        super().__init__(
            f"Insufficient funds in {account}: available {format_cents(available)}, "
            f"needed {format_cents(needed)}"
        )


class AccountClosedError(LedgerError):
    code = "account_closed"
    kind = "conflict"


class AccountNotEmptyError(LedgerError):
    code = "account_not_empty"
    kind = "conflict"


class PeriodClosedError(LedgerError):
    code = "period_closed"
    kind = "conflict"


class InvalidPeriodCloseError(LedgerError):
    code = "invalid_period_close"
    kind = "invalid"


class IdempotencyConflictError(LedgerError):
    """The same idempotency key was used before with a different payload: a ledger posting's key,
    or an API write's ``Idempotency-Key`` (``approvals/idempotency.py`` raises this one too)."""

    code = "idempotency_key_reused"
    kind = "conflict"


class PendingAlreadyResolvedError(LedgerError):
    code = "pending_already_resolved"
    kind = "conflict"


class PendingExpiredError(LedgerError):
    code = "pending_expired"
    kind = "conflict"


class PendingNotExpiredError(LedgerError):
    code = "pending_not_expired"
    kind = "conflict"


class NotPendingError(LedgerError):
    code = "not_pending"
    kind = "conflict"


class AlreadyReversedError(LedgerError):
    code = "already_reversed"
    kind = "conflict"


class NotReversibleError(LedgerError):
    code = "not_reversible"
    kind = "conflict"


class ConcurrencyError(LedgerError):
    """Retries on deadlock or serialization failure ran out; the caller may try again later."""

    code = "busy"
    kind = "conflict"
