"""The web app over the demo consortium for tests, and a client that signs in as any demo login."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from demo.base import PASSWORD
from tests.support.clock import CLOCK
from web import create_app
from web.config import Config

TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


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


def sqlite_only_web_db(tmp_path: Path, demo_sqlite: Path) -> str:
    """For page modules whose services and queries the approvals, ledger and API tests already
    run on PostgreSQL: one database is enough there, and the suite stays inside its budget."""
    path = tmp_path / "demo.db"
    shutil.copy(demo_sqlite, path)
    return f"sqlite:///{path}"
