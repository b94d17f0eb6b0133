"""Clients and their needs, funding requests, the decisions on them, the payments against them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from approvals.lifecycle.states import RequestState
from approvals.models import NeedDomain
from web.api.schemas.base import MAX_ID, Day, In, Money, PageArgs, id_field, text_field


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
    client_id = id_field(required=True)
    need_id = id_field(required=True)
    category_id = id_field(required=True)
    supplier_id = id_field(allow_none=True, load_default=None)
    amount = Money(required=True, positive=True, metadata={"description": "Inc-GST."})
    gst = Money(required=True)
    purpose = text_field(500, required=True)
    no_other_channel = text_field(1000, required=True)
    needed_by = Day(required=True, bounded=True)


class DecisionSchema(In):
    reason = text_field(1000, allow_none=True, load_default=None)


class ApproveSchema(DecisionSchema):
    amount = Money(
        positive=True,
        allow_none=True,
        load_default=None,
        metadata={"description": "A reduced amount to charge to funds (partial approval)."},
    )
    override_reason = text_field(500, allow_none=True, load_default=None)


class NewPaymentSchema(In):
    invoice_number = text_field(40, required=True)
    inc_gst = Money(required=True, positive=True)
    gst = Money(required=True)
    paid_on = Day(required=True, bounded=True)
    final = fields.Boolean(load_default=False, metadata={"description": "Settles the request."})
