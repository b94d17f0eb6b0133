"""The Flask app factory. Nothing is built at import time: no app, no engine, no scheduler."""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from sqlalchemy.orm import Session, sessionmaker

from ledger.db import make_engine, make_session_factory
from web.config import Config


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(__name__, instance_relative_config=True)
    app.config["FLEXPOOL"] = config
    app.config["TESTING"] = config.testing
    engine = make_engine(config.database_url)
    app.extensions["flexpool.engine"] = engine
    app.extensions["flexpool.sessions"] = make_session_factory(engine)
    app.teardown_appcontext(_close_session)

    from web.health import blueprint as health

    app.register_blueprint(health)
    return app


def session_factory(app: Flask) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.extensions["flexpool.sessions"]
    return factory


def db_session() -> Session:
    """The request's one session; closed (and rolled back if uncommitted) when the request ends."""
    from flask import current_app

    if "db_session" not in g:
        g.db_session = session_factory(current_app)()
    session: Session = g.db_session
    return session


def _close_session(_error: Any = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
