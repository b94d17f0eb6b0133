"""Benchmarks that print figures against the targets in docs/ledger.md#speed-targets; never part of
the pass/fail suite."""
