"""Structured logging: one JSON object per line, with the request's method, path and status."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

from flask import Flask, Response, g, request


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


access = logging.getLogger("flexpool.access")


def _start() -> None:
    g.started = time.perf_counter()


def _finish(response: Response) -> Response:
    started = g.get("started")
    elapsed = round((time.perf_counter() - started) * 1000, 1) if started else None
    user = getattr(g.get("actor"), "user_id", None)
    access.info(
        "request",
        extra={
            "fields": {
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "ms": elapsed,
                "user": user,
            }
        },
    )
    return response


def init_app(app: Flask, level: str) -> None:
    logger = logging.getLogger("flexpool")
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level.upper() if not app.testing else "WARNING")
    logger.propagate = False
    app.before_request(_start)
    app.after_request(_finish)
