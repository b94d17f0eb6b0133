"""Hostile input at every door: refused with a 4xx, never a 5xx, and the database unchanged.

The doors come from the URL map and the API's route table (like the authorization matrix), not a
hand list: every form route gets a NUL in a field and in an uploaded file's name; every API write
gets a NUL and a lone surrogate in each of its text fields, a far or ISO-week date in each of its
date fields, and JSON nested 100,000 deep. The whole database is fingerprinted (every row of
every table, in primary-key order) before and after, and must not have moved.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from marshmallow import fields
from sqlalchemy import select
from werkzeug.test import TestResponse

from ledger.db import Base
from migrations import load_models
from tests.support.web import Client
from tests.web.test_sf_and_approver_pages import PNG, _client_of, _new_request
from web.api.core import OPERATIONS, Operation

API = "/api/v1"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
FAR_DATES = ["9999-12-31", "1900-01-01", "2026-W01", "2026-W01-1", "20260101"]
DEEP = "[" * 100_000 + "]" * 100_000
PARAM = re.compile(r"<(?:(\w+):)?\w+>")


def fingerprint(app: Flask) -> str:
    """Every row of every table the app declares, in primary-key order, hashed."""
    load_models()
    digest = hashlib.sha256()
    engine = app.extensions["flexpool.engine"]
    with engine.connect() as connection:
        for table in sorted(Base.metadata.tables.values(), key=lambda t: t.name):
            order = list(table.primary_key.columns) or list(table.columns)
            digest.update(table.name.encode())
            for row in connection.execute(select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def filled(rule: str) -> str:
    """A rule's URL with each path parameter given a plausible value."""
    return PARAM.sub(lambda m: "1" if m.group(1) == "int" else "x", rule)


def form_routes(app: Flask) -> list[str]:
    return sorted(
        filled(rule.rule)
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or set()) and not rule.rule.startswith(API)
    )


def api_writes() -> Iterator[tuple[Operation, str]]:
    for operation in OPERATIONS:
        if operation.method in WRITES and operation.body is not None:  # others read no body
            yield operation, API + filled(operation.rule)


def body_fields(operation: Operation, kind: type[fields.Field]) -> list[str]:  # type: ignore[type-arg]
    if operation.body is None:
        return []
    declared = operation.body().fields
    return [field.data_key or name for name, field in declared.items() if isinstance(field, kind)]


@pytest.fixture
def finance(login: Any) -> Client:
    signed: Client = login("fin@lead.demo")
    return signed


@pytest.fixture
def bearer(app: Flask) -> str:
    answer = app.test_client().post(
        f"{API}/tokens", json={"email": "pm@lead.demo", "password": "flexpool-demo"}
    )
    assert answer.status_code == 201
    token: str = answer.get_json()["token"]
    return token


def send_json(app: Flask, token: str, method: str, url: str, text: str) -> TestResponse:
    return app.test_client().open(
        url,
        method=method,
        data=text.encode("utf-8", "surrogatepass"),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_every_form_route_refuses_a_nul_in_a_field_or_a_file_name_and_changes_nothing(
    app: Flask, finance: Client
) -> None:
    before = fingerprint(app)
    routes = form_routes(app)
    assert len(routes) > 20  # the map was read, not an empty list
    answers: dict[str, int] = {}
    for url in routes:
        answers[url] = finance.post(url, {"note": "before\x00after"}).status_code
        upload = {"csrf_token": finance.token, "document": (io.BytesIO(b"x"), "a\x00.png")}
        answers[url + " (file)"] = finance.client.post(
            url, data=upload, content_type="multipart/form-data"
        ).status_code
    assert {url: status for url, status in answers.items() if status != 422} == {}
    assert fingerprint(app) == before


def test_every_page_refuses_a_nul_in_its_query_string(app: Flask, finance: Client) -> None:
    pages = sorted(
        filled(rule.rule)
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set()) and rule.endpoint != "static"
    )
    assert len(pages) > 20
    answers = {url: finance.get(url + "?q=a%00b").status_code for url in pages}
    assert {url: status for url, status in answers.items() if status != 422} == {}


def test_text_in_any_script_is_never_a_server_error(
    app: Flask, finance: Client, bearer: str
) -> None:
    words = "Дмитрий 見積書 ﷺ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 e\u0301"
    for url in form_routes(app):
        if "logout" not in url:
            assert finance.post(url, {"note": words, "memo": words}).status_code < 500, url
    for operation, url in api_writes():
        body = {name: words for name in body_fields(operation, fields.String)}
        answer = send_json(app, bearer, operation.method, url, json.dumps(body))
        assert answer.status_code < 500, (url, answer.get_json(silent=True))


def test_every_api_write_refuses_nul_surrogates_far_dates_and_deep_json_and_changes_nothing(
    app: Flask, bearer: str
) -> None:
    before = fingerprint(app)
    wrong: dict[str, Any] = {}
    writes = list(api_writes())
    assert len(writes) > 10
    for operation, url in writes:
        sent: list[tuple[str, str, str]] = [("deep", DEEP, "_body")]
        for name in body_fields(operation, fields.String):
            sent.append((f"{name}=NUL", json.dumps({name: "a\x00b"}), name))
            sent.append((f"{name}=surrogate", '{"' + name + '": "a\\ud800b"}', name))
        for name in body_fields(operation, fields.Date):
            sent += [(f"{name}={day}", json.dumps({name: day}), name) for day in FAR_DATES]
        for label, text, field in sent:
            answer = send_json(app, bearer, operation.method, url, text)
            named = (answer.get_json(silent=True) or {}).get("fields", {})
            # 403/404: the caller's scope is checked before the body is read, which is fine.
            if answer.status_code not in (403, 404) and not (
                answer.status_code == 422 and field in named
            ):
                wrong[f"{operation.method} {url} {label}"] = (answer.status_code, named)
    assert wrong == {}
    assert fingerprint(app) == before


# -- focused: each door on its own ----------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/%09/evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
    ],
)
def test_signing_in_never_redirects_off_the_site(client: Client, target: str) -> None:
    client.get("/login")
    answer = client.post(
        "/login?" + urlencode({"next": target}),
        {"email": "sf@ngo1.demo", "password": "flexpool-demo"},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/"


def test_signing_in_returns_to_a_page_of_the_site(client: Client) -> None:
    client.get("/login")
    answer = client.post(
        "/login?" + urlencode({"next": "/sf/?q=ab%20c"}),
        {"email": "sf@ngo1.demo", "password": "flexpool-demo"},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/sf/?q=ab%20c"


@pytest.mark.parametrize("name", ["счёт-фактура.png", "見積書.png", "devis été.png"])
def test_a_document_named_in_any_script_downloads_under_its_own_name(
    app: Flask, login: Any, name: str
) -> None:
    sf = login("sf@ngo1.demo")
    request_id = _new_request(app, sf, _client_of(app, "sf@ngo1.demo").id, intent="draft")
    upload = {"csrf_token": sf.token, "kind": "quote", "document": (io.BytesIO(PNG), name)}
    answer = sf.client.post(
        f"/requests/{request_id}/attachments", data=upload, content_type="multipart/form-data"
    )
    assert answer.status_code == 302
    page = sf.get(f"/requests/{request_id}").get_data(as_text=True)
    found = re.search(rf"/requests/{request_id}/attachments/\d+", page)
    assert found
    download = sf.get(found.group(0))
    assert download.status_code == 200 and download.data == PNG
    disposition = download.headers["Content-Disposition"]
    assert disposition.isascii() and f"filename*=UTF-8''{quote(name)}" in disposition


def test_a_nul_in_a_path_or_a_query_is_refused_and_reads_nothing(
    app: Flask, bearer: str, finance: Client
) -> None:
    auth = {"Authorization": f"Bearer {bearer}"}
    path = app.test_client().get(f"{API}/accounts/org:NGO1%00", headers=auth)
    assert path.status_code == 404 and path.get_json()["error"] == "not_found"
    query = app.test_client().get(f"{API}/requests?state=pending%00", headers=auth)
    assert query.status_code == 422 and "state" in query.get_json()["fields"]
    assert finance.get("/finance/?q=%00").status_code == 422


def test_deep_json_is_refused_in_the_policy_editor_too(app: Flask, login: Any) -> None:
    admin = login("admin@lead.demo")
    before = fingerprint(app)
    answer = admin.post("/admin/policy", {"rules": DEEP, "then": "draft"})
    assert answer.status_code == 422 and "nested at most" in answer.get_data(as_text=True)
    assert fingerprint(app) == before


@pytest.mark.parametrize("day", ["2026-W01-1", "9999-12-31", "1900-01-01"])
def test_a_move_between_envelopes_on_a_far_or_week_date_is_refused_on_the_page(
    app: Flask, login: Any, day: str
) -> None:
    pm = login("pm@lead.demo")
    before = fingerprint(app)
    form = {"source": "NGO1", "target": "NGO2", "amount": "1.00", "memo": "m"}
    answer = pm.post("/pm/move", {**form, "on": day})
    assert answer.status_code == 422, answer.get_data(as_text=True)[:3000]
    assert 'id="e-on"' in answer.get_data(as_text=True)
    assert fingerprint(app) == before


@pytest.mark.parametrize("after", ["a\x00b", "a\ud800b"], ids=["nul", "surrogate"])
def test_a_forged_cursor_holding_refused_text_is_a_422(app: Flask, bearer: str, after: str) -> None:
    text = json.dumps({"after": after})  # ASCII: the surrogate travels as \\ud800
    cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    answer = app.test_client().get(
        f"{API}/accounts?cursor={cursor}", headers={"Authorization": f"Bearer {bearer}"}
    )
    assert answer.status_code == 422 and "cursor" in answer.get_json()["fields"]
