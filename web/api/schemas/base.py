"""What every API schema shares: money and day fields, strict bodies, ids, errors, cursor pages.

Money is a string with exactly two decimals ("123.45"), parsed by ``ledger.money.parse_cents``
into integer cents and written back by a plain formatter; it is never a JSON number, so no
client rounds it through a float.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from ledger.dates import DATE_WINDOW, ISO_DAY
from ledger.errors import InvalidAmountError
from ledger.money import cents_to_decimal_text, parse_cents
from web.clock import now

MONEY_PATTERN = r"^[0-9]{1,10}\.[0-9]{2}$"
SIGNED_MONEY_PATTERN = r"^-?[0-9]{1,10}\.[0-9]{2}$"
_MONEY = re.compile(MONEY_PATTERN, re.ASCII)
MAX_LIMIT = 100
MAX_ID = 2**63 - 1  # the databases' BIGINT


class Money(fields.Field):  # type: ignore[type-arg]
    """Integer cents inside, "123.45" outside; refuses anything else with a clear message."""

    def __init__(self, *, signed: bool = False, positive: bool = False, **kwargs: Any) -> None:
        pattern = SIGNED_MONEY_PATTERN if signed else MONEY_PATTERN
        described = 'Dollars and cents as text, e.g. "123.45".'
        metadata = {"pattern": pattern, "example": "123.45", "description": described}
        metadata.update(kwargs.pop("metadata", {}) or {})
        super().__init__(metadata=metadata, **kwargs)
        self.positive = positive

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else cents_to_decimal_text(int(value))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not _MONEY.fullmatch(value):
            raise ValidationError('An amount as text with two decimals, such as "123.45".')
        try:
            return parse_cents(value, allow_zero=not self.positive, field="The amount")
        except InvalidAmountError as error:
            raise ValidationError(error.message) from error


class Day(fields.Date):
    """A day as ``YYYY-MM-DD`` only: marshmallow's Date also reads ISO week dates ("2026-W01")
    and ``20260101``, which then pass for a real day nobody meant. ``bounded``: an accounting
    date, also inside the ledger's window (which the ledger checks again itself)."""

    def __init__(self, *, bounded: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bounded = bounded

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not ISO_DAY.fullmatch(value):
            raise ValidationError("A date like 2026-07-31.")
        day = super()._deserialize(value, attr, data, **kwargs)
        outside = DATE_WINDOW.problem(day, now().date()) if self.bounded else None
        if outside is not None:
            raise ValidationError(f"Give {outside}.")
        return day


class In(Schema):
    """A request body: unknown fields are an error, not silently dropped."""

    class Meta:
        unknown = RAISE


class Query(Schema):
    class Meta:
        unknown = EXCLUDE


def text_field(maximum: int, *, minimum: int = 0, **kwargs: Any) -> fields.String:
    """A string between ``minimum`` and ``maximum`` characters long."""
    return fields.String(validate=validate.Length(min=minimum, max=maximum), **kwargs)


def id_field(**kwargs: Any) -> fields.Integer:
    """A row id: a whole number (never "3" or 3.0) that fits the databases' BIGINT."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


# -- errors and pages -----------------------------------------------------------------------------


# A field called "fields" would shadow Schema.fields, so this one is built from a dict.
ErrorSchema = Schema.from_dict(
    {
        "error": fields.String(required=True, metadata={"example": "invalid_input"}),
        "message": fields.String(required=True),
        "fields": fields.Dict(keys=fields.String(), values=fields.String(), required=True),
    },
    name="ErrorSchema",
)


class PageArgs(Query):
    cursor = fields.String(
        validate=validate.Length(max=200), metadata={"description": "From the previous `next`."}
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))


_PAGES: dict[type[Schema], type[Schema]] = {}


def page_of(item: type[Schema]) -> type[Schema]:
    """``{"items": [...], "next": cursor-or-null}`` for one item schema (made once per item)."""
    if item not in _PAGES:
        name = item.__name__.removesuffix("Schema") + "PageSchema"
        _PAGES[item] = Schema.from_dict(
            {
                "items": fields.List(fields.Nested(item), required=True),
                "next": fields.String(required=True, allow_none=True),
            },
            name=name,
        )
    return _PAGES[item]
