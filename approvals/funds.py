"""Money into, across and out of the pool: grants (FIN), allocations and moves (PM), returns.

Each is one ledger entry with the caller's idempotency key, checked for role and scope here and
for funds by the ledger, and written to the audit trail.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.consortium.setup import envelope_account
from approvals.errors import InvalidInputError, NotFoundError
from approvals.models import Consortium, Organisation, Role
from approvals.models.people import FINANCE
from ledger.dates import DATE_WINDOW
from ledger.posting import post_entry, reverse_transaction
from ledger.values import JournalEntry, Posted, Transfer, TransferKind


def _memo(text: str, what: str) -> str:
    memo = (text or "").strip()
    if not 0 < len(memo) <= 300:
        raise InvalidInputError(f"Say what this {what} is.", fields={"memo": "1-300 characters."})
    return memo


def _check_on(on: date, now: datetime) -> None:
    """The accounting date, named as the field ``on`` (the ledger checks the window again)."""
    if not isinstance(on, date) or isinstance(on, datetime):
        raise InvalidInputError("Give the date.", fields={"on": "A date."})
    if (outside := DATE_WINDOW.problem(on, now.date())) is not None:
        raise InvalidInputError(f"The date must be {outside}.", fields={"on": f"Give {outside}."})


def _post(
    session: Session,
    actor: Actor,
    transfer: Transfer,
    *,
    on: date,
    memo: str,
    key: str | None,
    now: datetime,
) -> Posted:
    _check_on(on, now)
    book = session.get_one(Consortium, actor.consortium_id).code
    posted = post_entry(
        session, JournalEntry(book, on, memo, actor.label, (transfer,), key), now=now
    )
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action=f"funds.{transfer.kind.value}",
        subject_type="ledger_transaction",
        subject_id=posted.transaction_id,
        now=now,
        debit=transfer.debit,
        credit=transfer.credit,
        amount_cents=transfer.amount,
        replayed=posted.replayed,
    )
    return posted


def _partner(session: Session, actor: Actor, code: str) -> Organisation:
    found = session.execute(
        select(Organisation).where(
            Organisation.consortium_id == actor.consortium_id,
            Organisation.code == code,
            Organisation.kind == "partner",
        )
    ).scalar()
    if found is None:
        raise NotFoundError(f"There is no partner organisation {code}.")
    return found


def receive_grant(
    session: Session,
    actor: Actor,
    *,
    amount_cents: int,
    on: date,
    memo: str,
    key: str | None,
    now: datetime,
) -> Posted:
    actor.require_lead(*FINANCE, doing="record grant receipts")
    transfer = Transfer("bank", "pool", amount_cents, TransferKind.GRANT_RECEIPT)
    return _post(session, actor, transfer, on=on, memo=_memo(memo, "grant"), key=key, now=now)


def allocate(
    session: Session,
    actor: Actor,
    *,
    organisation: str,
    amount_cents: int,
    on: date,
    memo: str,
    key: str | None,
    now: datetime,
) -> Posted:
    actor.require_lead(Role.PM, doing="allocate the pool")
    target = envelope_account(_partner(session, actor, organisation).code)
    transfer = Transfer("pool", target, amount_cents, TransferKind.ALLOCATION)
    return _post(session, actor, transfer, on=on, memo=_memo(memo, "allocation"), key=key, now=now)


def move_between_envelopes(
    session: Session,
    actor: Actor,
    *,
    source: str,
    target: str,
    amount_cents: int,
    on: date,
    memo: str,
    key: str | None,
    now: datetime,
) -> Posted:
    actor.require_lead(Role.PM, doing="move funds between envelopes")
    if source == target:
        raise InvalidInputError(
            "Choose two different envelopes.", fields={"target": "Not the same as the source."}
        )
    debit = envelope_account(_partner(session, actor, source).code)
    credit = envelope_account(_partner(session, actor, target).code)
    transfer = Transfer(debit, credit, amount_cents, TransferKind.ALLOCATION)
    return _post(session, actor, transfer, on=on, memo=_memo(memo, "move"), key=key, now=now)


def return_to_funder(
    session: Session,
    actor: Actor,
    *,
    amount_cents: int,
    on: date,
    memo: str,
    key: str | None,
    now: datetime,
) -> Posted:
    """Unspent pool money leaves at year end (FIN_MGR only)."""
    actor.require_lead(Role.FIN_MGR, doing="return funds to the funder")
    transfer = Transfer("pool", "bank", amount_cents, TransferKind.RETURN_TO_FUNDER)
    return _post(session, actor, transfer, on=on, memo=_memo(memo, "return"), key=key, now=now)


def receive_gst_refund(
    session: Session,
    actor: Actor,
    *,
    amount_cents: int,
    on: date,
    memo: str,
    key: str | None,
    now: datetime,
) -> Posted:
    actor.require_lead(*FINANCE, doing="record GST refunds")
    transfer = Transfer("bank", "gst_receivable", amount_cents, TransferKind.REFUND)
    return _post(session, actor, transfer, on=on, memo=_memo(memo, "GST refund"), key=key, now=now)


def reverse(
    session: Session,
    actor: Actor,
    *,
    transaction_id: int,
    on: date,
    memo: str,
    key: str | None,
    now: datetime,
) -> Posted:
    """Undo a mistaken grant, allocation or move with its mirror image (FIN_MGR only)."""
    actor.require_lead(Role.FIN_MGR, doing="reverse ledger transactions")
    _check_on(on, now)
    book = session.get_one(Consortium, actor.consortium_id).code
    posted = reverse_transaction(
        session,
        book=book,
        transaction_id=transaction_id,
        effective_date=on,
        memo=_memo(memo, "reversal"),
        actor=actor.label,
        now=now,
        idempotency_key=key,
    )
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="funds.reversal",
        subject_type="ledger_transaction",
        subject_id=transaction_id,
        now=now,
        reversal=posted.transaction_id,
    )
    return posted
