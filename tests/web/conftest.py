"""The web app over the demo consortium, and a client that signs in as any demo login.

The demo (a year of history) is loaded once per database: SQLite tests get a copy of a loaded
file; PostgreSQL tests share one database loaded once, so they create what they change.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from approvals.models import User
from demo.base import LOGINS
from tests.support.web import Client, make_app
from web.session import session_factory


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def web_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("demo_postgres"))
    path = tmp_path / "demo.db"
    shutil.copy(request.getfixturevalue("demo_sqlite"), path)
    return f"sqlite:///{path}"


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
