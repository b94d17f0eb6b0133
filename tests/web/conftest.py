"""The web app over the demo consortium, and a client that signs in as any demo login.

The demo (a year of history) is loaded once per database: SQLite tests get a copy of a loaded
file; PostgreSQL tests share one database loaded once, so they create what they change.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from approvals.demo import LOGINS, PASSWORD
from approvals.models import User
from tests.conftest import CLOCK
from web import create_app
from web.config import Config
from web.session import session_factory

TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def web_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("demo_postgres"))
    path = tmp_path / "demo.db"
    shutil.copy(request.getfixturevalue("demo_sqlite"), path)
    return f"sqlite:///{path}"


def on_the_suite_clock() -> ScriptInfo:
    """For ``CliRunner.invoke(main, ..., obj=...)``: the ``flexpool`` command configured from
    its ``FLEXPOOL_*`` variables as ever, but telling the time by the suite's clock."""
    return ScriptInfo(create_app=lambda: create_app(clock=CLOCK))


def make_app(url: str, tmp_path: Path, **overrides: Any) -> Flask:
    settings: dict[str, Any] = {
        "database_url": url,
        "secret_key": "test-secret-key-not-for-production",
        "testing": True,
        "secure_cookies": False,
        "login_limit": "10000 per minute",
        "login_address_limit": "10000 per minute",
        "attachments_dir": str(tmp_path / "attachments"),
        "exports_dir": str(tmp_path / "exports"),
    }
    settings.update(overrides)
    return create_app(Config(**settings), clock=CLOCK)


@pytest.fixture
def app(web_db: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(web_db, tmp_path)
    yield app
    app.extensions["flexpool.engine"].dispose()


@pytest.fixture
def password_put_back(app: Flask) -> Iterator[Callable[[str], None]]:
    """For a test that changes a demo login's password: PostgreSQL tests share one demo, so the
    password hash is put back afterwards and later tests still sign in with the demo password."""
    kept: dict[str, str] = {}
    factory = session_factory(app)

    def keep(email: str) -> None:
        with factory() as session:
            kept[email] = session.scalars(
                select(User.password_hash).where(User.email == email)
            ).one()

    yield keep
    with factory.begin() as session:
        for email, digest in kept.items():
            session.execute(update(User).where(User.email == email).values(password_hash=digest))


class Client:
    """A browser-like test client: keeps the CSRF token from the last page it read."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        response = self.client.get(url, **kwargs)
        found = (
            TOKEN.search(response.get_data(as_text=True))
            if response.mimetype == "text/html"
            else None
        )
        if found:
            self.token = found.group(1)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        if not self.token:
            self.get("/login")
        form = {"csrf_token": self.token, **(data or {})}
        return self.client.post(url, data=form, **kwargs)

    def login(self, email: str, password: str = PASSWORD) -> TestResponse:
        self.get("/login")
        response = self.post("/login", {"email": email, "password": password})
        self.get("/")
        return response


@pytest.fixture
def client(app: Flask) -> Client:
    return Client(app.test_client())


@pytest.fixture
def login(app: Flask) -> Any:
    """``login("sf@ngo1.demo")`` gives a client signed in as that demo user."""

    def sign_in(email: str) -> Client:
        assert email in LOGINS
        signed = Client(app.test_client())
        response = signed.login(email)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return signed

    return sign_in


def sqlite_only_web_db(tmp_path: Path, demo_sqlite: Path) -> str:
    """For page modules whose services and queries the approvals, ledger and API tests already
    run on PostgreSQL: one database is enough there, and the suite stays inside its budget."""
    path = tmp_path / "demo.db"
    shutil.copy(demo_sqlite, path)
    return f"sqlite:///{path}"
