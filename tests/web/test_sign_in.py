"""Sign-in throttling held in the database (across workers, processes and addresses), sessions
that end at sign-out and at a password change, and the password policy on the page."""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.managers import SyncManager
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from demo.base import PASSWORD
from tests.support.web import Client as Browser
from tests.support.web import make_app

API = "/api/v1"
REFUSED = "That e-mail and password do not match an active account."


def _address() -> str:
    """An address of its own, so the counts of other tests on the same database never mix in."""
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def _nobody() -> str:
    return f"nobody-{uuid.uuid4().hex[:12]}@example.org"


def _login(browser: Browser, email: str, password: str, address: str) -> int:
    browser.get("/login", environ_base={"REMOTE_ADDR": address})
    answer = browser.post(
        "/login", {"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )
    return answer.status_code


def _issue(app: Flask, email: str, password: str, address: str) -> int:
    answer = app.test_client().post(
        f"{API}/tokens",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    return answer.status_code


@pytest.fixture
def limited(web_db: str, tmp_path: Path) -> Any:
    made: list[Flask] = []

    def make(limit: str, address_limit: str | None = None) -> Flask:
        app = make_app(
            web_db, tmp_path, login_limit=limit, login_address_limit=address_limit or limit
        )
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["flexpool.engine"].dispose()


def test_login_is_throttled_per_account_and_per_address(limited: Any) -> None:
    app, address, account = limited("3 per minute"), _address(), _nobody()
    browser = Browser(app.test_client())
    statuses = [_login(browser, account, "wrong", address) for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    # The account, from anywhere else:
    assert _login(browser, account, "wrong", _address()) == 429
    # The address, for any other account (a known one included, with its right password):
    assert _login(browser, "sf@ngo1.demo", PASSWORD, address) == 429


def test_a_throttled_sign_in_shows_the_form_again_saying_how_long_to_wait(limited: Any) -> None:
    app, address, account = limited("2 per minute"), _address(), _nobody()
    browser = Browser(app.test_client())
    assert [_login(browser, account, "wrong", address) for _ in range(2)] == [401, 401]
    browser.get("/login", environ_base={"REMOTE_ADDR": address})
    page = browser.post(
        "/login", {"email": account, "password": "wrong"}, environ_base={"REMOTE_ADDR": address}
    )
    body = page.get_data(as_text=True)
    assert page.status_code == 429 and page.headers["Retry-After"] == "60"
    assert "Too many sign-in attempts. Try again in 1 minute." in body
    assert 'name="password"' in body and f'value="{account}"' in body


def test_one_person_mistyping_does_not_lock_out_their_office(limited: Any) -> None:
    """A partner NGO's office signs in from one address: its limit is wider than an account's."""
    app, office = limited("3 per minute", "6 per minute"), _address()
    browser, mistyped = Browser(app.test_client()), _nobody()
    assert [_login(browser, mistyped, "wrong", office) for _ in range(4)][-1] == 429
    assert _login(browser, "sf@ngo1.demo", PASSWORD, office) == 302
    colleague = Browser(app.test_client())
    assert [_login(colleague, _nobody(), "wrong", office) for _ in range(3)] == [401] * 3
    assert _login(colleague, _nobody(), "wrong", office) == 429  # the office's seventh: a flood


def test_an_unknown_account_and_a_wrong_password_are_throttled_alike(limited: Any) -> None:
    app = limited("2 per minute")
    browser = Browser(app.test_client())
    for email in ("pm@lead.demo", _nobody()):
        address = _address()
        statuses = [_login(browser, email, "not it at all", address) for _ in range(3)]
        assert statuses == [401, 401, 429], email


def test_a_token_request_from_thirty_addresses_is_throttled_per_account(limited: Any) -> None:
    """Finding: 300 wrong passwords a minute against one account from 30 loopback addresses."""
    app, account = limited("10 per minute"), _nobody()
    statuses = [_issue(app, account, "wrong password", _address()) for _ in range(30)]
    assert statuses.count(401) == 10 and statuses.count(429) == 20
    assert statuses[:10] == [401] * 10


def test_a_right_password_is_not_counted_against_the_account(limited: Any) -> None:
    app = limited("2 per minute")
    for _ in range(4):
        assert _issue(app, "auditor@lead.demo", PASSWORD, _address()) == 201


def test_guessing_the_current_password_on_the_change_form_is_throttled(
    limited: Any, web_db: str
) -> None:
    app, address = limited("3 per minute"), _address()
    browser = Browser(app.test_client())
    browser.client.environ_base["REMOTE_ADDR"] = address  # every request, as one browser
    assert _login(browser, "ceo@lead.demo", PASSWORD, address) == 302
    guess = {"current": "a wrong guess", "new": "a much longer passphrase"}
    guess["confirm"] = guess["new"]
    browser.get("/account/password")
    statuses = [browser.post("/account/password", guess).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]


def _worker(
    url: str, folder: str, account: str, address: str, tries: int, everyone: Any
) -> tuple[int, list[int]]:
    app = make_app(url, Path(folder), login_limit="5 per minute")
    browser = Browser(app.test_client())
    try:
        everyone.wait(timeout=120)
        return os.getpid(), [_login(browser, account, "wrong", address) for _ in range(tries)]
    finally:
        app.extensions["flexpool.engine"].dispose()


@dataclass
class Workers:
    pool: Pool
    manager: SyncManager


@pytest.fixture(scope="module")
def workers() -> Iterator[Workers]:
    """Four worker processes, started once for both databases: starting one (a fresh
    interpreter importing the app) costs seconds; each job still builds its own app."""
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, spawn.Pool(4) as pool:
        yield Workers(pool, manager)


def test_the_account_limit_holds_across_worker_processes(
    web_db: str, tmp_path: Path, workers: Workers
) -> None:
    """Finding: with four workers, each kept its own count (40 a minute against a limit of 10).
    Four processes, each its own app and address, one database: five wrong passwords in all.
    Each job waits at a barrier until all four have started, so no process runs two of them."""
    account, everyone = _nobody(), workers.manager.Barrier(4)
    jobs = [(web_db, str(tmp_path), account, _address(), 5, everyone) for _ in range(4)]
    ran = workers.pool.starmap(_worker, jobs, chunksize=1)
    assert len({pid for pid, _ in ran}) == 4
    answers = [s for _, statuses in ran for s in statuses]
    assert answers.count(401) == 5 and answers.count(429) == 15


# -- sessions -------------------------------------------------------------------------------------


def _copy(signed: Browser, app: Flask) -> Browser:
    """Another browser holding a copy of the signed-in session cookie."""
    cookie = signed.client.get_cookie("session")
    assert cookie is not None
    thief = Browser(app.test_client())
    thief.client.set_cookie("session", cookie.value)
    return thief


def test_a_session_cookie_copied_before_sign_out_is_dead_after_it(app: Flask, login: Any) -> None:
    signed = login("sf@ngo3.demo")
    copied = _copy(signed, app)
    assert copied.get("/sf/").status_code == 200
    assert signed.post("/logout").status_code == 302
    assert copied.get("/sf/").status_code == 302  # back to the login page
    assert login("sf@ngo3.demo").get("/sf/").status_code == 200  # signing in again works


def test_signing_out_ends_every_session_of_that_person(app: Flask, login: Any) -> None:
    phone, laptop = login("tl@ngo3.demo"), login("tl@ngo3.demo")
    assert laptop.post("/logout").status_code == 302
    assert phone.get("/approvals/").status_code == 302


def test_a_password_change_revokes_every_api_token_and_refuses_a_common_password(
    app: Flask, login: Any, password_put_back: Callable[[str], None]
) -> None:
    password_put_back("sf2@ngo1.demo")
    user = login("sf2@ngo1.demo")
    issued = app.test_client().post(
        f"{API}/tokens", json={"email": "sf2@ngo1.demo", "password": PASSWORD}
    )
    token = {"Authorization": f"Bearer {issued.get_json()['token']}"}
    assert app.test_client().get(f"{API}/me", headers=token).status_code == 200
    user.get("/account/password")
    common = {"current": PASSWORD, "new": "password1234", "confirm": "password1234"}
    refused = user.post("/account/password", common)
    assert refused.status_code == 422 and "easy to guess" in refused.get_data(as_text=True)
    assert app.test_client().get(f"{API}/me", headers=token).status_code == 200
    new = "a much longer passphrase"
    changed = user.post("/account/password", {"current": PASSWORD, "new": new, "confirm": new})
    assert changed.status_code == 302
    assert app.test_client().get(f"{API}/me", headers=token).status_code == 401
