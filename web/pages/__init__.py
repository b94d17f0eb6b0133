"""Server-rendered pages, one blueprint per area; each home is one role's working day."""

from __future__ import annotations

from flask import Flask

from web.pages import (
    admin,
    auditor,
    bank,
    exports,
    finance,
    home,
    inbox,
    notifications,
    pm,
    requests,
    sf,
    tokens,
)


def register(app: Flask) -> None:
    home.init_app(app)
    for module in (
        home,
        sf,
        requests,
        inbox,
        pm,
        finance,
        exports,
        bank,
        admin,
        auditor,
        notifications,
        tokens,
    ):
        app.register_blueprint(module.blueprint)
