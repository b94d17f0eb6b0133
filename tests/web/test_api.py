"""The JSON API through the real app over the demo consortium: tokens, scope, a request's whole
life in money strings, strict money, idempotent replay, cursor pages, errors and 405s."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from approvals.consortium import people, tokens
from approvals.consortium.actors import load_actor
from approvals.fiscal import financial_year
from approvals.lifecycle.states import COUNTED_STATES
from approvals.models import Category, Client, FundRequest, Need, Supplier, User
from demo.base import PASSWORD
from ledger.db import run_in_transaction
from tests.support.clock import CLOCK
from web.session import session_factory

API = "/api/v1"
ERROR_KEYS = {"error", "message", "fields"}


class Api:
    """A client that speaks to the API as one token."""

    def __init__(self, app: Flask, token: str) -> None:
        self.client = app.test_client()
        self.token = token

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> TestResponse:
        headers = {"Authorization": f"Bearer {self.token}", **headers}
        return self.client.open(API + path, method=method, json=body, headers=headers)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(
            API + path, headers={"Authorization": f"Bearer {self.token}"}, **kwargs
        )

    def post(self, path: str, body: Any = None, **headers: str) -> TestResponse:
        return self.call("POST", path, body if body is not None else {}, **headers)


def issue(app: Flask, email: str, password: str = PASSWORD) -> TestResponse:
    return app.test_client().post(f"{API}/tokens", json={"email": email, "password": password})


@pytest.fixture
def api(app: Flask) -> Callable[[str], Api]:
    def make(email: str) -> Api:
        response = issue(app, email)
        assert response.status_code == 201, response.get_json()
        return Api(app, response.get_json()["token"])

    return make


def sydney_today() -> str:
    return CLOCK.today.isoformat()


def in_days(days: int) -> str:
    today = CLOCK.today
    return (today + timedelta(days=days)).isoformat()


def draft_body(app: Flask, sf: Api, **changes: Any) -> dict[str, Any]:
    """A valid new request for one of the SF's clients with an open need."""
    with session_factory(app)() as session:
        me = sf.get("/me").get_json()
        # The client given least this year (the needed-by date's), so a small request needs only
        # its Team Leader whatever the date: past $1,500 a year the policy adds the PM.
        year = financial_year(CLOCK.today + timedelta(days=7))
        given = (
            select(func.sum(func.coalesce(FundRequest.approved_cents, FundRequest.amount_cents)))
            .where(
                FundRequest.client_id == Client.id,
                FundRequest.state.in_(COUNTED_STATES),
                FundRequest.needed_by.between(year.start, year.end),
            )
            .scalar_subquery()
        )
        client = (
            session.execute(
                select(Client)
                .join(Need, Need.client_id == Client.id)
                .where(Need.status == "open", Client.support_facilitator_id == me["id"])
                .order_by(func.coalesce(given, 0), Client.id)
            )
            .scalars()
            .first()
        )
        assert client is not None
        need = (
            session.execute(select(Need).where(Need.client_id == client.id, Need.status == "open"))
            .scalars()
            .first()
        )
        category = session.execute(
            select(Category).where(Category.code == "groceries")
        ).scalar_one()
        supplier = (
            session.execute(
                select(Supplier).where(Supplier.gst_registered.is_(True)).order_by(Supplier.id)
            )
            .scalars()
            .first()
        )
        assert need is not None and supplier is not None
    body = {
        "client_id": client.id,
        "need_id": need.id,
        "category_id": category.id,
        "supplier_id": supplier.id,
        "amount": "44.00",
        "gst": "4.00",
        "purpose": "Groceries for the week",
        "no_other_channel": "Centrelink payment delayed; no other source this week.",
        "needed_by": in_days(7),  # the year above
    }
    body.update(changes)
    return body


def assert_error(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    payload: dict[str, Any] = response.get_json()
    assert set(payload) == ERROR_KEYS
    return payload


# -- tokens ---------------------------------------------------------------------------------------


def test_a_token_is_issued_once_and_works_as_its_user(app: Flask) -> None:
    response = issue(app, "sf@ngo1.demo")
    assert response.status_code == 201
    issued = response.get_json()
    assert issued["token"].startswith("fp_") and issued["kind"] == "login"
    me = Api(app, issued["token"]).get("/me").get_json()
    assert me["email"] == "sf@ngo1.demo"
    assert {r["role"] for r in me["roles"]} == {"SF"}
    listed = Api(app, issued["token"]).get("/tokens").get_json()["items"]
    mine = next(t for t in listed if t["id"] == issued["id"])
    assert "token" not in mine and mine["last_used_at"] is not None
    with session_factory(app)() as session:
        stored = session.get_one(tokens.ApiToken, issued["id"])
        assert stored.secret_hash == tokens.hash_secret(issued["token"])
        assert issued["token"] not in stored.secret_hash


@pytest.mark.parametrize(
    ("email", "password"),
    [("sf@ngo1.demo", "wrong password!"), ("nobody@ngo1.demo", PASSWORD), ("", "")],
)
def test_a_token_is_refused_without_the_right_password(
    app: Flask, email: str, password: str
) -> None:
    response = issue(app, email, password)
    assert response.status_code in (401, 422)
    assert set(response.get_json()) == ERROR_KEYS


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Bearer fp_not-a-token", "Basic c2Y6cGFzcw==", "bearer  "]
)
def test_calls_without_a_valid_token_are_401(app: Flask, header: str) -> None:
    response = app.test_client().get(f"{API}/me", headers={"Authorization": header})
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_session_cookie_is_no_way_into_the_api(login: Any) -> None:
    browser = login("pm@lead.demo")
    assert_error(browser.get(f"{API}/me"), 401)


def test_a_revoked_token_stops_working(app: Flask, api: Callable[[str], Api]) -> None:
    pm = api("pm@lead.demo")
    mine = pm.get("/tokens").get_json()["items"][0]
    assert pm.call("DELETE", f"/tokens/{mine['id']}").get_json()["revoked_at"] is not None
    assert_error(pm.get("/me"), 401)


def test_someone_elses_token_cannot_be_revoked(api: Callable[[str], Api]) -> None:
    pm, sf = api("pm@lead.demo"), api("sf@ngo1.demo")
    theirs = sf.get("/tokens").get_json()["items"][0]["id"]
    assert_error(pm.call("DELETE", f"/tokens/{theirs}"), 404)
    assert sf.get("/me").status_code == 200


@pytest.mark.calendar
def test_an_expired_token_stops_working(app: Flask) -> None:
    past = CLOCK.now() - timedelta(days=3)

    def make(session: Any) -> str:
        user = session.execute(select(User).where(User.email == "fin@lead.demo")).scalar_one()
        me = session.execute(select(tokens.ApiToken.consortium_id)).scalars().first()
        consortium_id = me or people.consortium_of(session, user.id)
        who = load_actor(session, user_id=user.id, consortium_id=consortium_id, today=past.date())
        _, secret = tokens.create_token(
            session, who, name="short", expires_at=past + timedelta(days=1), now=past
        )
        return secret

    secret = run_in_transaction(session_factory(app), make)
    assert_error(Api(app, secret).get("/me"), 401)


@pytest.mark.calendar
def test_personal_tokens_in_the_ui(app: Flask, login: Any) -> None:
    browser = login("tl@ngo1.demo")
    page = browser.get("/account/tokens/")
    assert page.status_code == 200 and "New token" in page.get_data(as_text=True)
    made = browser.post("/account/tokens/", {"name": "reports script", "expires_on": in_days(30)})
    assert made.status_code == 201
    html = made.get_data(as_text=True)
    secret = html.split('id="new-token" type="text" value="')[1].split('"')[0]
    assert Api(app, secret).get("/me").get_json()["email"] == "tl@ngo1.demo"
    listed = browser.get("/account/tokens/").get_data(as_text=True)
    assert "reports script" in listed and secret not in listed
    token_id = Api(app, secret).get("/tokens").get_json()["items"][0]["id"]
    assert browser.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    assert_error(Api(app, secret).get("/me"), 401)
    assert issue(app, "tl@ngo1.demo").status_code == 201  # a login token, listed beside it
    listed = browser.get("/account/tokens/").get_data(as_text=True)
    assert "<td>reports script</td>" in listed  # a personal token is not marked as a sign-in
    assert '<td>API <span class="text-body-secondary">(API sign-in)</span></td>' in listed


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": "", "expires_on": in_days(30)}, "name"),
        ({"name": "x", "expires_on": in_days(-1)}, "expires_on"),
        ({"name": "x", "expires_on": in_days(400)}, "expires_on"),
        ({"name": "x", "expires_on": "soon"}, "expires_on"),
    ],
)
def test_the_ui_refuses_a_bad_token(login: Any, form: dict[str, str], field: str) -> None:
    response = login("sf@ngo1.demo").post("/account/tokens/", form)
    assert response.status_code == 422
    assert f'id="e-{field}"' in response.get_data(as_text=True)


# -- scope ----------------------------------------------------------------------------------------


def test_an_sf_of_another_ngo_sees_404s(app: Flask, api: Callable[[str], Api]) -> None:
    sf1, sf2 = api("sf@ngo1.demo"), api("sf@ngo2.demo")
    client_id = sf1.get("/clients?limit=1").get_json()["items"][0]["id"]
    created = sf1.post("/requests", draft_body(app, sf1))
    assert created.status_code == 201, created.get_json()
    request_id = created.get_json()["id"]
    assert_error(sf2.get(f"/clients/{client_id}"), 404)
    assert_error(sf2.get(f"/clients/{client_id}/needs"), 404)
    assert_error(sf2.get(f"/requests/{request_id}"), 404)
    assert_error(sf2.post(f"/requests/{request_id}/withdraw"), 404)
    ngo2_clients = {c["id"] for c in sf2.get("/clients?limit=100").get_json()["items"]}
    assert client_id not in ngo2_clients
    listed = sf2.get(f"/requests?client={client_id}").get_json()
    assert listed == {"items": [], "next": None}
    assert_error(sf2.get("/accounts/org:NGO1"), 404)
    assert sf2.get("/accounts/org:NGO2").status_code == 200
    assert_error(sf2.get("/users"), 403)
    assert_error(sf2.get("/reports/trial-balance"), 403)


# -- a request's whole life -----------------------------------------------------------------------


@pytest.mark.calendar
def test_a_request_from_draft_to_paid(app: Flask, api: Callable[[str], Api]) -> None:
    sf, tl, fin = api("sf@ngo1.demo"), api("tl@ngo1.demo"), api("fin@lead.demo")
    before = sf.get("/accounts/org:NGO1").get_json()
    created = sf.post("/requests", draft_body(app, sf, amount="44.00", gst="4.00"))
    assert created.status_code == 201, created.get_json()
    draft = created.get_json()
    assert (draft["state"], draft["amount"], draft["gst"], draft["paid"]) == (
        "draft",
        "44.00",
        "4.00",
        "0.00",
    )
    rid = draft["id"]
    assert sf.post(f"/requests/{rid}/submit").get_json()["state"] == "pending"
    asked = tl.post(f"/requests/{rid}/request-info", {"reason": "Which shop?"})
    assert asked.get_json()["state"] == "info_requested"
    responded = sf.post(f"/requests/{rid}/respond", {"reason": "The local supermarket."})
    assert responded.get_json()["state"] == "pending"
    assert_error(sf.post(f"/requests/{rid}/approve"), 403)
    approved = tl.post(f"/requests/{rid}/approve", {"amount": "30.00"})
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["state"] == "approved"
    assert approved.get_json()["approved"] == "30.00"
    after = sf.get("/accounts/org:NGO1").get_json()
    assert to_cents(before["available"]) - to_cents(after["available"]) == 3000
    payment = {
        "invoice_number": f"INV-{uuid.uuid4().hex[:10]}",
        "inc_gst": "33.00",
        "gst": "3.00",
        "paid_on": sydney_today(),
    }
    assert_error(tl.post(f"/requests/{rid}/payments", payment), 403)
    paid = fin.post(f"/requests/{rid}/payments", payment)
    assert paid.status_code == 201, paid.get_json()
    assert (paid.get_json()["state"], paid.get_json()["paid"]) == ("paid", "30.00")
    conflict = assert_error(sf.post(f"/requests/{rid}/withdraw"), 409)
    assert conflict["error"] == "invalid_transition"
    listed = sf.get("/requests?state=paid&limit=100").get_json()["items"]
    assert rid in {r["id"] for r in listed}


def test_a_request_says_what_its_caller_may_do_now(app: Flask, api: Callable[[str], Api]) -> None:
    """The same offer as the request's page (docs/approvals.md#who-may-act), as route names."""
    sf, tl = api("sf@ngo1.demo"), api("tl@ngo1.demo")
    fin, finmgr = api("fin@lead.demo"), api("finmgr@lead.demo")
    draft = sf.post("/requests", draft_body(app, sf)).get_json()
    rid = draft["id"]
    assert draft["actions"] == ["submit", "withdraw"]
    assert tl.get(f"/requests/{rid}").get_json()["actions"] == ["submit", "withdraw"]
    assert sf.post(f"/requests/{rid}/submit").get_json()["actions"] == ["withdraw"]
    assert tl.get(f"/requests/{rid}").get_json()["actions"] == [
        "withdraw",
        "approve",
        "request-info",
        "send-back",
        "reject",
    ]
    assert fin.get(f"/requests/{rid}").get_json()["actions"] == []
    assert tl.post(f"/requests/{rid}/approve").get_json()["actions"] == []
    assert fin.get(f"/requests/{rid}").get_json()["actions"] == ["cancel", "payments"]
    assert finmgr.get(f"/requests/{rid}").get_json()["actions"] == ["payments"]
    assert "actions" not in sf.get("/requests?limit=1").get_json()["items"][0]


def to_cents(text: str) -> int:
    dollars, cents = text.lstrip("-").split(".")
    return (-1 if text.startswith("-") else 1) * (int(dollars) * 100 + int(cents))


def test_reject_send_back_resubmit_withdraw(app: Flask, api: Callable[[str], Api]) -> None:
    sf, tl = api("sf@ngo1.demo"), api("tl@ngo1.demo")
    rid = sf.post("/requests", draft_body(app, sf)).get_json()["id"]
    sf.post(f"/requests/{rid}/submit")
    assert_error(tl.post(f"/requests/{rid}/send-back", {}), 422)
    assert (
        tl.post(f"/requests/{rid}/send-back", {"reason": "Add a quote."}).get_json()["state"]
        == "returned"
    )
    assert sf.post(f"/requests/{rid}/submit").get_json()["state"] == "pending"
    assert (
        tl.post(f"/requests/{rid}/reject", {"reason": "Not eligible."}).get_json()["state"]
        == "rejected"
    )
    other = sf.post("/requests", draft_body(app, sf)).get_json()["id"]
    assert sf.post(f"/requests/{other}/withdraw").get_json()["state"] == "withdrawn"


# -- strict input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["12.505", "-3", "1e3", "", "12", "12.5", "1,234.00", 12.5])
def test_money_is_parsed_strictly(app: Flask, api: Callable[[str], Api], amount: Any) -> None:
    sf = api("sf@ngo1.demo")
    error = assert_error(sf.post("/requests", draft_body(app, sf, amount=amount)), 422)
    assert error["error"] == "invalid_input" and "amount" in error["fields"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"surprise": 1}, "surprise"),
        ({"client_id": "12"}, "client_id"),
        ({"needed_by": "tomorrow"}, "needed_by"),
        ({"gst": "50.00"}, "gst"),
        ({"amount": "0.00"}, "amount"),
    ],
)
def test_bad_fields_are_named(
    app: Flask, api: Callable[[str], Api], changes: dict[str, Any], field: str
) -> None:
    sf = api("sf@ngo1.demo")
    error = assert_error(sf.post("/requests", draft_body(app, sf, **changes)), 422)
    assert field in error["fields"]


def test_a_body_that_is_not_an_object_is_422(api: Callable[[str], Api]) -> None:
    sf = api("sf@ngo1.demo")
    response = sf.client.post(
        f"{API}/requests",
        data="[1, 2",
        headers={"Authorization": f"Bearer {sf.token}", "Content-Type": "application/json"},
    )
    assert "_body" in assert_error(response, 422)["fields"]
    assert "_body" in assert_error(sf.call("POST", "/requests", [1, 2]), 422)["fields"]


# -- idempotency ----------------------------------------------------------------------------------


def test_the_same_key_replays_the_first_answer(app: Flask, api: Callable[[str], Api]) -> None:
    sf = api("sf@ngo1.demo")
    body, key = draft_body(app, sf), f"k-{uuid.uuid4()}"
    first = sf.post("/requests", body, **{"Idempotency-Key": key})
    again = sf.post("/requests", dict(reversed(body.items())), **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    changed = sf.post("/requests", {**body, "amount": "45.00"}, **{"Idempotency-Key": key})
    assert assert_error(changed, 409)["error"] == "idempotency_key_reused"
    fresh = sf.post("/requests", body, **{"Idempotency-Key": f"k-{uuid.uuid4()}"})
    assert fresh.get_json()["id"] != first.get_json()["id"]
    assert_error(sf.post("/requests", body, **{"Idempotency-Key": "has space"}), 422)


def test_keys_belong_to_their_user(app: Flask, api: Callable[[str], Api]) -> None:
    sf, sf2 = api("sf@ngo1.demo"), api("sf2@ngo1.demo")
    key = f"k-{uuid.uuid4()}"
    first = sf.post("/requests", draft_body(app, sf), **{"Idempotency-Key": key})
    second = sf2.post("/requests", draft_body(app, sf2), **{"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] != second.get_json()["id"]


def test_a_grant_with_a_key_posts_once(api: Callable[[str], Api]) -> None:
    fin = api("fin@lead.demo")
    body = {"amount": "1000.00", "on": sydney_today(), "memo": "Top-up from the funder"}
    key = f"g-{uuid.uuid4()}"
    before = fin.get("/accounts/pool").get_json()
    first = fin.post("/transactions/grant-receipts", body, **{"Idempotency-Key": key})
    again = fin.post("/transactions/grant-receipts", body, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    after = fin.get("/accounts/pool").get_json()
    assert to_cents(after["posted"]) - to_cents(before["posted"]) == 100000


# -- pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/clients", "/requests", "/accounts", "/organisations"])
def test_cursor_pages_walk_everything_once(api: Callable[[str], Api], path: str) -> None:
    pm = api("pm@lead.demo")
    seen: list[Any] = []
    cursor: str | None = None
    for _ in range(500):
        query = f"{path}?limit=7" + (f"&cursor={cursor}" if cursor else "")
        payload = pm.get(query).get_json()
        assert set(payload) == {"items", "next"} and len(payload["items"]) <= 7
        seen += [item.get("id", item.get("code")) for item in payload["items"]]
        cursor = payload["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and len(seen) >= 3
    everything = pm.get(f"{path}?limit=100").get_json()["items"]
    if len(everything) < 100:
        assert {item.get("id", item.get("code")) for item in everything} <= set(seen)


def test_entries_page_with_as_of(api: Callable[[str], Api]) -> None:
    pm = api("pm@lead.demo")
    first = pm.get("/accounts/pool/entries?limit=3").get_json()
    assert len(first["items"]) == 3 and first["next"]
    second = pm.get(f"/accounts/pool/entries?limit=3&cursor={first['next']}").get_json()
    assert first["items"][-1]["transfer_id"] > second["items"][0]["transfer_id"]
    day = first["items"][-1]["effective_date"]
    dated = pm.get(f"/accounts/pool/entries?limit=50&as_of={day}").get_json()["items"]
    assert all(entry["effective_date"] <= day for entry in dated)
    account = pm.get(f"/accounts/pool?as_of={day}").get_json()
    assert account["as_of"] == day and account["posted_as_of"] is not None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("cursor=!!", "cursor"),
        ("state=lost", "state"),
    ],
)
def test_bad_page_arguments_are_422(api: Callable[[str], Api], query: str, field: str) -> None:
    error = assert_error(api("pm@lead.demo").get(f"/requests?{query}"), 422)
    assert field in error["fields"]


def test_trial_balance_sums_to_zero(api: Callable[[str], Api]) -> None:
    report = api("auditor@lead.demo").get(f"/reports/trial-balance?as_of={sydney_today()}")
    payload = report.get_json()
    assert payload["debits"] == payload["credits"]
    assert sum(to_cents(line["balance"]) for line in payload["lines"]) == 0


# -- HTTP details ---------------------------------------------------------------------------------


def test_405_keeps_the_allow_header(api: Callable[[str], Api]) -> None:
    response = api("pm@lead.demo").call("PUT", "/me")
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]
    unknown = api("pm@lead.demo").get("/nothing-here")
    assert_error(unknown, 404)
