"""Text no field may hold, refused once at the edge, before any view or service sees it.

A NUL byte cannot be stored in a PostgreSQL text column (the database errors on it), and a lone
UTF-16 surrogate (``"\\ud800"`` in JSON) cannot be encoded as UTF-8 at all: either one used to
reach the database and come back as a 500. Both are refused with 422 naming the field, for the
query string, every form field and uploaded file's name, and every string (keys included) of a
JSON body; a path holding a NUL names nothing that exists, so it is a 404. JSON is parsed here
too, with its nesting bounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Flask, request
from marshmallow import ValidationError
from werkzeug.exceptions import NotFound

from approvals.errors import InvalidInputError
from web.errors import wants_json

MAX_JSON_DEPTH = 32  # the deepest body the API takes is 3 levels; the policy editor's rules 4
REFUSED_TEXT = "Text may not contain a NUL byte or an unpaired surrogate."

_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")


def is_refused(text: str) -> bool:
    return _FORBIDDEN.search(text) is not None


def first_refused(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The name of the first field whose name or value holds refused text."""
    for name, value in pairs:
        if is_refused(name) or is_refused(value):
            return "_name" if is_refused(name) else name
    return None


def _guard() -> None:
    if is_refused(request.path):
        raise NotFound("There is no such page.")
    pairs: list[tuple[str, str]] = list(request.args.items(multi=True))
    # The API reads its JSON body itself (load_json below): parsing it as a form would eat it.
    if request.method in {"POST", "PUT", "PATCH", "DELETE"} and not wants_json():
        pairs += request.form.items(multi=True)
        pairs += [(name, f.filename or "") for name, f in request.files.items(multi=True)]
    field = first_refused(pairs)
    if field is not None:
        raise InvalidInputError(f"{field}: {REFUSED_TEXT}", fields={field: REFUSED_TEXT})


class TooDeepError(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH."""


def parse_json(text: str) -> Any:
    """``json.loads`` with the nesting bounded. CPython's decoder gives up with RecursionError
    near the interpreter's limit, in time linear in the text; anything it does parse is then
    measured without recursion and refused when deeper than MAX_JSON_DEPTH."""
    try:
        data = json.loads(text)
    except RecursionError as error:
        raise TooDeepError(f"JSON nested at most {MAX_JSON_DEPTH} deep.") from error
    if _depth(data) > MAX_JSON_DEPTH:
        raise TooDeepError(f"JSON nested at most {MAX_JSON_DEPTH} deep.")
    return data


def _depth(data: Any) -> int:
    deepest, waiting = 0, [(data, 1)]
    while waiting:
        value, depth = waiting.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            items = value.values() if isinstance(value, dict) else value
            waiting.extend((item, depth + 1) for item in items)
    return deepest


def load_json(raw: bytes | str) -> Any:
    """A JSON document, or a ``ValidationError`` naming what is wrong (and where, for text)."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise ValidationError({"_body": ["Send JSON as UTF-8 text."]}) from error
    try:
        data = parse_json(text)
    except TooDeepError as error:
        raise ValidationError({"_body": [str(error)]}) from error
    except ValueError as error:
        raise ValidationError({"_body": ["Send a JSON object."]}) from error
    where = refused_path(data)
    if where is not None:
        raise ValidationError({where: [REFUSED_TEXT]})
    return data


def refused_path(data: Any) -> str | None:
    """Where in a parsed document the first refused string is (``items.0.note``), if anywhere."""
    for where, value in _strings(data, ""):
        if is_refused(value):
            return where or "_body"
    return None


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string in a parsed document with its dotted path (keys are checked as text too)."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            yield (where or "_body"), str(key)
            yield from _strings(item, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}.{index}" if where else str(index))


def init_app(app: Flask) -> None:
    app.before_request(_guard)
