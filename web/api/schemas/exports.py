"""Export runs: asking for one, and the run as it is queued, done or failed."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

from approvals.errors import InvalidInputError
from reports.models import ExportKind, RunStatus
from reports.runs import available_kinds, parse_period
from web.api.schemas.base import In, text_field


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
    period = text_field(
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
