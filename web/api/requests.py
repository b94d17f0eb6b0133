"""Clients, their needs, and fund requests with every action of their life
(docs/approvals.md#lifecycle).

Scope is the services' own: ``approvals.consortium.clients`` decides who sees a client (and audits
the
read), ``approvals.lifecycle.requests.can_see`` who sees a request. Anything out of scope is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from approvals.consortium.clients import get_client, visible_clients
from approvals.errors import InvalidInputError, NotFoundError
from approvals.lifecycle.payments import PaymentInput
from approvals.lifecycle.permissions import Situation, offered, who_may
from approvals.lifecycle.queries import visible_requests
from approvals.lifecycle.requests import (
    RequestInput,
    can_see,
    create_request,
    request_label,
)
from approvals.lifecycle.states import Action, RequestState
from approvals.lifecycle.transitions import deciders_now, require_part, transition
from approvals.models import Client, FundRequest, Need, Role
from web.api.core import int_cursor, page, read, renamed, route, str_cursor, write
from web.api.schemas.base import PageArgs, page_of
from web.api.schemas.requests import (
    ApproveSchema,
    ClientSchema,
    DecisionSchema,
    NeedSchema,
    NewPaymentSchema,
    NewRequestSchema,
    RequestListArgs,
    RequestSchema,
)
from web.clock import now

REQUEST_FIELDS = {"amount_cents": "amount", "gst_cents": "gst"}
PAYMENT_FIELDS = {"inc_gst_cents": "inc_gst", "gst_cents": "gst"}


@route(
    "/clients",
    "GET",
    endpoint="clients",
    tag="clients",
    query=PageArgs,
    summary="The clients I may see, by code.",
    response=page_of(ClientSchema),
)
def clients() -> Response:
    def work(session: Session, who: Actor, args: dict[str, Any]) -> dict[str, Any]:
        after = str_cursor(args)
        query = visible_clients(who)
        if after is not None:
            query = query.where(Client.code > after)
        mine = list(session.execute(query.limit(args["limit"] + 1)).scalars())
        return page(mine, args["limit"], lambda c: c.code, ClientSchema)

    return read(work, PageArgs)


@route(
    "/clients/<int:client_id>",
    "GET",
    endpoint="client",
    tag="clients",
    summary="One client (the read is audited).",
    response=ClientSchema,
)
def client(client_id: int) -> Response:
    def work(session: Session, who: Actor, _: dict[str, Any]) -> dict[str, Any]:
        dumped: dict[str, Any] = ClientSchema().dump(
            get_client(session, who, client_id, now=now(), why="api")
        )
        return dumped

    return read(work)


@route(
    "/clients/<int:client_id>/needs",
    "GET",
    endpoint="client_needs",
    tag="clients",
    summary="A client's Action Plan needs.",
    query=PageArgs,
    response=page_of(NeedSchema),
)
def client_needs(client_id: int) -> Response:
    def work(session: Session, who: Actor, args: dict[str, Any]) -> dict[str, Any]:
        found = get_client(session, who, client_id, now=now(), why="api needs")
        query = select(Need).where(Need.client_id == found.id)
        after = int_cursor(args)
        if after is not None:
            query = query.where(Need.id > after)
        rows = session.execute(query.order_by(Need.id).limit(args["limit"] + 1)).scalars().all()
        return page(rows, args["limit"], lambda n: n.id, NeedSchema)

    return read(work, PageArgs)


def dump_request(session: Session, who: Actor, request: FundRequest) -> dict[str, Any]:
    """One request, with the routes of the actions the caller may take on it now: the same
    offer as the request's page (``approvals.lifecycle.permissions.offered``)."""
    dumped: dict[str, Any] = RequestSchema().dump(request)
    dumped["label"] = request_label(request)
    deciders = deciders_now(session, who, request, now())
    offer = offered(who, Situation.of(request), deciders)
    dumped["actions"] = [ROUTE_OF[action] for action in offer if action in ROUTE_OF]
    return dumped


@route(
    "/requests",
    "GET",
    endpoint="requests",
    tag="requests",
    query=RequestListArgs,
    summary="Fund requests I may see, newest first; filter by state or client.",
    response=page_of(RequestSchema),
)
def requests() -> Response:
    def work(session: Session, who: Actor, args: dict[str, Any]) -> dict[str, Any]:
        query = visible_requests(who)
        if "state" in args:
            query = query.where(FundRequest.state == args["state"])
        if "client" in args:
            query = query.where(FundRequest.client_id == args["client"])
        before = int_cursor(args)
        if before is not None:
            query = query.where(FundRequest.id < before)
        limit = args["limit"]
        rows = session.execute(query.order_by(FundRequest.id.desc()).limit(limit + 1))
        found = rows.scalars().all()
        result = page(found, limit, lambda r: r.id, RequestSchema)
        for item, request in zip(result["items"], found, strict=False):
            item["label"] = request_label(request)
        return result

    return read(work, RequestListArgs)


@route(
    "/requests",
    "POST",
    endpoint="create_request",
    tag="requests",
    body=NewRequestSchema,
    summary="A draft request for one of my NGO's clients.",
    response=RequestSchema,
    status=201,
)
def new_request() -> Response:
    def work(session: Session, who: Actor, data: dict[str, Any]) -> dict[str, Any]:
        draft = RequestInput(
            client_id=data["client_id"],
            need_id=data["need_id"],
            category_id=data["category_id"],
            amount_cents=data["amount"],
            gst_cents=data["gst"],
            supplier_id=data["supplier_id"],
            purpose=data["purpose"],
            no_other_channel=data["no_other_channel"],
            needed_by=data["needed_by"],
        )
        try:
            return dump_request(session, who, create_request(session, who, draft, now=now()))
        except InvalidInputError as error:
            raise renamed(error, REQUEST_FIELDS) from error

    return write(
        work,
        NewRequestSchema,
        guard=lambda _, who: who.require(Role.SF, Role.TL, doing="request funds"),
    )


def _part_in(request_id: int, action: Action) -> Callable[[Session, Actor], None]:
    """Scope (404) and role (403) before the body: see
    ``approvals.lifecycle.transitions.require_part``."""

    def guard(session: Session, who: Actor) -> None:
        found = find_request(session, who, request_id)
        require_part(who, action, found, deciders_now(session, who, found, now()))

    return guard


def find_request(session: Session, who: Actor, request_id: int) -> FundRequest:
    found = session.get(FundRequest, request_id)
    if found is None or not can_see(who, found, deciders_now(session, who, found, now())):
        raise NotFoundError("There is no such request.")
    return found


@route(
    "/requests/<int:request_id>",
    "GET",
    endpoint="request",
    tag="requests",
    summary="One request.",
    response=RequestSchema,
)
def request_detail(request_id: int) -> Response:
    def work(session: Session, who: Actor, _: dict[str, Any]) -> dict[str, Any]:
        return dump_request(session, who, find_request(session, who, request_id))

    return read(work)


def _act(
    action: Action, request_id: int, data: dict[str, Any], session: Session, who: Actor
) -> dict[str, Any]:
    if action is Action.SUBMIT:
        current = session.get(FundRequest, request_id)
        if current is not None and current.state == RequestState.RETURNED.value:
            action = Action.RESUBMIT  # submitting a returned request starts a new round
    try:
        moved = transition(
            session,
            who,
            request_id,
            action,
            now=now(),
            reason=data.get("reason"),
            amount_cents=data.get("amount"),
            override_reason=data.get("override_reason"),
        )
    except InvalidInputError as error:
        raise renamed(error, REQUEST_FIELDS) from error
    return dump_request(session, who, moved)


# Who may take each one is appended from approvals.lifecycle.permissions.WHO_MAY, the service's own
# table.
ACTIONS: dict[str, tuple[Action, str]] = {
    "submit": (Action.SUBMIT, "Submit a draft, or resubmit a returned request"),
    "approve": (Action.APPROVE, "Approve the current step, optionally reducing the amount"),
    "reject": (Action.REJECT, "Reject, with a reason"),
    "request-info": (Action.REQUEST_INFO, "Ask the requester for more information"),
    "respond": (Action.RESPOND, "Answer a request for information"),
    "send-back": (Action.SEND_BACK, "Send back to the requester, with a reason"),
    "withdraw": (Action.WITHDRAW, "Withdraw"),
    "cancel": (Action.CANCEL, "Cancel an approved request, releasing its funds"),
}


# POST /requests/{id}/<route> takes the action; closing a part-paid request is a finance page.
ROUTE_OF: dict[Action, str] = {action: name for name, (action, _) in ACTIONS.items()} | {
    Action.RESUBMIT: "submit",
    Action.PAY: "payments",
}


def summary_of(action: Action, text: str, *, also: str = "") -> str:
    """An action's OpenAPI summary: what it does, and who may (from the permissions table)."""
    return f"{text} ({who_may(action)}{also})."


def _action_view(name: str, action: Action) -> Callable[[int], Response]:
    def view(request_id: int) -> Response:
        schema = ApproveSchema if action is Action.APPROVE else DecisionSchema

        def work(session: Session, who: Actor, data: dict[str, Any]) -> dict[str, Any]:
            return _act(action, request_id, data, session, who)

        return write(work, schema, 200, guard=_part_in(request_id, action))

    view.__name__ = f"request_{name.replace('-', '_')}"
    return view


for _name, (_action, _summary) in ACTIONS.items():
    route(
        f"/requests/<int:request_id>/{_name}",
        "POST",
        endpoint=f"request_{_name.replace('-', '_')}",
        summary=summary_of(_action, _summary),
        tag="requests",
        body=ApproveSchema if _action is Action.APPROVE else DecisionSchema,
        response=RequestSchema,
    )(_action_view(_name, _action))


@route(
    "/requests/<int:request_id>/payments",
    "POST",
    endpoint="request_pay",
    tag="requests",
    summary=summary_of(
        Action.PAY, "Record a payment to the supplier", also="; not who requested or approved"
    ),
    body=NewPaymentSchema,
    response=RequestSchema,
    status=201,
)
def pay(request_id: int) -> Response:
    def work(session: Session, who: Actor, data: dict[str, Any]) -> dict[str, Any]:
        payment = PaymentInput(
            invoice_number=data["invoice_number"],
            inc_gst_cents=data["inc_gst"],
            gst_cents=data["gst"],
            paid_on=data["paid_on"],
            final=data["final"],
        )
        try:
            moved = transition(session, who, request_id, Action.PAY, now=now(), payment=payment)
        except InvalidInputError as error:
            raise renamed(error, PAYMENT_FIELDS) from error
        return dump_request(session, who, moved)

    return write(work, NewPaymentSchema, guard=_part_in(request_id, Action.PAY))
