"""Sign-in, sessions, CSRF, throttling, headers and vendored assets."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from approvals.models import Need
from tests.support.web import Client as Browser
from tests.support.web import make_app
from web.config import instance_secret
from web.session import session_factory

VENDOR = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor"
HOMES = {
    "sf@ngo1.demo": "/sf/",
    "tl@ngo1.demo": "/approvals/",
    "pm@lead.demo": "/pm/",
    "fin@lead.demo": "/finance/",
    "admin@lead.demo": "/admin/",
    "auditor@lead.demo": "/audit/",
}


def test_every_response_carries_a_strict_content_security_policy(client: Browser) -> None:
    response = client.get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_page_has_inline_script_or_style(login: Any) -> None:
    for email, home in HOMES.items():
        page = login(email).get(home).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), email
        assert not re.search(r"\sstyle=", page), email
        assert not re.search(r"\son[a-z]+=", page), email
        assert "https://" not in page, f"{email}: something loads from another site"


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(client: Browser) -> None:
    wrong = client.post("/login", {"email": "sf@ngo1.demo", "password": "not it"})
    client.get("/login")
    unknown = client.post("/login", {"email": "nobody@ngo1.demo", "password": "not it"})
    assert wrong.status_code == unknown.status_code == 401
    message = "That e-mail and password do not match an active account."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_a_forged_post_without_the_csrf_token_is_refused_and_changes_nothing(
    app: Flask, login: Any
) -> None:
    sf = login("sf@ngo1.demo")
    with session_factory(app)() as session:
        client_id = session.execute(select(Need.client_id)).scalars().first()
        before = session.scalar(select(func.count()).select_from(Need))
    response = sf.client.post(
        f"/sf/clients/{client_id}/needs", data={"domain": "housing", "goal": "Forged"}
    )
    assert response.status_code == 400
    assert "not sent by this site" in response.get_data(as_text=True)
    with session_factory(app)() as session:
        assert session.scalar(select(func.count()).select_from(Need)) == before


def test_pages_need_a_signed_in_person(client: Browser) -> None:
    response = client.get("/sf/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_changing_the_password_signs_out_other_sessions(
    app: Flask, login: Any, password_put_back: Callable[[str], None]
) -> None:
    password_put_back("sf2@ngo1.demo")
    first = login("sf2@ngo1.demo")
    second = login("sf2@ngo1.demo")
    assert second.get("/sf/").status_code == 200
    first.get("/account/password")
    changed = first.post(
        "/account/password",
        {
            "current": "flexpool-demo",
            "new": "a much longer passphrase",
            "confirm": "a much longer passphrase",
        },
    )
    assert changed.status_code == 302
    assert first.get("/sf/").status_code == 200
    assert second.get("/sf/").status_code == 302  # back to the login page
    weak = first.post(
        "/account/password",
        {"current": "a much longer passphrase", "new": "short", "confirm": "short"},
    )
    assert weak.status_code == 422


def test_the_session_cookie_is_secure_http_only_and_same_site(web_db: str, tmp_path: Path) -> None:
    app = make_app(web_db, tmp_path, secure_cookies=True)
    browser = Browser(app.test_client())
    response = browser.get("/login")
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    app.extensions["flexpool.engine"].dispose()


def test_the_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = instance_secret(tmp_path / "instance")
    assert len(first) == 64 and first == instance_secret(tmp_path / "instance")
    assert instance_secret(tmp_path / "elsewhere") != first
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


def test_vendored_assets_match_their_recorded_checksums() -> None:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 4
    for line in lines:
        digest, name = line.split()
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_an_unexpected_error_is_a_plain_500_that_leaks_nothing(app: Flask) -> None:
    @app.get("/boom-for-test")
    def boom() -> str:
        raise RuntimeError("secret internals")

    @app.get("/api/v1/boom-for-test")
    def api_boom() -> str:
        raise RuntimeError("secret internals")

    page = app.test_client().get("/boom-for-test")
    assert page.status_code == 500
    assert "secret internals" not in page.get_data(as_text=True)
    assert "Something went wrong" in page.get_data(as_text=True)
    api = app.test_client().get("/api/v1/boom-for-test")
    assert api.status_code == 500
    assert api.get_json() == {
        "error": "internal_error",
        "message": "Something went wrong on our side.",
        "fields": {},
    }
