"""A real browser (Debian's Chromium through Playwright) against the app served on loopback.

Never ``playwright install``: the browser is the system's ``/usr/bin/chromium``. Without it (or
without Playwright) these tests skip, and the run's closing lines say so.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.support.databases import missing_tool
from tests.support.web import make_app

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory, demo_sqlite: Path) -> Iterator[Flask]:
    """The demo app on its own copy of the demo database, one per test module.

    Tests read that database through ``web.session_factory(live_app)``; whatever a module's
    journeys write (a closed month, say) stays in that module.
    """
    folder = tmp_path_factory.mktemp("e2e")
    database = folder / "demo.db"
    shutil.copy(demo_sqlite, database)
    app = make_app(f"sqlite:///{database}", folder)
    yield app
    app.extensions["flexpool.engine"].dispose()


@pytest.fixture(scope="module")
def live_server(live_app: Flask) -> Iterator[str]:
    """The module's demo app on a free loopback port, in a thread."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole run (starting it takes seconds); every test still gets fresh
    contexts from ``new_page``, so no cookie or storage carries over between tests."""
    if not CHROMIUM.exists():
        missing_tool("needs Chromium: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_tool("needs Playwright for Python: pip install playwright")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Any, live_server: str) -> Iterator[Any]:
    """``new_page(email)``: a fresh browser context signed in as that demo login."""
    contexts = []

    def open_as(email: str | None = None, **options: Any) -> Any:
        context = browser.new_context(base_url=live_server, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.set_default_navigation_timeout(45_000)  # the first load also starts the browser
        if email:
            page.goto("/login", wait_until="domcontentloaded")
            page.get_by_label("E-mail").fill(email)
            page.get_by_label("Password").fill("flexpool-demo")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield open_as
    for context in contexts:
        context.close()
