"""CSRF on every form, sign-in throttling, and the headers every response carries.

The Content-Security-Policy allows no inline script and nothing from another origin: every
script and stylesheet is vendored under ``web/static/vendor/``.

Every way to present a password (the login page, ``POST /api/v1/tokens``, the password change)
goes through :func:`password_attempt`: the throttle is counted in the database
(:mod:`approvals.consortium.throttle`), per account and per address, so it holds across workers.
The address
is the connection's peer (``remote_addr``): no forwarding header is trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import limits
from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import TooManyRequests

from approvals.consortium import throttle
from ledger.db import run_in_transaction
from web import input_guard

csrf = CSRFProtect()
T = TypeVar("T")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), geolocation=(), microphone=()",
}


def _headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html" or response.mimetype == "application/json":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    input_guard.init_app(app)
    app.after_request(_headers)
    if app.config.get("SESSION_COOKIE_SECURE"):
        app.after_request(_hsts)


def _hsts(response: Response) -> Response:
    response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def remote_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def _limits() -> throttle.Limits:
    config = current_app.config["FLEXPOOL"]

    def windows(text: str) -> tuple[throttle.Window, ...]:
        return tuple(throttle.Window(i.amount, i.get_expiry()) for i in limits.parse_many(text))

    return throttle.Limits(
        account=windows(config.login_limit), address=windows(config.login_address_limit)
    )


def password_attempt(email: str, check: Callable[[int], T], *, now: datetime) -> T:
    """Run ``check`` (given the attempt's id) if this account and address are under their limits,
    else answer 429 with Retry-After. ``check`` deletes the attempt when the password was right
    (:func:`approvals.consortium.throttle.forget_attempt`); a wrong one stays counted."""
    factory = current_app.extensions["flexpool.sessions"]
    account, address, windows = throttle.account_key(email), remote_address(), _limits()
    attempt = run_in_transaction(
        factory,
        lambda s: throttle.record_attempt(
            s, account=account, address=address, now=now, windows=windows
        ),
    )
    wait = run_in_transaction(
        factory,
        lambda s: throttle.refused_for(
            s, account=account, address=address, now=now, windows=windows
        ),
    )
    if wait is not None:
        run_in_transaction(factory, lambda s: throttle.forget_attempt(s, attempt))
        raise TooManyRequests(
            "Too many sign-in attempts. Wait a while and try again.", retry_after=wait
        )
    return check(attempt)
