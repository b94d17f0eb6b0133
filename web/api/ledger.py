"""Accounts (balances and entries), money into and across the pool, reversals, and the trial
balance. Reads come from ``ledger.queries``; writes go through ``approvals.funds``, which checks
roles and passes the caller's idempotency key on to the ledger.

Lead-agency readers (PM, finance, CEO, ADMIN, AUDITOR) see every account; an SF or TL sees their
NGO's envelope and their clients' accounts. Any other account is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals import funds
from approvals.consortium.actors import Actor
from approvals.consortium.clients import LEAD_READERS, client_account, clients_of
from approvals.consortium.setup import envelope_account
from approvals.errors import NotFoundError
from approvals.models import Consortium, Organisation, Role
from approvals.models.people import FINANCE
from ledger.models import accounts, books
from ledger.queries import balance_as_of, get_balance, list_entries, trial_balance
from ledger.values import Posted
from web.api.core import (
    encode_cursor,
    ledger_key,
    read,
    route,
    str_cursor,
    write,
)
from web.api.schemas.base import PageArgs, page_of
from web.api.schemas.ledger import (
    AccountArgs,
    AccountSchema,
    AllocationSchema,
    EntryArgs,
    EntrySchema,
    GrantSchema,
    MoveSchema,
    PostedSchema,
    ReverseSchema,
    TrialBalanceArgs,
    TrialBalanceSchema,
)
from web.clock import now


def _book(session: Session, who: Actor) -> str:
    return session.get_one(Consortium, who.consortium_id).code


def reads_everything(who: Actor) -> bool:
    return any(who.has_lead(role) for role in LEAD_READERS)


def my_account_codes(session: Session, who: Actor) -> list[str]:
    """An SF's or TL's accounts: their NGOs' envelopes and their clients."""
    organisations = session.execute(
        select(Organisation.code).where(Organisation.id.in_({org for org, _ in who.roles}))
    ).scalars()
    codes = [envelope_account(code) for code in organisations]
    codes += [client_account(c.code) for c in clients_of(session, who)]
    return sorted(codes)


def _visible(session: Session, who: Actor, code: str) -> None:
    if not reads_everything(who) and code not in my_account_codes(session, who):
        raise NotFoundError(f"There is no account {code}.")


def _account(session: Session, book: str, code: str, as_of: Any = None) -> dict[str, Any]:
    balance = get_balance(session, book, code)
    dumped: dict[str, Any] = AccountSchema().dump(
        {
            "code": balance.account,
            "type": balance.type.value,
            "posted": balance.posted,
            "pending": balance.pending,
            "available": balance.available,
            "as_of": as_of,
            "posted_as_of": balance_as_of(session, book, code, as_of) if as_of else None,
        }
    )
    return dumped


@route(
    "/accounts",
    "GET",
    endpoint="accounts",
    tag="ledger",
    query=PageArgs,
    summary="Accounts I may see with their balances (posted, pending, available), by code.",
    response=page_of(AccountSchema),
)
def account_list() -> Response:
    def work(session: Session, who: Actor, args: dict[str, Any]) -> dict[str, Any]:
        book, after, limit = _book(session, who), str_cursor(args), args["limit"]
        if reads_everything(who):
            query = (
                select(accounts.c.code)
                .join(books, books.c.id == accounts.c.book_id)
                .where(books.c.code == book)
            )
            if after is not None:
                query = query.where(accounts.c.code > after)
            codes = list(
                session.connection().execute(query.order_by(accounts.c.code).limit(limit + 1))
            )
            found = [row.code for row in codes]
        else:
            found = [c for c in my_account_codes(session, who) if after is None or c > after]
        shown = found[:limit]
        return {
            "items": [_account(session, book, code) for code in shown],
            "next": encode_cursor(shown[-1]) if len(found) > limit else None,
        }

    return read(work, PageArgs)


@route(
    "/accounts/<code>",
    "GET",
    endpoint="account",
    tag="ledger",
    query=AccountArgs,
    summary="One account's balances, and its posted balance as of a day if asked.",
    response=AccountSchema,
)
def account(code: str) -> Response:
    def work(session: Session, who: Actor, args: dict[str, Any]) -> dict[str, Any]:
        _visible(session, who, code)
        return _account(session, _book(session, who), code, args.get("as_of"))

    return read(work, AccountArgs)


@route(
    "/accounts/<code>/entries",
    "GET",
    endpoint="account_entries",
    tag="ledger",
    query=EntryArgs,
    response=page_of(EntrySchema),
    summary="An account's entries, newest first; with as_of, only those dated by that day. "
    "A page may hold fewer than limit entries while next is not null.",
)
def account_entries(code: str) -> Response:
    def work(session: Session, who: Actor, args: dict[str, Any]) -> dict[str, Any]:
        _visible(session, who, code)
        cursor = str_cursor(args)
        found = list_entries(session, _book(session, who), code, cursor=cursor, limit=args["limit"])
        as_of = args.get("as_of")
        shown = [e for e in found.entries if as_of is None or e.effective_date <= as_of]
        return {
            "items": EntrySchema(many=True).dump(shown),
            "next": encode_cursor(found.next_cursor) if found.next_cursor else None,
        }

    return read(work, EntryArgs)


def _posted(posted: Posted) -> dict[str, Any]:
    dumped: dict[str, Any] = PostedSchema().dump(
        {
            "transaction_id": posted.transaction_id,
            "sequence": posted.sequence,
            "transfer_ids": list(posted.transfer_ids),
            "replayed": posted.replayed,
        }
    )
    return dumped


@route(
    "/transactions/grant-receipts",
    "POST",
    endpoint="receive_grant",
    tag="ledger",
    summary="Money received from the funder into the pool (FIN, FIN_MGR).",
    body=GrantSchema,
    response=PostedSchema,
    status=201,
)
def receive_grant() -> Response:
    def work(session: Session, who: Actor, data: dict[str, Any]) -> dict[str, Any]:
        return _posted(
            funds.receive_grant(
                session,
                who,
                amount_cents=data["amount"],
                on=data["on"],
                memo=data["memo"],
                key=ledger_key(who),
                now=now(),
            )
        )

    return write(
        work,
        GrantSchema,
        guard=lambda _, who: who.require_lead(*FINANCE, doing="record grant receipts"),
    )


@route(
    "/transactions/allocations",
    "POST",
    endpoint="allocate",
    tag="ledger",
    summary="Allocate from the pool to a partner's envelope (PM).",
    body=AllocationSchema,
    response=PostedSchema,
    status=201,
)
def allocate() -> Response:
    def work(session: Session, who: Actor, data: dict[str, Any]) -> dict[str, Any]:
        return _posted(
            funds.allocate(
                session,
                who,
                organisation=data["organisation"],
                amount_cents=data["amount"],
                on=data["on"],
                memo=data["memo"],
                key=ledger_key(who),
                now=now(),
            )
        )

    return write(
        work,
        AllocationSchema,
        guard=lambda _, who: who.require_lead(Role.PM, doing="allocate the pool"),
    )


@route(
    "/transactions/moves",
    "POST",
    endpoint="move_funds",
    tag="ledger",
    summary="Move funds from one partner's envelope to another's (PM).",
    body=MoveSchema,
    response=PostedSchema,
    status=201,
)
def move_funds() -> Response:
    def work(session: Session, who: Actor, data: dict[str, Any]) -> dict[str, Any]:
        return _posted(
            funds.move_between_envelopes(
                session,
                who,
                source=data["source"],
                target=data["target"],
                amount_cents=data["amount"],
                on=data["on"],
                memo=data["memo"],
                key=ledger_key(who),
                now=now(),
            )
        )

    return write(
        work,
        MoveSchema,
        guard=lambda _, who: who.require_lead(Role.PM, doing="move funds between envelopes"),
    )


@route(
    "/transactions/<int:transaction_id>/reverse",
    "POST",
    endpoint="reverse_transaction",
    tag="ledger",
    summary="Reverse a mistaken ledger transaction, once (FIN_MGR).",
    body=ReverseSchema,
    response=PostedSchema,
    status=201,
)
def reverse(transaction_id: int) -> Response:
    def work(session: Session, who: Actor, data: dict[str, Any]) -> dict[str, Any]:
        return _posted(
            funds.reverse(
                session,
                who,
                transaction_id=transaction_id,
                on=data["on"],
                memo=data["memo"],
                key=ledger_key(who),
                now=now(),
            )
        )

    return write(
        work,
        ReverseSchema,
        guard=lambda _, who: who.require_lead(Role.FIN_MGR, doing="reverse ledger transactions"),
    )


@route(
    "/reports/trial-balance",
    "GET",
    endpoint="trial_balance",
    tag="reports",
    query=TrialBalanceArgs,
    response=TrialBalanceSchema,
    summary="Posted debits and credits per account, now or at a day's end (lead agency).",
)
def trial_balance_report() -> Response:
    def work(session: Session, who: Actor, args: dict[str, Any]) -> dict[str, Any]:
        who.require_lead(*LEAD_READERS, doing="read the trial balance")
        book = _book(session, who)
        lines = trial_balance(session, book, as_of=args.get("as_of"))
        dumped: dict[str, Any] = TrialBalanceSchema().dump(
            {
                "book": book,
                "as_of": args.get("as_of"),
                "lines": [
                    {
                        "account": line.account,
                        "type": line.type.value,
                        "debits": line.debits,
                        "credits": line.credits,
                        "balance": line.balance,
                    }
                    for line in lines
                ],
                "debits": sum(line.debits for line in lines),
                "credits": sum(line.credits for line in lines),
            }
        )
        return dumped

    return read(work, TrialBalanceArgs)
