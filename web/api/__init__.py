"""The JSON API under ``/api/v1`` (docs/architecture.md#the-web-layer): bearer tokens, marshmallow
schemas, an OpenAPI document built from the same schemas, cursor pages, idempotent writes, one error
shape.
"""

from __future__ import annotations

from web.api import exports, ledger, openapi, people, requests  # noqa: F401 - add their routes
from web.api.base import blueprint

__all__ = ["blueprint"]
