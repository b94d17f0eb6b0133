"""Money parsing is strict: a typo becomes an error with a reason, never a different amount."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidAmountError
from ledger.money import cents_to_decimal_text, format_cents, parse_cents


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("1,234.50", 123450),
        ("1,234,567.89", 123456789),
        ("$80", 8000),
        ("  7.05 ", 705),
        ("0.01", 1),
        ("0", 0),
        ("000012.30", 1230),
        ("9999999999.99", 999999999999),
    ],
)
def test_parse_cents_accepts_what_people_type(text: str, cents: int) -> None:
    assert parse_cents(text) == cents


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("12.505", "more than two decimal places"),
        ("-3", "must not be negative"),
        ("−3", "must not be negative"),
        ("(3.00)", "must not be negative"),
        ("1e3", "not an amount"),
        ("", "required"),
        (" ", "required"),
        ("NaN", "not an amount"),
        ("inf", "not an amount"),
        ("١٢", "digits 0-9"),
        ("１２", "digits 0-9"),
        ("12,34", "misplaced thousands separators"),
        ("1,2345.00", "misplaced thousands separators"),
        ("12.", "not an amount"),
        (".5", "not an amount"),
        ("12 .50", "not an amount"),
        ("1_000", "not an amount"),
        ("0x10", "not an amount"),
        ("+5", "not an amount"),
        ("12.50 AUD", "not an amount"),
        ("10000000000.00", "too large"),
        ("99999999999999", "too large"),
    ],
)
def test_parse_cents_refuses_nasty_strings_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidAmountError) as raised:
        parse_cents(text)
    assert reason in raised.value.message


def test_parse_cents_can_refuse_zero_when_an_amount_must_be_positive() -> None:
    with pytest.raises(InvalidAmountError, match=r"more than \$0.00"):
        parse_cents("0.00", allow_zero=False)


def test_parse_cents_names_the_field_in_its_message() -> None:
    with pytest.raises(InvalidAmountError, match="^GST is required"):
        parse_cents("", field="GST")


def test_parse_cents_refuses_non_text() -> None:
    with pytest.raises(InvalidAmountError):
        parse_cents(12.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cents", "shown", "machine"),
    [
        (0, "$0.00", "0.00"),
        (5, "$0.05", "0.05"),
        (123450, "$1,234.50", "1234.50"),
        (-500, "-$5.00", "-5.00"),
        (100000000, "$1,000,000.00", "1000000.00"),
    ],
)
def test_formatting_cents_for_people_and_for_machines(cents: int, shown: str, machine: str) -> None:
    assert format_cents(cents) == shown
    assert cents_to_decimal_text(cents) == machine


@given(st.integers(min_value=0, max_value=999_999_999_999))
def test_formatted_amounts_parse_back_to_the_same_cents(cents: int) -> None:
    assert parse_cents(format_cents(cents)) == cents
    assert parse_cents(cents_to_decimal_text(cents)) == cents
