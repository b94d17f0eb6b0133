"""Text no field may hold, refused once at the edge, before any view or service sees it.

A NUL byte cannot be stored in a PostgreSQL text column (the database errors on it), and a lone
UTF-16 surrogate (``"\\ud800"`` in JSON) cannot be encoded as UTF-8 at all: either one used to
reach the database and come back as a 500. Both are refused with 422 naming the field, for the
query string, every form field and uploaded file's name, and every string (keys included) of a
JSON body; a path holding a NUL names nothing that exists, so it is a 404. JSON is parsed here
too, with its nesting bounded before the parser (a recursive one) ever sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any

from flask import Flask, request
from marshmallow import ValidationError
from werkzeug.exceptions import NotFound

from approvals.errors import InvalidInputError
from web.errors import wants_json

MAX_JSON_DEPTH = 32  # the deepest body the API takes is 3 levels; the policy editor's rules 4
REFUSED_TEXT = "Text may not contain a NUL byte or an unpaired surrogate."

_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


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


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text``, counted without parsing it."""
    brackets = _BRACKETS.findall(_JSON_STRING.sub('""', text))
    return max(accumulate((_STEP[b] for b in brackets), initial=0))


def load_json(raw: bytes | str) -> Any:
    """A JSON document, or a ``ValidationError`` naming what is wrong (and where, for text)."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise ValidationError({"_body": ["Send JSON as UTF-8 text."]}) from error
    if json_depth(text) > MAX_JSON_DEPTH:
        raise ValidationError({"_body": [f"JSON nested at most {MAX_JSON_DEPTH} deep."]})
    try:
        data = json.loads(text)
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
