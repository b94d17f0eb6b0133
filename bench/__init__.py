"""Benchmarks that print figures against DESIGN §7's targets; never part of the pass/fail suite."""
