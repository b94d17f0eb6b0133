"""The one place where errors become HTTP responses.

Domain errors carry a ``kind``; here it becomes a status (invalid 422, conflict 409, refused 403,
not found 404); a marshmallow ``ValidationError`` (API input) is a 422 naming each field. The API
answers ``{"error", "message", "fields"}``; pages answer with the error page, except where a view
catches the error to show it next to the field. Anything unexpected is logged with its traceback
and answered with a plain 500 that leaks nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ledger.errors import DomainError

STATUS = {"invalid": 422, "conflict": 409, "refused": 403, "not_found": 404}
log = logging.getLogger("flexpool.web")


def status_of(error: DomainError) -> int:
    return STATUS.get(error.kind, 409)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(
    status: int, code: str, message: str, fields: dict[str, Any] | None = None
) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify(error=code, message=message, fields=fields or {}), status
    return render_template("error.html", status=status, message=message), status


def _domain(error: DomainError) -> tuple[Response | str, int]:
    return error_response(status_of(error), error.code, error.message, error.fields)


def _http(error: HTTPException) -> Any:
    code = (error.name or "error").lower().replace(" ", "_")
    response, status = error_response(error.code or 500, code, error.description or "")
    # get_headers() is a list of pairs: look the names up in a dict, not in the list.
    headers = {k: v for k, v in error.get_headers() if k in ("Allow", "Retry-After")}
    return response, status, headers


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages as ``{"field": "text"}`` (``items.0.amount`` when nested)."""
    if isinstance(messages, dict):
        found: dict[str, str] = {}
        for key, value in messages.items():
            found.update(_flatten(value, f"{prefix}{key}." if prefix or key else ""))
        return found
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix.rstrip(".") or "_body": " ".join(messages)}
    return {prefix.rstrip(".") or "_body": str(messages)}


def _invalid(error: ValidationError) -> tuple[Response | str, int]:
    fields = _flatten(
        error.messages if isinstance(error.messages, dict) else {"_body": error.messages}
    )
    listed = "; ".join(f"{name}: {text}" for name, text in fields.items())
    return error_response(422, "invalid_input", f"The input is not valid ({listed}).", fields)


def _csrf(error: CSRFError) -> tuple[Response | str, int]:
    return error_response(
        400, "csrf_failed", "The form had expired or was not sent by this site. Please try again."
    )


def _unexpected(error: Exception) -> tuple[Response | str, int]:
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=error)
    return error_response(500, "internal_error", "Something went wrong on our side.")


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain)
    app.register_error_handler(ValidationError, _invalid)
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
