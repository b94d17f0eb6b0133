"""Throw-away databases for one run: a temp SQLite file and a new PostgreSQL database.

Each is migrated with ``migrations.upgrade`` (never ``create_all``), so the benchmark measures
the real schema: its indexes, foreign keys, CHECKs and append-only triggers. The PostgreSQL
database is created through the server's ``postgres`` database and dropped again at the end,
even when the run fails, so a run never touches anyone else's data.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from migrations import upgrade

# The same connection settings as ledger/db.py gives SQLite (busy_timeout only matters there).
SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 30000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
)


@dataclass(frozen=True)
class Target:
    """One database under test: its SQLAlchemy URL and a way to open a raw DB-API connection."""

    name: str
    url: str
    raw_connect: Callable[[], Any]
    server_version: str


@contextmanager
def fresh_sqlite() -> Iterator[Target]:
    with tempfile.TemporaryDirectory(prefix="flexpool-bench-") as folder:
        path = Path(folder) / "bench.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield Target("SQLite", url, lambda: _sqlite_connect(path), sqlite3.sqlite_version)


def _sqlite_connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)  # we send BEGIN/COMMIT ourselves
    for pragma in SQLITE_PRAGMAS:
        connection.execute(pragma)
    return connection


def psycopg_url(url: str) -> URL:
    """Accept ``postgresql://`` or ``postgresql+psycopg://``; SQLAlchemy is given psycopg 3."""
    return make_url(url).set(drivername="postgresql+psycopg")


def libpq_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_postgres(server_url: str) -> Iterator[Target]:
    server = psycopg_url(server_url)
    admin = libpq_dsn(server.set(database="postgres"))
    name = f"flexpool_bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = server.set(database=name)
        dsn = libpq_dsn(url)
        upgrade(url.render_as_string(hide_password=False))
        with psycopg.connect(dsn) as connection:
            row = connection.execute("SHOW server_version").fetchone()
        version_text = str(row[0]) if row else "?"
        yield Target(
            "PostgreSQL",
            url.render_as_string(hide_password=False),
            lambda: psycopg.connect(dsn, autocommit=True),  # we send BEGIN/COMMIT ourselves
            version_text,
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def machine_facts() -> list[tuple[str, str]]:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        ("cores", str(os.cpu_count())),
        ("load average at start", f"{load} (the cores are shared: figures are noisy)"),
        ("platform", platform.platform()),
        ("Python", platform.python_version()),
        ("SQLAlchemy", version("sqlalchemy")),
        ("psycopg", version("psycopg")),
        ("SQLite library", sqlite3.sqlite_version),
    ]
