"""Reading a bank statement CSV: both header styles read alike; a bad file is refused whole,
naming every bad line by its number (the header is line 1). No database here."""

from __future__ import annotations

from datetime import date

import pytest

from reports.bank.statement_csv import MAX_LINES, StatementRefusedError, parse_statement

XERO = "*Date,*Amount,Payee,Description,Reference"
PLAIN = "date,amount,payee,description,reference"


def csv_of(header: str, *rows: str, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + "\r\n".join([header, *rows]) + "\r\n").encode()


def refused(data: bytes) -> StatementRefusedError:
    with pytest.raises(StatementRefusedError) as caught:
        parse_statement(data)
    return caught.value


def test_a_xero_statement_and_a_plain_one_read_the_same() -> None:
    rows = (
        "03/11/2026,-480.00,Coastal Realty,Bond R-0042,INV-0201",
        "",  # a blank line is skipped, and still counted
        '2026-11-04,"1,234.5",Department of Health,Grant,GRANT-2',
        "5/11/2026,-$12.05,Bank,Account fee,",
    )
    xero = parse_statement(csv_of(XERO, *rows, bom=True))
    plain = parse_statement(csv_of(PLAIN.upper(), *rows))
    assert xero == plain
    assert [(line.line_number, line.on, line.amount_cents) for line in xero] == [
        (2, date(2026, 11, 3), -48_000),
        (4, date(2026, 11, 4), 123_450),
        (5, date(2026, 11, 5), -1_205),
    ]
    assert (xero[0].payee, xero[0].description, xero[0].reference) == (
        "Coastal Realty",
        "Bond R-0042",
        "INV-0201",
    )


def test_columns_may_come_in_any_order_and_optional_ones_may_be_left_out() -> None:
    (line,) = parse_statement(csv_of("Reference,*Amount,*Date", "INV-7,12.5,01/12/2026"))
    assert (line.on, line.amount_cents, line.reference, line.payee) == (
        date(2026, 12, 1),
        1_250,
        "INV-7",
        "",
    )


def test_every_bad_line_is_reported_at_once_with_its_line_number() -> None:
    data = csv_of(
        PLAIN,
        "01/11/2026,-10.00,Fine,,",  # 2: good
        "31/02/2026,-10.00,,,",  # 3: no such day
        "2026/11/01,-10.00,,,",  # 4: not a date format
        "01/11/2026,-12.505,,,",  # 5: three decimals
        "01/11/2026,1e3,,,",  # 6: exponent
        "01/11/2026,,,,",  # 7: no amount
        "01/11/2026,0.00,,,",  # 8: zero
        "01/11/2026,--5,,,",  # 9: two signs
        "01/11/2026,-5,a,b,c,d",  # 10: a cell too many
        f"01/11/2026,-5,{'x' * 201},,",  # 11: payee too long
        "1/11/26,12.50,,,",  # 12: two-digit year
    )
    error = refused(data)
    assert [finding.line_number for finding in error.findings] == list(range(3, 13))
    expected = [
        "not a real day",
        "not a date like",
        "more than two decimal places",
        "not an amount",
        "required",
        "0.00",
        "sign",
        "6 cells for 5 columns",
        "Payee is longer than 200",
        "not a date like",
    ]
    for finding, words in zip(error.findings, expected, strict=True):
        assert words in finding.message, finding
    assert "Line 3:" in error.message and "Line 12:" in error.message
    assert error.fields["line 5"] == error.findings[2].message


def test_one_line_with_two_problems_is_one_finding_naming_both() -> None:
    (finding,) = refused(csv_of(PLAIN, "32/13/2026,12.345,,,")).findings
    assert finding.line_number == 2
    assert "not a real day" in finding.message and "two decimal places" in finding.message


@pytest.mark.parametrize(
    ("data", "words", "line"),
    [
        (b"", "empty", None),
        (b"\r\n\r\n", "empty", None),
        (csv_of(PLAIN), "no lines", None),
        (csv_of("date,amount,memo", "01/11/2026,5,x"), "unknown column 'memo'", 1),
        (csv_of("date,payee", "01/11/2026,x"), "'amount' is missing", 1),
        (csv_of("date,amount,Amount", "01/11/2026,5,5"), "appears twice", 1),
        (b"date,amount\r\n01/11/2026,5\r\n02/11/2026,\xff5\r\n", "not UTF-8", 3),
    ],
)
def test_a_file_that_is_not_a_statement_is_refused_with_the_reason(
    data: bytes, words: str, line: int | None
) -> None:
    (finding,) = refused(data).findings
    assert words in finding.message and finding.line_number == line


def test_at_most_a_thousand_lines_are_accepted() -> None:
    rows = [f"01/11/2026,-{n}.00,,," for n in range(1, MAX_LINES + 2)]
    assert len(parse_statement(csv_of(PLAIN, *rows[:MAX_LINES]))) == MAX_LINES
    (finding,) = refused(csv_of(PLAIN, *rows)).findings
    assert "At most 1,000 lines" in finding.message and "1,001" in finding.message


def test_line_numbers_count_the_lines_of_the_file_even_inside_a_quoted_cell() -> None:
    data = csv_of(PLAIN, '01/11/2026,-5,Payee,"first half\nsecond half",R', "bad,5,,,")
    (finding,) = refused(data).findings
    assert finding.line_number == 4


@pytest.mark.parametrize(
    ("rows", "words", "line"),
    [
        # The quote opened on line 3 runs to the end: once, all of it read as one garbled line.
        (["01/11/2026,-5,A,,R1", '02/11/2026,-6,"B,,R2', "03/11/2026,-7,C,,R3"], "never closed", 3),
        (["01/11/2026,-5,A,,R1", '02/11/2026,-6,"B"x,,R2'], "',' expected", 3),
    ],
)
def test_a_quote_left_open_or_followed_by_text_refuses_the_file_at_its_line(
    rows: list[str], words: str, line: int
) -> None:
    (finding,) = refused(csv_of(PLAIN, *rows)).findings
    assert words in finding.message and finding.line_number == line


def test_a_nul_byte_refuses_the_file_at_its_line() -> None:
    data = csv_of(PLAIN, "01/11/2026,-5,A,,R1", "02/11/2026,-6,B\x00C,,R2")
    (finding,) = refused(data).findings
    assert "NUL" in finding.message and finding.line_number == 3


@pytest.mark.parametrize("day", ["31/12/9999", "01/01/1900"])
def test_a_line_dated_outside_the_ledgers_window_is_refused_at_its_line(day: str) -> None:
    data = csv_of(PLAIN, "01/11/2026,-5,A,,R1", f"{day},-6,B,,R2")
    with pytest.raises(StatementRefusedError) as caught:
        parse_statement(data, today=date(2026, 11, 20))
    (finding,) = caught.value.findings
    assert "Date must be a date from 01/01/2016" in finding.message and finding.line_number == 3
