"""Page and API latency under load: gunicorn (4 workers) on national data, driven by wrk.

Why: issue 4's target is p95 < 200 ms for each role's home, the approver inbox and the API
request list with 16 concurrent connections, on a year of national data in PostgreSQL (built by
``demo.national``). wrk (Debian's package) is the load generator: it runs in its own process
and measures from the socket, so Python's own overhead on the client side is not in the figures.

    .venv/bin/python -m bench.web_bench --url postgresql+psycopg://postgres@127.0.0.1/flexpool_national

It signs in as the generated logins of one consortium (``NC01`` by default), gets a session
cookie for each role and an API token, then runs wrk against each page in turn and prints
p50 / p95 / p99, requests per second and any non-2xx answers.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "flexpool-demo"  # noqa: S105 - the generator's documented password
# Sessions are bound to the browser that signed in (Flask-Login "strong" protection): the
# sign-in and the load must present the same User-Agent, or every page is a redirect.
USER_AGENT = "flexpool-bench/1"
TARGET_P95_MS = 200.0
LUA = """
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT p50=%.1f p95=%.1f p99=%.1f n=%d bad=%d secs=%.3f\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests, bad, summary.duration / 1e6))
end
"""


@dataclass(frozen=True)
class Target:
    label: str
    login: str  # e-mail local part and organisation, e.g. ("sf1", "NGO1")
    organisation: str
    path: str
    api: bool = False


TARGETS = [
    Target("SF home", "sf1", "NGO1", "/sf/"),
    Target("TL approvals inbox", "tl", "NGO1", "/approvals/"),
    Target("PM home (charts are separate requests)", "pm", "LEAD", "/pm/"),
    Target("PM approvals inbox", "pm", "LEAD", "/approvals/"),
    Target("Finance home", "fin", "LEAD", "/finance/"),
    Target("Admin home", "admin", "LEAD", "/admin/"),
    Target("Auditor home", "auditor", "LEAD", "/audit/"),
    Target("API request list (SF)", "sf1", "NGO1", "/api/v1/requests?limit=50", api=True),
    Target("API request list (PM)", "pm", "LEAD", "/api/v1/requests?limit=50", api=True),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the web app did not start")


def _session_cookie(base: str, email: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    form = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "email": email, "password": PASSWORD}
    ).encode()
    opener.open(base + "/login", data=form).read()
    cookies = {c.name: c.value for c in jar}
    if "session" not in cookies:
        raise SystemExit(f"could not sign in as {email}")
    return f"session={cookies['session']}"


def _api_token(base: str, email: str) -> str:
    body = json.dumps({"email": email, "password": PASSWORD}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        base + "/api/v1/tokens", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback
        token: str = json.load(response)["token"]
        return token


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _check(url: str, header: str) -> None:
    """The page itself answers 200 with these credentials (a redirect would flatter the run)."""
    name, value = header.split(": ", 1)
    opener = urllib.request.build_opener(_NoRedirect())
    request = urllib.request.Request(url, headers={name: value, "User-Agent": USER_AGENT})  # noqa: S310
    try:
        with opener.open(request) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != 200:
        raise SystemExit(f"{url} answered {status}, not 200: the figures would be meaningless")


def _wrk(url: str, header: str, connections: int, seconds: int, script: Path) -> dict[str, float]:
    out = subprocess.run(  # noqa: S603 - fixed arguments
        [
            shutil.which("wrk") or "wrk",
            f"-t{min(4, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            "-H",
            header,
            "-H",
            f"User-Agent: {USER_AGENT}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"RESULT (.*)", out)
    assert found, out
    return {k: float(v) for k, v in (pair.split("=") for pair in found.group(1).split())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="database with demo.national's data")
    parser.add_argument("--consortium", default="NC01")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk: apt-get install wrk")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FLEXPOOL_DATABASE_URL": args.url,
        "FLEXPOOL_SECURE_COOKIES": "0",
        "FLEXPOOL_LOGIN_LIMIT": "10000 per minute",
        "FLEXPOOL_LOG_LEVEL": "WARNING",
        "FLEXPOOL_SECRET_KEY": "bench-only-secret",
    }
    flexpool = str(Path(sys.executable).with_name("flexpool"))
    server = subprocess.Popen(  # noqa: S603 - fixed arguments
        [flexpool, "serve", "--port", str(port), "--workers", str(args.workers), "--threads", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait(base)
        code = args.consortium.lower()
        rows = []
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "report.lua"
            script.write_text(LUA)
            for target in TARGETS:
                email = f"{target.login}@{target.organisation.lower()}.{code}.demo"
                if target.api:
                    header = f"Authorization: Bearer {_api_token(base, email)}"
                else:
                    header = f"Cookie: {_session_cookie(base, email)}"
                _check(base + target.path, header)
                _wrk(base + target.path, header, 2, 2, script)  # warm the workers
                result = _wrk(base + target.path, header, args.connections, args.seconds, script)
                rows.append((target, result))
        print(
            f"\n{args.workers} gunicorn workers, {args.connections} connections, "
            f"{args.seconds} s each, consortium {args.consortium}"
        )
        print(f"{'page':42} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8} {'bad':>5}  ok")
        for target, r in rows:
            verdict = "PASS" if r["p95"] < TARGET_P95_MS and r["bad"] == 0 else "FAIL"
            print(
                f"{target.label:42} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f} "
                f"{r['n'] / r['secs']:8.1f} {int(r['bad']):5d}  {verdict}"
            )
        print(f"target: p95 < {TARGET_P95_MS:.0f} ms and no errors")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
