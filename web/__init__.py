"""The Flask app factory. Nothing is built at import time: no app, no engine, no scheduler."""

from __future__ import annotations

from flask import Flask

from ledger.db import make_engine, make_session_factory, read_only
from web.clock import EXTENSION as CLOCK
from web.clock import Clock, system_clock
from web.config import Config
from web.session import close_session


def create_app(config: Config | None = None, *, clock: Clock = system_clock) -> Flask:
    """The app; ``clock`` is where every page, API call and command asks the time."""
    config = config or Config.from_env()
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(
        FLEXPOOL=config,
        TESTING=config.testing,
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=config.secure_cookies,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
    )
    engine = make_engine(config.database_url)
    app.extensions[CLOCK] = clock
    app.extensions["flexpool.engine"] = engine
    app.extensions["flexpool.sessions"] = make_session_factory(engine)
    app.extensions["flexpool.reads"] = make_session_factory(read_only(engine))
    app.teardown_appcontext(close_session)

    from web import auth, errors, logs, security
    from web.api import blueprint as api
    from web.health import blueprint as health
    from web.pages import register as register_pages

    logs.init_app(app, config.log_level)
    security.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health)
    app.register_blueprint(auth.blueprint)
    register_pages(app)
    app.register_blueprint(api)
    security.csrf.exempt(api)  # bearer tokens only: no ambient credentials to forge
    return app
