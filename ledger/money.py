"""Money is an integer number of cents (AUD), end to end.

Every amount that enters flexpool from a person (a form field, a CSV cell, a CLI argument) goes
through :func:`parse_cents`, which is deliberately strict: a typo must become a clear error, never
a silently different amount. Floats never appear: parsing works on the text itself.
"""

from __future__ import annotations

import re

from ledger.errors import InvalidAmountError

MAX_DIGITS = 12
"""Dollars and cents together; $9,999,999,999.99 is far above any grant and catches pasted junk."""

# ASCII digits only (re.ASCII): "١٢" is a valid int() to Python but not a valid amount to us.
_PLAIN = re.compile(r"\$?(?P<dollars>[0-9]+)(?:\.(?P<cents>[0-9]{1,2}))?", re.ASCII)
_GROUPED = re.compile(
    r"\$?(?P<dollars>[0-9]{1,3}(?:,[0-9]{3})+)(?:\.(?P<cents>[0-9]{1,2}))?", re.ASCII
)
_WHITESPACE = " \t"


def parse_cents(text: str, *, allow_zero: bool = True, field: str = "Amount") -> int:
    """Parse a dollar amount typed by a person ("12", "12.5", "1,234.50", "$80") into cents.

    Refuses negatives, exponents, more than two decimals, non-ASCII digits, misplaced
    thousands separators and anything over twelve digits, each with a message that says why.
    """
    if not isinstance(text, str):
        raise InvalidAmountError(f"{field} must be text such as 12.50.")
    stripped = text.strip(_WHITESPACE)
    if not stripped:
        raise InvalidAmountError(f"{field} is required.")
    if stripped.startswith(("-", "−", "(")):
        raise InvalidAmountError(f"{field} must not be negative: {text!r}.")
    match = _PLAIN.fullmatch(stripped) or _GROUPED.fullmatch(stripped)
    if match is None:
        raise InvalidAmountError(_explain(field, text, stripped))
    dollars = match["dollars"].replace(",", "")
    cents = (match["cents"] or "").ljust(2, "0")
    digits = (dollars + cents).lstrip("0")
    if len(digits) > MAX_DIGITS:
        raise InvalidAmountError(f"{field} is too large: at most {MAX_DIGITS} digits.")
    value = int(dollars) * 100 + int(cents)
    if value == 0 and not allow_zero:
        raise InvalidAmountError(f"{field} must be more than $0.00.")
    return value


def _explain(field: str, text: str, stripped: str) -> str:
    if re.fullmatch(r"\$?[0-9,]*\.[0-9]{3,}", stripped, re.ASCII):
        return f"{field} has more than two decimal places: {text!r}."
    if any(ch.isdigit() and not ch.isascii() for ch in stripped):
        return f"{field} must use the digits 0-9: {text!r}."
    if "," in stripped:
        return f"{field} has misplaced thousands separators: {text!r} (write 1,234.50 or 1234.50)."
    return f"{field} is not an amount in dollars and cents: {text!r} (write 12.50)."


def format_cents(cents: int) -> str:
    """Show cents as a person reads them: 123450 -> "$1,234.50", -500 -> "-$5.00"."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


def cents_to_decimal_text(cents: int) -> str:
    """Machine-readable dollars with two decimals and no grouping: 123450 -> "1234.50"."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}{dollars}.{rest:02d}"
