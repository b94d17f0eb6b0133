"""gunicorn, started from ``flexpool serve``: the same server in the demo and in production."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.http import wsgi

from web import create_app


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return create_app()


def _without_banner(headers: list[str]) -> list[str]:
    return [line for line in headers if not line.lower().startswith("server:")]


def hide_banner() -> None:
    """gunicorn writes ``Server: gunicorn`` itself, before any header the app sets, so no
    after_request hook can remove it: its own list of default headers is filtered instead.
    Naming the server and its version only helps someone looking for a known flaw."""
    response = wsgi.Response
    if getattr(response, "_flexpool_quiet", False):
        return
    default_headers = response.default_headers

    def quiet(self: Any) -> list[str]:
        return _without_banner(default_headers(self))

    response.default_headers = quiet
    response._flexpool_quiet = True


def run(*, host: str, port: int, workers: int, threads: int) -> None:
    hide_banner()
    _Server(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            # One thread: plain sync workers take each request from the shared listen queue,
            # so a burst spreads over every worker. gthread keeps a client's connection with
            # the worker that accepted it; with one thread that queues its requests behind each
            # other while another worker idles (p95 three times p50 under wrk).
            "worker_class": "gthread" if threads > 1 else "sync",
            "accesslog": None,  # the app logs each request itself, as JSON
            "timeout": 60,
            "graceful_timeout": 5,
        }
    ).run()
