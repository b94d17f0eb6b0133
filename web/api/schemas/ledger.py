"""Accounts and their entries, the one-entry postings (grants, allocations, moves, reversals),
and the trial balance.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from web.api.schemas.base import Day, In, Money, PageArgs, Query, text_field


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
    memo = text_field(300, required=True)


class AllocationSchema(GrantSchema):
    organisation = text_field(20, required=True, metadata={"description": "The partner's code."})


class MoveSchema(GrantSchema):
    source = text_field(20, required=True)
    target = text_field(20, required=True)


class ReverseSchema(In):
    on = Day(required=True, bounded=True)
    memo = text_field(300, required=True)


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
