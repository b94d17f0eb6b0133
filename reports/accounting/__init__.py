"""The period's bank and GST movements as a Xero manual journal or an MYOB general journal.

``xero_myob`` writes the files (docs/exports.md#xero-and-myob); ``lines`` maps each movement to a
general-ledger line and tax name; ``rows`` holds the account map and the importers' pre-flight.
"""

from reports.accounting.xero_myob import write_myob, write_xero

__all__ = ["write_myob", "write_xero"]
