"""What every export reports back, and the words its files share.

Why a module of its own: the runner (``reports.runs``) imports every writer, so the writers
cannot import what they return from the runner; and the workbooks must describe the GST basis
and count failed checks the same way, since the month close reads that count.
"""

from __future__ import annotations

from dataclasses import dataclass

from approvals.gst import GstBasis

MISMATCHES = "mismatches"  # the row count of failed checks; the month close reads it

GST_BASIS = {
    GstBasis.CLAIMS_CREDITS: "GST credits claimed: funds are charged ex-GST",
    GstBasis.NO_CREDITS: "No GST credits claimed: funds are charged inc-GST",
}


@dataclass(frozen=True)
class Written:
    """A writer's row counts and the ledger state (sequence, chain hash) it was built from."""

    row_counts: dict[str, int]
    ledger_sequence: int
    ledger_hash: str
