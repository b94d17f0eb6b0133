"""The JSON API under ``/api/v1`` (docs/architecture.md#the-web-layer): bearer tokens, marshmallow
schemas, an OpenAPI document built from the same schemas, cursor pages, idempotent writes, one error
shape.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


@blueprint.url_value_preprocessor
def _ids_in_range(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An id past the databases' BIGINT names nothing: 404, not a driver overflow."""
    for name, value in (values or {}).items():
        if isinstance(value, int) and not 0 < value < 2**63:
            abort(404, f"There is no such {name.removesuffix('_id')}.")


@blueprint.after_request
def _challenge(response: Response) -> Response:
    if response.status_code == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="flexpool"')
    return response


from web.api import exports, ledger, openapi, people, requests  # noqa: E402,F401 - add routes
