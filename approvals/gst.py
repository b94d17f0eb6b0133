"""GST at 10%: the tax in an inclusive price is one eleventh, to the nearest cent
(docs/approvals.md#gst).

Flexpool records the GST an invoice states; these helpers suggest and check it, they never
overrule it.
"""

from __future__ import annotations

from enum import StrEnum


class GstBasis(StrEnum):
    """Whether the consortium claims GST credits: then funds are charged ex-GST."""

    CLAIMS_CREDITS = "claims_credits"
    NO_CREDITS = "no_credits"


def gst_in_inclusive(inclusive_cents: int) -> int:
    """$82.50 inc-GST holds $7.50 GST; halves round up, as the tax office rounds."""
    quotient, remainder = divmod(inclusive_cents, 11)
    return quotient + (1 if remainder * 2 >= 11 else 0)


def charge_to_funds(inclusive_cents: int, gst_cents: int, basis: GstBasis) -> int:
    """What the client's funds pay: ex-GST when credits are claimed, else the whole price."""
    return inclusive_cents - gst_cents if basis is GstBasis.CLAIMS_CREDITS else inclusive_cents


def plausible_gst(inclusive_cents: int, gst_cents: int, *, registered: bool) -> str | None:
    """A problem with the stated GST, or ``None``; a cent either way is allowed for rounding."""
    if gst_cents < 0 or gst_cents >= inclusive_cents > 0:
        return "GST must be less than the inc-GST amount."
    if not registered and gst_cents:
        return "The supplier is not registered for GST, so GST must be $0.00."
    if registered and abs(gst_cents - gst_in_inclusive(inclusive_cents)) > 1 and gst_cents != 0:
        return "GST should be one eleventh of the inc-GST amount (or $0.00 for GST-free items)."
    return None
