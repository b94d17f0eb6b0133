"""gunicorn, started from ``flexpool serve``: the same server in the demo and in production."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

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


def run(*, host: str, port: int, workers: int, threads: int) -> None:
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
