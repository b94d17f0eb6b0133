"""Inbox notifications go out by e-mail when SMTP is configured: once each, recent ones only."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import web.mail
from approvals.models import Notification, User
from approvals.notify import notify
from ledger.db import run_in_transaction
from tests.support.clock import CLOCK
from tests.support.web import make_app
from web.session import session_factory

SENT: list[EmailMessage] = []


class FakeSMTP:
    """Stands in for smtplib.SMTP: tests never reach a network."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        assert (host, port) == ("mail.test", 2525)

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *_: Any) -> None:
        pass

    def send_message(self, message: EmailMessage) -> None:
        SENT.append(message)


@pytest.fixture
def mailing(monkeypatch: pytest.MonkeyPatch) -> list[EmailMessage]:
    SENT.clear()
    monkeypatch.setattr(web.mail.smtplib, "SMTP", FakeSMTP)
    return SENT


def _notify(app: Any, email: str, message: str, at: datetime) -> None:
    def work(session: Any) -> None:
        user = session.execute(select(User).where(User.email == email)).scalar_one()
        notify(session, {user.id}, kind="test", message=message, request_id=None, now=at)

    run_in_transaction(session_factory(app), work)


def test_recent_notifications_are_mailed_once_and_old_ones_never(
    web_db: str, tmp_path: Path, mailing: list[EmailMessage]
) -> None:
    app = make_app(web_db, tmp_path, smtp_host="mail.test", smtp_port=2525, mail_from="fp@test")
    config = app.config["FLEXPOOL"]
    factory = session_factory(app)
    now = CLOCK.now()
    web.mail.send_pending(factory, config, CLOCK)  # whatever the demo left waiting
    mailing.clear()
    _notify(app, "sf2@ngo1.demo", "R-9999 is now approved.", now)
    _notify(app, "sf2@ngo1.demo", "Old news from last week.", now - timedelta(days=7))
    assert web.mail.send_pending(factory, config, CLOCK) == 1
    assert [m["To"] for m in mailing] == ["sf2@ngo1.demo"]
    assert mailing[0]["Subject"] == "flexpool: R-9999 is now approved."
    assert mailing[0]["From"] == "fp@test"
    assert web.mail.send_pending(factory, config, CLOCK) == 0  # at most once
    with factory() as session:
        old = session.execute(
            select(Notification).where(Notification.message == "Old news from last week.")
        ).scalar_one()
        assert old.emailed_at is None
    app.extensions["flexpool.engine"].dispose()


def test_without_smtp_nothing_is_sent_or_claimed(
    web_db: str, tmp_path: Path, mailing: list[EmailMessage]
) -> None:
    app = make_app(web_db, tmp_path)
    _notify(app, "sf2@ngo1.demo", "Nobody mails this.", CLOCK.now())
    assert web.mail.send_pending(session_factory(app), app.config["FLEXPOOL"], CLOCK) == 0
    assert mailing == []
    with session_factory(app)() as session:
        found = session.execute(
            select(Notification).where(Notification.message == "Nobody mails this.")
        ).scalar_one()
        assert found.emailed_at is None
    app.extensions["flexpool.engine"].dispose()
