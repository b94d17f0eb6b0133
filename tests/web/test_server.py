"""The real server, as ``flexpool serve`` runs it: gunicorn on a free loopback port."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answer(port: int, path: str) -> http.client.HTTPResponse | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response
    except OSError:
        return None
    finally:
        connection.close()


@pytest.fixture
def served(demo_sqlite: Path, tmp_path: Path) -> Iterator[int]:
    shutil.copy(demo_sqlite, tmp_path / "demo.db")
    port = free_port()
    env = {
        **os.environ,
        "FLEXPOOL_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "FLEXPOOL_SECRET_KEY": "test-secret-key-not-for-production",
        "FLEXPOOL_ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        "FLEXPOOL_EXPORTS_DIR": str(tmp_path / "exports"),
    }
    command = [sys.executable, "-c", "from web.cli import main; main()", "serve"]
    options = ["--port", str(port), "--workers", "1", "--threads", "1"]
    server = subprocess.Popen([*command, *options], env=env, cwd=tmp_path)  # noqa: S603
    try:
        for _ in range(600):  # until it listens (or gives up after about a minute)
            if server.poll() is not None or answer(port, "/login") is not None:
                break
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_server_does_not_name_itself(served: int) -> None:
    response = answer(served, "/login")
    assert response is not None and response.status == 200
    assert response.getheader("Server") is None
    missing = answer(served, "/no-such-page")
    assert missing is not None and missing.status == 404 and missing.getheader("Server") is None
