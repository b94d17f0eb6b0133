"""The web app's one clock.

Pages, the API and the CLI ask :func:`now`; the domain below takes ``now``/``today`` as
parameters and never reads a clock itself. Production runs on :func:`system_clock`; the factory
takes another (``create_app(config, clock=...)``), so the test suite can run the whole app at a
pinned date without patching modules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app, has_app_context

Clock = Callable[[], datetime]
EXTENSION = "flexpool.clock"


def system_clock() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """Now (aware, UTC) by the running app's clock; the system clock outside an app."""
    if has_app_context():
        clock: Clock = current_app.extensions[EXTENSION]
        return clock()
    return system_clock()
