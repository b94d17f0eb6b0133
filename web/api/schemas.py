"""The API's marshmallow schemas: what goes in, what comes out, and (through apispec) the
OpenAPI document. One set of schemas serves all three, so the document cannot drift.

Money is a string with exactly two decimals ("123.45"), parsed by ``ledger.money.parse_cents``
into integer cents and written back by a plain formatter; it is never a JSON number, so no
client rounds it through a float.
"""

from __future__ import annotations

import json
import re
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate

from approvals.errors import InvalidInputError
from approvals.lifecycle.states import RequestState
from approvals.models import NeedDomain, TokenKind
from ledger.dates import DATE_WINDOW, ISO_DAY
from ledger.errors import InvalidAmountError
from ledger.money import cents_to_decimal_text, parse_cents
from reports.models import ExportKind, RunStatus
from reports.runs import available_kinds, parse_period
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


def _text(maximum: int, *, minimum: int = 0, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=minimum, max=maximum), **kwargs)


def _id(**kwargs: Any) -> fields.Integer:
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


# -- tokens and people ----------------------------------------------------------------------------


class TokenRequestSchema(In):
    email = _text(254, required=True)
    password = _text(1024, required=True, load_only=True)
    name = _text(80, minimum=1, load_default="API")


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in TokenKind]))
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "The secret's first letters."})
    created_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)
    last_used_at = fields.AwareDateTime(required=True, allow_none=True)
    revoked_at = fields.AwareDateTime(required=True, allow_none=True)


class IssuedTokenSchema(TokenSchema):
    token = fields.String(
        required=True, metadata={"description": "The secret; shown once, send as a Bearer token."}
    )


class RoleSchema(Schema):
    organisation_id = fields.Integer(required=True)
    organisation_code = fields.String(required=True)
    role = fields.String(required=True)


class MeSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    display_name = fields.String(required=True)
    consortium_id = fields.Integer(required=True)
    roles = fields.List(fields.Nested(RoleSchema), required=True)


class ConsortiumSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    state = fields.String(required=True)
    timezone = fields.String(required=True)
    gst_basis = fields.String(required=True)


class OrganisationSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    abn = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)


class UserSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    display_name = fields.String(required=True)
    active = fields.Boolean(required=True)
    roles = fields.List(fields.Nested(RoleSchema), required=True)


# -- clients and requests -------------------------------------------------------------------------


class ClientSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    initials = fields.String(required=True)
    organisation_id = fields.Integer(required=True)
    support_facilitator_id = fields.Integer(required=True)
    status = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


class NeedSchema(Schema):
    id = fields.Integer(required=True)
    client_id = fields.Integer(required=True)
    domain = fields.String(required=True, validate=validate.OneOf([d.value for d in NeedDomain]))
    goal = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


STATES = [state.value for state in RequestState]


class RequestSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    label = fields.String(required=True, metadata={"example": "R-0042"})
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    organisation_id = fields.Integer(required=True)
    client_id = fields.Integer(required=True)
    need_id = fields.Integer(required=True)
    category_id = fields.Integer(required=True)
    supplier_id = fields.Integer(required=True, allow_none=True)
    requester_id = fields.Integer(required=True)
    amount = Money(required=True, attribute="amount_cents", metadata={"description": "Inc-GST."})
    gst = Money(required=True, attribute="gst_cents")
    approved = Money(required=True, allow_none=True, attribute="approved_cents")
    paid = Money(required=True, attribute="paid_cents")
    purpose = fields.String(required=True)
    no_other_channel = fields.String(required=True)
    needed_by = fields.Date(required=True)
    round = fields.Integer(required=True)
    current_step = fields.Integer(required=True, allow_none=True)
    approved_at = fields.AwareDateTime(required=True, allow_none=True)
    expires_at = fields.AwareDateTime(required=True, allow_none=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    actions = fields.List(
        fields.String(),
        metadata={
            "description": "On one request's own answers: what you may do to it now, as the "
            "routes that do it (POST /requests/{id}/<action>). The service still checks each.",
            "example": ["approve", "request-info", "send-back", "reject"],
        },
    )


class RequestListArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(STATES))
    client = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID), metadata={"description": "Client id."}
    )


class NewRequestSchema(In):
    client_id = _id(required=True)
    need_id = _id(required=True)
    category_id = _id(required=True)
    supplier_id = _id(allow_none=True, load_default=None)
    amount = Money(required=True, positive=True, metadata={"description": "Inc-GST."})
    gst = Money(required=True)
    purpose = _text(500, required=True)
    no_other_channel = _text(1000, required=True)
    needed_by = Day(required=True, bounded=True)


class DecisionSchema(In):
    reason = _text(1000, allow_none=True, load_default=None)


class ApproveSchema(DecisionSchema):
    amount = Money(
        positive=True,
        allow_none=True,
        load_default=None,
        metadata={"description": "A reduced amount to charge to funds (partial approval)."},
    )
    override_reason = _text(500, allow_none=True, load_default=None)


class NewPaymentSchema(In):
    invoice_number = _text(40, required=True)
    inc_gst = Money(required=True, positive=True)
    gst = Money(required=True)
    paid_on = Day(required=True, bounded=True)
    final = fields.Boolean(load_default=False, metadata={"description": "Settles the request."})


# -- ledger ---------------------------------------------------------------------------------------


class AccountArgs(Query):
    as_of = Day(metadata={"description": "Also give the posted balance at this day's end."})


class AccountSchema(Schema):
    code = fields.String(required=True, metadata={"example": "org:NGO1"})
    type = fields.String(required=True, validate=validate.OneOf(["asset", "fund"]))
    posted = Money(signed=True, required=True)
    pending = Money(signed=True, required=True)
    available = Money(signed=True, required=True)
    as_of = fields.Date(required=True, allow_none=True)
    posted_as_of = Money(signed=True, required=True, allow_none=True)


class EntryArgs(PageArgs):
    as_of = Day(metadata={"description": "Only entries dated on or before this day."})


class EntrySchema(Schema):
    transfer_id = fields.Integer(required=True)
    transaction_id = fields.Integer(required=True)
    sequence = fields.Integer(required=True)
    effective_date = fields.Date(required=True)
    memo = fields.String(required=True)
    kind = fields.String(required=True)
    phase = fields.String(required=True)
    counterparty = fields.String(required=True)
    amount = Money(signed=True, required=True)
    balance_after = Money(signed=True, required=True)


class GrantSchema(In):
    amount = Money(required=True, positive=True)
    on = Day(required=True, bounded=True)
    memo = _text(300, required=True)


class AllocationSchema(GrantSchema):
    organisation = _text(20, required=True, metadata={"description": "The partner's code."})


class MoveSchema(GrantSchema):
    source = _text(20, required=True)
    target = _text(20, required=True)


class ReverseSchema(In):
    on = Day(required=True, bounded=True)
    memo = _text(300, required=True)


class PostedSchema(Schema):
    transaction_id = fields.Integer(required=True)
    sequence = fields.Integer(required=True)
    transfer_ids = fields.List(fields.Integer(), required=True)
    replayed = fields.Boolean(required=True)


class TrialBalanceArgs(Query):
    as_of = Day()


class TrialBalanceLineSchema(Schema):
    account = fields.String(required=True)
    type = fields.String(required=True)
    debits = Money(required=True)
    credits = Money(required=True)
    balance = Money(signed=True, required=True, metadata={"description": "Debit-positive."})


class TrialBalanceSchema(Schema):
    book = fields.String(required=True)
    as_of = fields.Date(required=True, allow_none=True)
    lines = fields.List(fields.Nested(TrialBalanceLineSchema), required=True)
    debits = Money(required=True)
    credits = Money(required=True)


# -- exports --------------------------------------------------------------------------------------


class RowCounts(fields.Dict):
    """An export's row counts: JSON text on the run, an object of whole numbers here."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(keys=fields.String(), values=fields.Integer(), **kwargs)

    def _serialize(
        self, value: Any, attr: str | None, obj: Any, **kwargs: Any
    ) -> dict[str, int] | None:
        if value is None:
            return None
        counts = json.loads(value) if isinstance(value, str) else value
        return {str(name): int(count) for name, count in counts.items()}


class ExportRunSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ExportKind]))
    period = fields.String(
        required=True, metadata={"description": '"2026-10", "FY2025-26", or "all" (all history).'}
    )
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in RunStatus]))
    scheduled = fields.Boolean(required=True)
    requested_by = fields.String(
        required=True, metadata={"description": '"user:12", "cli:alice" or "scheduler".'}
    )
    requested_at = fields.AwareDateTime(required=True)
    finished_at = fields.AwareDateTime(required=True, allow_none=True)
    file_name = fields.String(required=True, allow_none=True)
    sha256 = fields.String(required=True, allow_none=True)
    row_counts = RowCounts(required=True, allow_none=True)
    ledger_sequence = fields.Integer(
        required=True, allow_none=True, metadata={"description": "The last ledger entry it saw."}
    )
    ledger_hash = fields.String(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)
    download = fields.String(
        required=True, allow_none=True, metadata={"description": "The file's URL, once done."}
    )


class NewExportSchema(In):
    kind = fields.String(
        required=True, validate=validate.OneOf([k.value for k in available_kinds()])
    )
    period = _text(
        20,
        allow_none=True,
        load_default=None,
        metadata={
            "description": "YYYY-MM or FY2025-26, as the kind allows; null or empty for all "
            "history where the kind allows it (the journal)."
        },
    )

    @post_load
    def _period(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """The kind and label as the runner takes them: each exporter says which spans it covers."""
        data["kind"] = ExportKind(data["kind"])
        try:
            data["period"] = parse_period(data["period"], data["kind"])
        except InvalidInputError as error:
            hint = error.fields.get("period", "")
            raise ValidationError({"period": [f"{error.message} {hint}".strip()]}) from error
        except ValueError as error:  # a year the calendar cannot hold, such as 0000-01
            raise ValidationError({"period": ["Use YYYY-MM or FY2025-26."]}) from error
        return data
