"""The spreadsheet building blocks: safe text, exact money, the same bytes for the same data."""

from __future__ import annotations

import io
import time
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from reports.cells import TRIGGERS, neutralise
from reports.xlsx import Money, Percent, SheetWriter, end_of, new_workbook, save

STAMP = end_of(date(2026, 10, 31))


@pytest.mark.parametrize(
    "typed",
    ['=HYPERLINK("http://x")', "+61 2 9999", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"],
)
def test_text_that_would_be_a_formula_is_kept_as_text(typed: str) -> None:
    assert neutralise(typed) == "'" + typed


@given(st.text())
def test_neutralised_text_never_starts_with_a_trigger_and_keeps_what_was_typed(text: str) -> None:
    safe = neutralise(text)
    assert not safe.startswith(TRIGGERS)
    assert safe.endswith(text)


def _book(payee: str = "Bunnings") -> bytes:
    book = new_workbook("Test", STAMP)
    sheet = SheetWriter(book, "Payments", ["Paid", "Payee", "Amount", "Share"])
    sheet.row([date(2026, 10, 3), payee, Money(48_005), Percent(2_500)])
    sheet.row([date(2026, 10, 4), "=1+1", Money(-1), Percent(10_000)])
    out = io.BytesIO()
    save(book, out, STAMP)
    return out.getvalue()


def test_the_same_data_gives_the_same_bytes_at_another_time() -> None:
    first = _book()
    time.sleep(2.1)  # zip timestamps have two-second resolution
    assert _book() == first
    assert _book("Officeworks") != first


def test_cells_read_back_exact_typed_and_formatted() -> None:
    sheet = load_workbook(io.BytesIO(_book()), read_only=False)["Payments"]
    assert sheet.freeze_panes == "A2"
    paid, payee, amount, share = (cell for cell in sheet[2])
    assert (
        paid.value == end_of(date(2026, 10, 3)).replace(hour=0, minute=0, second=0)
        and paid.number_format == "DD/MM/YYYY"
    )
    assert payee.value == "Bunnings"
    assert Decimal(str(amount.value)) == Decimal("480.05")
    assert "#,##0.00" in amount.number_format
    assert share.value == 0.25 and share.number_format == "0.0%"
    injected = sheet.cell(row=3, column=2)
    assert injected.value == "'=1+1" and injected.data_type == "s"


def test_a_datetime_is_refused_because_its_timezone_would_be_lost() -> None:
    book = new_workbook("Test", STAMP)
    sheet = SheetWriter(book, "S", ["When"])
    with pytest.raises(TypeError):
        sheet.row([STAMP])
    save(book, io.BytesIO(), STAMP)  # the refused row left nothing half-written
