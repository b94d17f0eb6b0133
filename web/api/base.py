"""The API's blueprint and what applies to every route under it (ids in range, the bearer
challenge). Apart from ``web/api/__init__.py``, which imports the route modules, so they can
import the blueprint without an import cycle.
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
