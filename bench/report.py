"""The printed table: one row per figure, one column per database, the target beside it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from bench.history import Latency, Reads
from bench.throughput import Throughput


@dataclass(frozen=True)
class Results:
    db: str
    version: str
    service: Throughput
    raw: Throughput
    pairs: float
    small: Reads
    big: Reads
    trial: Latency
    bulk: float
    seconds: float


Cell = Callable[[Results], tuple[str, bool | None]]


def _verdict(text: str, passed: bool | None) -> str:
    return text if passed is None else f"{text}  {'PASS' if passed else 'MISS'}"


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _ms(latency: Latency) -> str:
    return f"{latency.median_ms:.2f} / {latency.p95_ms:.2f}"


Row = tuple[str, str, Cell]


def _read_rows(name: str, pick: Callable[[Reads], Latency], big: int) -> list[Row]:
    return [
        (
            f"{name} after 1,000: ms median / p95",
            "median ≤ 2 ms",
            lambda r: (_ms(pick(r.small)), pick(r.small).median_ms <= 2),
        ),
        (
            f"{name} after {big:,}: ms median / p95",
            "median ≤ 2 ms",
            lambda r: (_ms(pick(r.big)), pick(r.big).median_ms <= 2),
        ),
        (
            "  big / small (medians)",
            "≤ 2×",
            lambda r: (f"{_growth(pick, r):.2f}×", _growth(pick, r) <= 2),
        ),
    ]


def _growth(pick: Callable[[Reads], Latency], r: Results) -> float:
    return pick(r.big).median_ms / pick(r.small).median_ms


def _ratio_target(r: Results) -> float:
    return 0.5 if r.db == "PostgreSQL" else 0.3


def rows(big: int) -> list[Row]:
    return [
        ("transfers/s, service (post_entry)", "", lambda r: (_rate(r.service.rate()), None)),
        (
            "  1st half → 2nd half",
            "",
            lambda r: (f"{_rate(r.service.first_half)} → {_rate(r.service.second_half)}", None),
        ),
        ("transfers/s, same workload in raw SQL", "", lambda r: (_rate(r.raw.rate()), None)),
        (
            "  1st half → 2nd half",
            "",
            lambda r: (f"{_rate(r.raw.first_half)} → {_rate(r.raw.second_half)}", None),
        ),
        (
            "service / raw",
            "≥ 30% SQLite, ≥ 50% PG",
            lambda r: (
                f"{r.service.rate() / r.raw.rate():.0%}",
                r.service.rate() / r.raw.rate() >= _ratio_target(r),
            ),
        ),
        (
            "service 2nd half / 1st half",
            "≥ 80% (no slide)",
            lambda r: (
                f"{r.service.second_half / r.service.first_half:.0%}",
                r.service.second_half / r.service.first_half >= 0.8,
            ),
        ),
        ("reserve+post pairs/s", "", lambda r: (_rate(r.pairs), None)),
        *_read_rows("get_balance", lambda reads: reads.balance, big),
        *_read_rows("balance_as_of", lambda reads: reads.as_of, big),
        *_read_rows("balance_as_of, 1 session", lambda reads: reads.statement, big),
        (
            f"trial_balance ms, {big:,} transfers: median",
            "≤ 50 ms",
            lambda r: (f"{r.trial.median_ms:.2f}", r.trial.median_ms <= 50),
        ),
        (
            f"bulk load transfers/s ({big - 1000:,})",
            "≥ 20,000 on PG",
            lambda r: (_rate(r.bulk), r.bulk >= 20_000 if r.db == "PostgreSQL" else None),
        ),
        ("wall time of this database's run", "", lambda r: (f"{r.seconds:.0f} s", None)),
    ]


def print_table(
    facts: list[tuple[str, str]],
    results: list[Results],
    transfers: dict[str, int],
    big: int,
    notes: list[str],
    seconds: float,
) -> None:
    print("flexpool ledger benchmark")
    width = max(len(name) for name, _ in facts)
    for name, value in facts:
        print(f"  {name:<{width}}  {value}")
    print("  load average at end   " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    for r in results:
        count = transfers[r.db]
        print(f"  {r.db}: {count:,} transfers each side in blocks; history 1,000 then {big:,}")
    table = [("figure", *(r.db for r in results), "target")]
    for label, target, cell in rows(big):
        table.append((label, *(_verdict(*cell(r)) for r in results), target))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    print()
    for index, row in enumerate(table):
        print("  ".join(text.ljust(widths[i]) for i, text in enumerate(row)).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for note in notes:
        print(note)
    print("Verdicts are informational (the exit status is 0 unless the run crashes); the two")
    print("cores are shared with other work, so rates move from run to run.")
    print(f"Total wall time: {seconds:.0f} s")
