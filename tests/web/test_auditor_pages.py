"""The auditor's area over the demo consortium: figures equal the ledger's own queries."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.models import AuditEvent, Client, Consortium, User
from ledger.money import format_cents
from ledger.queries import balance_as_of, get_balance, list_entries, trial_balance
from ledger.values import Finding
from tests.support.clock import CLOCK
from tests.support.web import sqlite_only_web_db

# SQLite only: these pages call services and queries proven on PostgreSQL elsewhere.
web_db = pytest.fixture(sqlite_only_web_db)

BOOK = "NORTHCOAST"
READERS = ["auditor@lead.demo", "finmgr@lead.demo"]
OTHERS = ["admin@lead.demo", "pm@lead.demo", "fin@lead.demo", "tl@ngo1.demo", "sf@ngo2.demo"]
PAGES = ["/audit/", "/audit/ledger", "/audit/ledger/pool", "/audit/log"]
PAGES += ["/audit/verify/ledger", "/audit/verify/log"]
FIGURE = re.compile(r'data-account="([^"]+)" data-figure="([a-z-]+)">([^<]+)<')


@contextmanager
def db(app: Flask) -> Iterator[Session]:
    with app.extensions["flexpool.sessions"]() as session:
        yield session


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def figures(page: str) -> dict[tuple[str, str], str]:
    return {(account, name): value for account, name, value in FIGURE.findall(page)}


def consortium_id(session: Session) -> int:
    return session.execute(select(Consortium.id).where(Consortium.code == BOOK)).scalar_one()


@pytest.mark.parametrize("email", READERS)
def test_auditor_and_finance_manager_read_every_page(login: Any, email: str) -> None:
    client = login(email)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<form method="post"' not in text(response).split("</nav>", 1)[1], url


@pytest.mark.parametrize("email", OTHERS)
def test_everyone_else_is_refused(login: Any, email: str) -> None:
    client = login(email)
    for url in PAGES:
        assert client.get(url).status_code == 403, url


@pytest.mark.calendar
def test_the_ledger_shows_what_the_ledger_queries_say(login: Any, app: Flask) -> None:
    auditor = login("auditor@lead.demo")
    seen: dict[tuple[str, str], str] = {}
    for group in ("lead", "org", "client"):
        seen |= figures(text(auditor.get(f"/audit/ledger?group={group}")))
    accounts = {account for account, _ in seen}
    assert {"bank", "gst_receivable", "pool", "org:NGO1", "org:NGO2", "org:NGO3"} <= accounts
    assert any(account.startswith("client:") for account in accounts)
    with db(app) as session:
        for account in accounts:
            balance = get_balance(session, BOOK, account)
            assert seen[(account, "posted")] == format_cents(balance.posted), account
            assert seen[(account, "pending")] == format_cents(balance.pending), account
            assert seen[(account, "available")] == format_cents(balance.available), account
        assert any(get_balance(session, BOOK, a).pending for a in accounts)  # holds are shown


@pytest.mark.calendar
def test_as_of_shows_the_posted_balance_at_the_end_of_that_day(login: Any, app: Flask) -> None:
    auditor = login("auditor@lead.demo")
    day = CLOCK.today - timedelta(days=120)
    page = text(auditor.get(f"/audit/ledger?group=lead&as_of={day.isoformat()}"))
    shown = {account: value for (account, name), value in figures(page).items() if name == "as-of"}
    assert {"bank", "pool", "gst_receivable"} <= set(shown)
    with db(app) as session:
        for account, value in shown.items():
            assert value == format_cents(balance_as_of(session, BOOK, account, day)), account
        lines = {line.account: line for line in trial_balance(session, BOOK, as_of=day)}
        assert lines["bank"].balance == balance_as_of(session, BOOK, "bank", day)
        assert (
            balance_as_of(session, BOOK, "bank", day) != get_balance(session, BOOK, "bank").posted
        )
    before = text(auditor.get("/audit/ledger?group=lead&as_of=2000-01-01"))
    assert {v for (_a, n), v in figures(before).items() if n == "as-of"} == {"$0.00"}
    detail = text(auditor.get(f"/audit/ledger/pool?as_of={day.isoformat()}"))
    with db(app) as session:
        expected = format_cents(balance_as_of(session, BOOK, "pool", day))
    assert f'data-figure="as-of">{expected}<' in detail


def test_a_bad_as_of_date_is_shown_next_to_the_field(login: Any) -> None:
    auditor = login("auditor@lead.demo")
    response = auditor.get("/audit/ledger?as_of=31/12/2025")
    assert response.status_code == 422
    assert "A date like 2026-07-31." in text(response) and 'id="e-as_of"' in text(response)
    assert auditor.get("/audit/ledger?group=everything").status_code == 422


def test_accounts_are_paged_by_code(login: Any, app: Flask) -> None:
    auditor = login("auditor@lead.demo")
    first = text(auditor.get("/audit/ledger?group=client"))
    codes = [a for (a, n) in figures(first) if n == "posted"]
    assert len(codes) == 50 and codes == sorted(codes)
    found = re.search(r'href="(/audit/ledger\?[^"]*after=[^"]+)">Next accounts', first)
    assert found is not None
    second = text(auditor.get(html.unescape(found.group(1))))
    more = [a for (a, n) in figures(second) if n == "posted"]
    assert more and min(more) > max(codes)
    with db(app) as session:
        clients = [
            line.account
            for line in trial_balance(session, BOOK)
            if line.account.startswith("client:")
        ]
    assert sorted(clients)[: len(codes) + len(more)] == codes + more


def test_an_account_lists_its_entries_page_by_page(login: Any, app: Flask) -> None:
    auditor = login("auditor@lead.demo")
    page = text(auditor.get("/audit/ledger/bank"))
    with db(app) as session:
        first = list_entries(session, BOOK, "bank", limit=50)
        balance = get_balance(session, BOOK, "bank")
    assert first.next_cursor is not None  # a year of payments is more than one page
    assert f'data-figure="posted">{format_cents(balance.posted)}<' in page
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>", page)
    assert [int(r) for r in rows] == [entry.sequence for entry in first.entries]
    found = re.search(r'href="([^"]*cursor=[^"]+)">Older entries', page)
    assert found is not None
    cursor = parse_qs(urlsplit(html.unescape(found.group(1))).query)["cursor"][0]
    assert cursor == first.next_cursor
    older = text(auditor.get(html.unescape(found.group(1))))
    with db(app) as session:
        second = list_entries(session, BOOK, "bank", cursor=cursor, limit=50)
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>", older)
    assert [int(r) for r in rows] == [entry.sequence for entry in second.entries]
    assert auditor.get("/audit/ledger/bank?cursor=not-a-cursor").status_code == 422


def test_unknown_accounts_are_not_found(login: Any) -> None:
    auditor = login("auditor@lead.demo")
    assert auditor.get("/audit/ledger/client:NOBODY").status_code == 404
    assert auditor.get("/audit/ledger/nothing").status_code == 404


def client_reads(session: Session, actor_id: int, client_id: int) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "client.viewed",
                AuditEvent.actor_id == actor_id,
                AuditEvent.subject_id == client_id,
            )
        ).scalar_one()
    )


def test_opening_a_client_account_shows_code_and_initials_and_is_audited(
    login: Any, app: Flask
) -> None:
    auditor = login("auditor@lead.demo")
    with db(app) as session:
        client = session.execute(
            select(Client).where(Client.consortium_id == consortium_id(session)).limit(1)
        ).scalar_one()
        me = session.execute(select(User.id).where(User.email == "auditor@lead.demo")).scalar_one()
        before = client_reads(session, me, client.id)
        code, initials, client_id = client.code, client.initials, client.id
    response = auditor.get(f"/audit/ledger/client:{code}")
    assert response.status_code == 200
    assert f"{code} ({initials})" in text(response)
    with db(app) as session:
        assert client_reads(session, me, client_id) == before + 1
    assert auditor.get("/audit/ledger/pool").status_code == 200
    with db(app) as session:
        assert client_reads(session, me, client_id) == before + 1  # not a client record


def test_the_audit_log_is_newest_first_paged_and_filtered(login: Any, app: Flask) -> None:
    auditor = login("auditor@lead.demo")
    page = text(auditor.get("/audit/log"))
    sequences = [int(s) for s in re.findall(r"<tr>\s*<td>(\d+)</td>", page)]
    assert len(sequences) == 50 and sequences == sorted(sequences, reverse=True)
    with db(app) as session:
        newest = session.execute(
            select(func.max(AuditEvent.sequence)).where(
                AuditEvent.consortium_id == consortium_id(session)
            )
        ).scalar_one()
    assert sequences[0] <= newest and newest - sequences[0] < 5  # others may append meanwhile
    older = text(auditor.get(f"/audit/log?before={sequences[-1]}"))
    more = [int(s) for s in re.findall(r"<tr>\s*<td>(\d+)</td>", older)]
    assert more and more[0] == sequences[-1] - 1
    only = text(auditor.get("/audit/log?action=organisation.added"))
    assert only.count(">organisation.added</a>") >= 3
    assert ">user.created</a>" not in only
    with db(app) as session:
        ngo1 = session.execute(
            select(AuditEvent.subject_id).where(
                AuditEvent.consortium_id == consortium_id(session),
                AuditEvent.action == "organisation.added",
                AuditEvent.details["code"].as_string() == "NGO1",
            )
        ).scalar_one()
    subject = text(auditor.get(f"/audit/log?subject_type=organisation&subject_id={ngo1}"))
    assert f"organisation #{ngo1}" in subject and ">code</span> NGO1<" in subject
    assert auditor.get("/audit/log?subject_id=abc").status_code == 422


def test_both_chains_verify(login: Any) -> None:
    auditor = login("auditor@lead.demo")
    ledger = text(auditor.get("/audit/verify/ledger"))
    assert "Pass." in ledger and "Ledger verified: no findings." in ledger
    trail = text(auditor.get("/audit/verify/log"))
    assert "Pass." in trail and "The audit chain is intact" in trail


def test_ledger_findings_are_listed_one_by_one(login: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    found = [
        Finding("counter", "Account pool: debits posted is $1.00 but …", book=BOOK, account="pool"),
        Finding("chain", "Transaction #7 does not match its hash", book=BOOK, transaction_id=7),
    ]
    monkeypatch.setattr("reports.integrity.verify", lambda session, book: found)
    page = text(login("finmgr@lead.demo").get("/audit/verify/ledger"))
    assert "Ledger has 2 finding(s)." in page and "Pass." not in page
    assert "Transaction #7 does not match its hash" in page and "debits posted is $1.00" in page


def test_the_auditors_verify_also_checks_the_records_beside_the_ledger(
    login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Payments, refunds, approved amounts and decisions, as the nightly verify checks them."""
    tampered = [
        Finding("records", "Payment #3 says $90.00 but its transaction moved $9.00", book=BOOK)
    ]
    monkeypatch.setattr("reports.integrity.verify_records", lambda session, consortium: tampered)
    page = text(login("auditor@lead.demo").get("/audit/verify/ledger"))
    assert "Ledger has 1 finding(s)." in page and "Payment #3 says $90.00" in page
    assert "Anchors:" in page


def test_the_auditors_verify_says_plainly_when_the_anchor_key_cannot_be_read(
    login: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLEXPOOL_CHAIN_KEY_FILE", str(tmp_path / "missing-key"))
    page = text(login("auditor@lead.demo").get("/audit/verify/ledger"))
    assert "Pass." in page and "the anchor key file cannot be read" in page
