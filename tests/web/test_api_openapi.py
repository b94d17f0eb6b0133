"""The OpenAPI document: valid OpenAPI 3, every API route documented, money as patterned text;
and schemathesis against the WSGI app over the demo data (no network): no 5xx, and every
response matches the document."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from demo.base import PASSWORD
from tests.support.web import make_app
from tests.web.access_api import ACCESS

API = "/api/v1"


def test_the_document_is_valid_openapi_3(app: Flask) -> None:
    document = app.test_client().get(f"{API}/openapi.json").get_json()
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_api_route_is_documented_and_in_the_access_matrix(app: Flask) -> None:
    document = app.test_client().get(f"{API}/openapi.json").get_json()
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(API)), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API + "/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert routes == documented
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    assert endpoints | {"tokens.home", "tokens.create", "tokens.revoke"} == set(ACCESS)


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


def test_money_is_patterned_text_never_a_number(app: Flask) -> None:
    document = app.test_client().get(f"{API}/openapi.json").get_json()
    request = document["components"]["schemas"]["Request"]["properties"]
    assert request["amount"]["type"] == "string"
    assert request["amount"]["pattern"] == r"^[0-9]{1,10}\.[0-9]{2}$"
    assert not any(node.get("type") == "number" for node in _schemas(document))


# -- schemathesis ---------------------------------------------------------------------------------


@pytest.fixture
def fuzzed_app(demo_sqlite: Path, tmp_path: Path) -> Iterator[Flask]:
    """A private copy of the demo (SQLite): generated writes never touch a shared database."""
    path = tmp_path / "fuzz.db"
    shutil.copy(demo_sqlite, path)
    app = make_app(f"sqlite:///{path}", tmp_path)
    yield app
    app.extensions["flexpool.engine"].dispose()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# schemathesis imports multiprocessing lazily; pygal's import hook then warns about _winapi.
@pytest.mark.filterwarnings("ignore::ImportWarning")
def test_the_api_keeps_to_its_document(fuzzed_app: Flask) -> None:
    """A few generated calls per operation as the PM (a lead reader who may also allocate)."""
    token = fuzzed_app.test_client().post(
        f"{API}/tokens", json={"email": "pm@lead.demo", "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", fuzzed_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 29

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
