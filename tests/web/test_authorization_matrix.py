"""Every route × every kind of person, generated from the URL map.

A route without a row in ``ACCESS`` fails the test, so a new page cannot ship unchecked. For each
person: GET routes are opened, POST routes are sent an empty form (with a valid CSRF token).
Allowed people must get past authorization (no 401/403/404, no 5xx); everyone else gets 403 or
404, and anonymous visitors are sent to the login page (pages) or get 401 (API).
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.routing import Rule

import tests.web
from approvals.consortium.actors import load_actor
from approvals.consortium.tokens import create_token, hash_secret
from approvals.lifecycle.attachments import add_attachment
from approvals.models import (
    ApiToken,
    ApprovalPolicy,
    Category,
    Client,
    Delegation,
    FundRequest,
    Organisation,
    Payment,
    Supplier,
    User,
)
from ledger.db import run_in_transaction
from ledger.models import JournalTransaction
from tests.support.clock import CLOCK
from tests.support.web import Client as Browser
from tests.support.web import make_app
from web.session import session_factory

PEOPLE = [
    "anonymous",
    "sf@ngo1.demo",
    "sf@ngo2.demo",
    "tl@ngo1.demo",
    "tl@ngo2.demo",
    "pm@lead.demo",
    "fin@lead.demo",
    "finmgr@lead.demo",
    "admin@lead.demo",
    "auditor@lead.demo",
]
LEAD_READERS = {
    "pm@lead.demo",
    "fin@lead.demo",
    "finmgr@lead.demo",
    "admin@lead.demo",
    "auditor@lead.demo",
}
SIGNED_IN = set(PEOPLE) - {"anonymous"}
NGO1_STAFF = {"sf@ngo1.demo", "tl@ngo1.demo"}
APPROVERS = {"tl@ngo1.demo", "tl@ngo2.demo", "pm@lead.demo", "finmgr@lead.demo"}

# Who may use each of the core pages (None: anyone, signed in or not).
CORE: dict[str, set[str] | None] = {
    "health.healthz": None,
    "static": None,
    "auth.login": None,
    "auth.logout": SIGNED_IN,
    "auth.password": SIGNED_IN,
    "home.index": SIGNED_IN,
    "notifications.home": SIGNED_IN,
    "notifications.mark_read": SIGNED_IN,
    "sf.home": {"sf@ngo1.demo", "sf@ngo2.demo", "tl@ngo1.demo", "tl@ngo2.demo"},
    "sf.new_client": {"sf@ngo1.demo", "sf@ngo2.demo", "tl@ngo1.demo", "tl@ngo2.demo"},
    "sf.clients": {"sf@ngo1.demo", "sf@ngo2.demo", "tl@ngo1.demo", "tl@ngo2.demo"},
    "sf.client": NGO1_STAFF,
    "sf.new_need": NGO1_STAFF,
    "sf.set_status": NGO1_STAFF,
    "sf.new_request": NGO1_STAFF,
    "requests.detail": NGO1_STAFF | LEAD_READERS,
    "requests.act": NGO1_STAFF | LEAD_READERS,
    "requests.attach": NGO1_STAFF,
    "requests.document": NGO1_STAFF | LEAD_READERS,
    "inbox.home": APPROVERS,
}


PUBLIC_API = {"api.openapi", "api.issue_token"}


def _access() -> dict[str, set[str] | None]:
    """The core rows plus each area's own ``tests/web/access_*.py``.

    There, ``None`` means any signed-in person; only the core rows and the two public API
    endpoints are open to anonymous visitors.
    """
    table = dict(CORE)
    for module in pkgutil.iter_modules(tests.web.__path__):
        if module.name.startswith("access_"):
            found = importlib.import_module(f"tests.web.{module.name}")
            for endpoint, people in found.ACCESS.items():
                open_to_all = people is None and endpoint not in PUBLIC_API
                table[endpoint] = SIGNED_IN if open_to_all else people
    return table


def _samples(app: Flask) -> dict[str, Any]:
    """An NGO1 object for every URL parameter: NGO1 staff and the lead agency may see it."""
    factory = session_factory(app)
    with factory() as session:
        sf1 = session.execute(select(User).where(User.email == "sf@ngo1.demo")).scalar_one()
        ngo1 = session.execute(select(Organisation).where(Organisation.code == "NGO1")).scalar_one()
        client = (
            session.execute(
                select(Client).where(Client.organisation_id == ngo1.id).order_by(Client.id)
            )
            .scalars()
            .first()
        )
        request = (
            session.execute(
                select(FundRequest)
                .where(FundRequest.organisation_id == ngo1.id, FundRequest.requester_id == sf1.id)
                .order_by(FundRequest.id.desc())
            )
            .scalars()
            .first()
        )
        assert client is not None and request is not None
        consortium_id = ngo1.consortium_id

    def attach(session: Any) -> int:
        actor = load_actor(
            session, user_id=sf1.id, consortium_id=consortium_id, today=request.created_at.date()
        )
        return add_attachment(
            session,
            actor,
            request.id,
            kind="quote",
            filename="quote.png",
            data=b"\x89PNG\r\n\x1a\n" + b"\x00" * 32,
            store=Path(app.config["FLEXPOOL"].attachments_dir),
            now=request.created_at,
        ).id

    attachment_id = run_in_transaction(factory, attach)
    with factory() as session:
        first = {
            name: session.execute(select(model.id).order_by(model.id)).scalars().first()
            for name, model in (
                ("payment_id", Payment),
                ("supplier_id", Supplier),
                ("category_id", Category),
                ("policy_id", ApprovalPolicy),
                ("delegation_id", Delegation),
                ("transaction_id", JournalTransaction),
            )
        }
    samples: dict[str, Any] = {
        "request_id": request.id,
        "client_id": client.id,
        "attachment_id": attachment_id,
        "organisation_id": ngo1.id,
        "user_id": sf1.id,
        "filename": "app.css",
        "account": "org:NGO1",
        **first,
    }
    for module in pkgutil.iter_modules(tests.web.__path__):
        if module.name.startswith("access_"):
            found = importlib.import_module(f"tests.web.{module.name}")
            samples.update(getattr(found, "SAMPLES", {}))
            for name, resolve in getattr(found, "SAMPLE_VALUES", {}).items():
                samples[name] = resolve(app)
    return samples


def _routes(app: Flask) -> list[tuple[Rule, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule, method))
    # Signing out last, so the person stays signed in for the rest.
    return sorted(routes, key=lambda r: (r[0].endpoint == "auth.logout", r[0].rule, r[1]))


@pytest.fixture
def sqlite_app(demo_sqlite: Path, tmp_path: Path) -> Iterator[Flask]:
    """Authorization is the same on both databases; the matrix writes, so it gets a copy."""
    database = tmp_path / "matrix.db"
    shutil.copy(demo_sqlite, database)
    app = make_app(f"sqlite:///{database}", tmp_path)
    yield app
    app.extensions["flexpool.engine"].dispose()


def _token(app: Flask, email: str) -> str:
    """A personal API token for a demo login, made through the service."""
    factory = session_factory(app)

    def make(session: Any) -> str:
        user = session.execute(select(User).where(User.email == email)).scalar_one()
        consortium_id = session.execute(select(Organisation.consortium_id)).scalars().first()
        now = CLOCK.now()
        actor = load_actor(session, user_id=user.id, consortium_id=consortium_id, today=CLOCK.today)
        return create_token(
            session, actor, name="matrix", expires_at=now + timedelta(days=1), now=now
        )[1]

    return run_in_transaction(factory, make)


def test_every_route_has_a_row(sqlite_app: Flask) -> None:
    app = sqlite_app
    table = _access()
    missing = sorted({rule.endpoint for rule, _ in _routes(app)} - set(table))
    assert not missing, f"routes without an authorization row: {missing}"


# Wrong (here: empty) credentials are answered 401 by the places that take them.
REFUSES_CREDENTIALS = {"auth.login", "api.issue_token"}


def _allowed(status: int) -> bool:
    return status not in (401, 403, 404) and status < 500


@pytest.mark.parametrize("who", PEOPLE)
def test_each_person_reaches_exactly_what_they_may(sqlite_app: Flask, who: str) -> None:
    app = sqlite_app
    table = _access()
    samples = _samples(app)
    samples["token_id"] = _token_id(app, _token(app, "sf@ngo1.demo"))
    for own in ("api.revoke_token", "tokens.revoke"):
        table[own] = {"sf@ngo1.demo"}  # the sample is SF1's own token
    browser = Browser(app.test_client())
    bearer = {}
    if who != "anonymous":
        assert browser.login(who).status_code == 302
        bearer = {"Authorization": f"Bearer {_token(app, who)}"}
    else:
        browser.get("/login")
    wrong = []
    for rule, method in _routes(app):
        if rule.endpoint not in table:
            continue
        args = {name: samples[name] for name in rule.arguments}
        url = rule.build(args)[1] if args else rule.rule  # type: ignore[index]
        if url.startswith("/api/"):
            response = browser.client.open(
                url, method=method, headers=bearer, json={} if method == "POST" else None
            )
        elif method == "GET":
            response = browser.get(url)
        else:
            response = browser.client.post(url, data={"csrf_token": browser.token})
        status = response.status_code
        response.close()
        allowed = table[rule.endpoint]
        if allowed is None or who in allowed:
            ok = _allowed(status) or (status == 401 and rule.endpoint in REFUSES_CREDENTIALS)
        elif who == "anonymous":
            api = url.startswith("/api/")
            ok = (
                status == 401
                if api
                else (status == 302 and "/login" in response.headers.get("Location", ""))
            )
        else:
            ok = status in (403, 404)
        if not ok:
            wrong.append(f"{method} {url} -> {status}")
    assert not wrong, f"{who}: " + "; ".join(wrong)


def _token_id(app: Flask, secret: str) -> int:
    with session_factory(app)() as session:
        return session.execute(
            select(ApiToken.id).where(ApiToken.secret_hash == hash_secret(secret))
        ).scalar_one()
