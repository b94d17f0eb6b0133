"""Bank statements and matching them to the ledger (docs/exports.md#bank-statements-and-matching).

``statement_csv`` reads a statement file or refuses it whole, ``statement_import`` stores it and
runs ``match`` (the automatic matching) over ``targets`` (the ledger movements a line can match);
``review`` is what a person does with the lines left over. Not an export file of its own: the
reconciliation's Bank match sheet reads the stored lines (``reports.models``), not this package.
"""
