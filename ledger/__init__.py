"""flexpool's double-entry ledger: integer cents, append-only, always balanced.

Sign convention, written once: every transfer debits one account and credits another by the same
positive amount. An account keeps four counters of positive sums (``debits_pending``,
``debits_posted``, ``credits_pending``, ``credits_posted``). Its *net* is debits − credits
(posted); balances-after and the trial balance's ``balance`` column are this debit-positive net,
exactly as hledger prints them. Assets (``bank``, ``gst_receivable``) are debit-normal; funds
(``pool``, ``org:…``, ``client:…``) are credit-normal, so a fund holding $100 has a net of
−10000 and a :class:`~ledger.values.Balance` ``posted`` of 10000.

For a fund, available = credits_posted − debits_posted − debits_pending: a hold counts against
what may be spent the moment it is made, and incoming holds count only once posted.

The package knows nothing of Flask or of approvals; ``approvals/`` calls these functions inside
its own transactions.
"""

from ledger.books import AccountSpec, close_account, close_period, fund, open_account, open_book
from ledger.errors import InsufficientFundsError, LedgerError
from ledger.money import format_cents, parse_cents
from ledger.posting import expire_due, post_entry, reverse_transaction
from ledger.queries import balance_as_of, get_balance, list_entries, trial_balance
from ledger.values import (
    AccountType,
    Balance,
    Finding,
    JournalEntry,
    Posted,
    PostPending,
    Reserve,
    Transfer,
    TransferKind,
    VoidPending,
)
from ledger.verify import verify

__all__ = [
    "AccountSpec",
    "AccountType",
    "Balance",
    "Finding",
    "InsufficientFundsError",
    "JournalEntry",
    "LedgerError",
    "PostPending",
    "Posted",
    "Reserve",
    "Transfer",
    "TransferKind",
    "VoidPending",
    "balance_as_of",
    "close_account",
    "close_period",
    "expire_due",
    "format_cents",
    "fund",
    "get_balance",
    "list_entries",
    "open_account",
    "open_book",
    "parse_cents",
    "post_entry",
    "reverse_transaction",
    "trial_balance",
    "verify",
]
