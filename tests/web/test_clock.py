"""The web app tells the time by the clock its factory was given, and only by that."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from web import create_app
from web.clock import now
from web.config import Config


def test_the_app_tells_the_time_by_the_clock_it_was_given_and_the_system_clock_otherwise(
    tmp_path: Path,
) -> None:
    moment = datetime(2031, 6, 30, 14, 30, tzinfo=UTC)  # 1 July in Sydney: a new year
    config = Config(database_url=f"sqlite:///{tmp_path / 'x.db'}", secret_key="k", testing=True)
    app = create_app(config, clock=lambda: moment)
    try:
        with app.app_context():
            assert now() == moment
        assert abs(now() - datetime.now(UTC)) < timedelta(hours=1)  # no app: the system's
    finally:
        app.extensions["flexpool.engine"].dispose()
