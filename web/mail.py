"""Optional e-mail of inbox notifications through the configured SMTP server.

Off unless ``FLEXPOOL_SMTP_HOST`` is set. The web app sends in a background thread after a
change commits, so a slow mail server never slows a page; ``flexpool mail send`` does the
same from the command line (and for the scheduler).
"""

from __future__ import annotations

import logging
import smtplib
import threading
from email.message import EmailMessage

from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from approvals.notify import Mail, claim_mail
from ledger.db import run_in_transaction
from web.clock import EXTENSION as CLOCK
from web.clock import Clock, system_clock
from web.config import Config

log = logging.getLogger("flexpool.mail")


def send_pending(
    factory: sessionmaker[Session], config: Config, clock: Clock = system_clock
) -> int:
    """Claim and send what is waiting; returns how many were sent."""
    if not config.smtp_host:
        return 0
    mails = run_in_transaction(factory, lambda s: claim_mail(s, now=clock()))
    if not mails:
        return 0
    sent = 0
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=10) as smtp:
            for mail in mails:
                smtp.send_message(_message(mail, config.mail_from))
                sent += 1
    except (OSError, smtplib.SMTPException):
        log.exception("e-mail: %d of %d sent before the server failed", sent, len(mails))
    return sent


def send_soon(factory: sessionmaker[Session], config: Config) -> None:
    """Send from a thread, by the clock of the app whose request asked (see web/clock.py)."""
    if config.smtp_host:
        clock = current_app.extensions[CLOCK]
        threading.Thread(target=send_pending, args=(factory, config, clock), daemon=True).start()


def _message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.body + "\n\nOpen flexpool to see the details.\n")
    return message
