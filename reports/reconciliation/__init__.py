"""The reconciliation workbook finance signs off, one sheet per module.

See docs/exports.md#the-reconciliation-workbook. ``workbook`` writes the Summary and gathers the
other sheets: ``ledger_sheets`` (trial balance, budget against actual), ``rows`` (payments,
commitments), ``exceptions_sheet`` and ``bank_sheet`` (the month's stored bank lines as matched),
all over one ``scope`` of the period; ``checks`` compares their totals.
"""

from reports.reconciliation.workbook import write_reconciliation

__all__ = ["write_reconciliation"]
