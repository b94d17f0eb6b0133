"""API tokens, the signed-in user, the consortium, its organisations and users."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from approvals.models import TokenKind
from web.api.schemas.base import In, text_field


class TokenRequestSchema(In):
    email = text_field(254, required=True)
    password = text_field(1024, required=True, load_only=True)
    name = text_field(80, minimum=1, load_default="API")


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
