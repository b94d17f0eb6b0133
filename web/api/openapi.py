"""The OpenAPI 3 document, built by apispec from the route table and the marshmallow schemas.

Money fields are declared as strings with a pattern (never apispec's number for Decimal), and
every operation lists the error statuses it can answer with the one error shape.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response, jsonify

from web.api.core import OPERATIONS, Operation, route
from web.api.schemas.base import MAX_ID, ErrorSchema, Money

ERRORS = {
    401: "No valid bearer token.",
    403: "Not allowed for your roles.",
    404: "Not found, or not visible to you.",
    409: (
        "Conflicts with the current state. `idempotency_key_reused`: the Idempotency-Key was"
        " already used for another body (one code, whichever layer noticed: the API's stored"
        " answers or the ledger's posting key); `idempotency_in_progress`: the first call with"
        " this key still runs, retry after Retry-After seconds to get its answer."
    ),
    422: "Invalid input; `fields` names each offending field.",
    429: "Too many attempts; see Retry-After.",
    503: "Could not be done now (nothing kept under the Idempotency-Key); retry later.",
}
IDEMPOTENCY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": (
        "Retrying a write with the same key and body replays the first response; a retry sent"
        " while the first call runs waits for it (or gets 409 idempotency_in_progress)."
    ),
    "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,80}$"},
}


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    for name in operation.path_params:
        kind = (
            {"type": "string"}
            if name == "code"
            else {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        )
        parameters.append({"in": "path", "name": name, "required": True, "schema": kind})
    if operation.query is not None:
        parameters.append({"in": "query", "schema": operation.query})
    if operation.method != "GET" and not operation.public:
        parameters.append(IDEMPOTENCY)
    return parameters


def _operation(operation: Operation) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "OK"}
    if operation.response is not None:
        success["content"] = {"application/json": {"schema": operation.response}}
    if operation.files:
        binary = {"schema": {"type": "string", "format": "binary"}}
        success["content"] = {media: binary for media in operation.files}
    responses: dict[str, Any] = {str(operation.status): success}
    for status in operation.errors:
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    found: dict[str, Any] = {
        "operationId": operation.endpoint,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": _parameters(operation),
        "responses": responses,
    }
    if operation.body is not None:
        found["requestBody"] = {
            "required": operation.method == "POST" and operation.body.__name__ != "DecisionSchema",
            "content": {"application/json": {"schema": operation.body}},
        }
    found["security"] = [] if operation.public else [{"bearer": []}]
    return found


@cache
def build() -> dict[str, Any]:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="flexpool API",
        version="1",
        openapi_version="3.0.3",
        plugins=[plugin],
        info={
            "description": "The flexible-funding pool: clients, fund requests and their "
            'approvals, the ledger. Money is text with two decimals, e.g. "123.45".'
        },
        servers=[{"url": "/api/v1"}],
    )
    plugin.map_to_openapi_type(Money, "string", None)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    for status, text in ERRORS.items():
        spec.components.response(
            f"E{status}",
            {"description": text, "content": {"application/json": {"schema": "Error"}}},
        )
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(openapi_path(operation.rule), {})[operation.method.lower()] = _operation(
            operation
        )
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@route(
    "/openapi.json",
    "GET",
    endpoint="openapi",
    summary="This document.",
    tag="meta",
    public=True,
    errors=(),
)
def openapi() -> Response:
    return jsonify(build())
