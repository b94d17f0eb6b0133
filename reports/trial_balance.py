"""The trial balance as a terminal table or as CSV for a spreadsheet or another system.

CSV amounts are dollars with two decimals (``1234.50``), debit-positive in the ``balance``
column, so the file lines up account by account with ``hledger bal``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from ledger.money import cents_to_decimal_text, format_cents
from ledger.queries import TrialBalanceLine
from ledger.values import Balance

CSV_COLUMNS = ("book", "account", "debits", "credits", "balance")


def trial_balance_csv(lines: Sequence[TrialBalanceLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        writer.writerow(
            (
                line.book,
                line.account,
                cents_to_decimal_text(line.debits),
                cents_to_decimal_text(line.credits),
                cents_to_decimal_text(line.balance),
            )
        )
    return out.getvalue()


def trial_balance_table(lines: Sequence[TrialBalanceLine]) -> str:
    rows = [("Book", "Account", "Debits", "Credits", "Balance (Dr+)")]
    rows += [
        (
            line.book,
            line.account,
            format_cents(line.debits),
            format_cents(line.credits),
            format_cents(line.balance),
        )
        for line in lines
    ]
    total_debits = sum(line.debits for line in lines)
    total_credits = sum(line.credits for line in lines)
    rows.append(
        (
            "",
            "Total",
            format_cents(total_debits),
            format_cents(total_credits),
            format_cents(total_debits - total_credits),
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    rendered = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])] + [
            row[i].rjust(widths[i]) for i in (2, 3, 4)
        ]
        rendered.append("  ".join(cells).rstrip())
        if index == 0 or index == len(rows) - 2:
            rendered.append("  ".join("-" * width for width in widths))
    return "\n".join(rendered) + "\n"


def balances_table(balances: Sequence[Balance]) -> str:
    """What each account holds in its own direction: posted, reserved out and in, available."""
    rows = [("Account", "Posted", "Reserved out", "Reserved in", "Available")]
    rows += [
        (
            b.account,
            format_cents(b.posted),
            format_cents(b.held_out),
            format_cents(b.held_in),
            format_cents(b.available),
        )
        for b in balances
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join([row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in (1, 2, 3, 4)])
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines) + "\n"
