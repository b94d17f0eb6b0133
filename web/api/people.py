"""Tokens, the caller, their consortium, its organisations and (for ADMIN) its users."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import Unauthorized

from approvals.consortium import tokens
from approvals.consortium.actors import Actor
from approvals.consortium.people import authenticate
from approvals.consortium.throttle import forget_attempt
from approvals.models import Consortium, Membership, Organisation, Role, User
from ledger.db import run_in_transaction
from web.api.core import int_cursor, load_body, page, read, reply, route, str_cursor, write
from web.api.schemas.base import PageArgs, page_of
from web.api.schemas.people import (
    ConsortiumSchema,
    IssuedTokenSchema,
    MeSchema,
    OrganisationSchema,
    TokenRequestSchema,
    TokenSchema,
    UserSchema,
)
from web.clock import now
from web.security import password_attempt
from web.session import session_factory


@route(
    "/tokens",
    "POST",
    endpoint="issue_token",
    summary="Exchange an e-mail and password for a bearer token (shown once).",
    tag="tokens",
    body=TokenRequestSchema,
    response=IssuedTokenSchema,
    status=201,
    public=True,
    errors=(401, 422, 429),
)
def issue_token() -> Response:
    data = load_body(TokenRequestSchema)

    def unit(session: Session, attempt: int) -> dict[str, Any]:
        user = authenticate(session, email=data["email"], password=data["password"])
        issued = (
            tokens.issue_login_token(session, user, name=data["name"], now=now()) if user else None
        )
        if issued is None:
            raise Unauthorized("That e-mail and password do not match an active account.")
        forget_attempt(session, attempt)
        token, secret = issued
        result: dict[str, Any] = IssuedTokenSchema().dump(token)
        result["token"] = secret
        return result

    factory = session_factory(current_app)
    issued = password_attempt(
        data["email"],
        lambda attempt: run_in_transaction(factory, lambda s: unit(s, attempt)),
        now=now(),
    )
    return reply(issued, 201)


@route(
    "/tokens",
    "GET",
    endpoint="list_tokens",
    summary="My tokens, newest first (never their secrets).",
    tag="tokens",
    query=PageArgs,
    response=page_of(TokenSchema),
)
def list_tokens() -> Response:
    def work(session: Session, who: Actor, args: dict[str, Any]) -> dict[str, Any]:
        before = int_cursor(args)
        mine = [t for t in tokens.tokens_of(session, who) if before is None or t.id < before]
        return page(mine[: args["limit"] + 1], args["limit"], lambda t: t.id, TokenSchema)

    return read(work, PageArgs)


@route(
    "/tokens/<int:token_id>",
    "DELETE",
    endpoint="revoke_token",
    summary="Revoke one of my tokens (the one in use too).",
    tag="tokens",
    response=TokenSchema,
)
def revoke_token(token_id: int) -> Response:
    def work(session: Session, who: Actor, _: dict[str, Any]) -> dict[str, Any]:
        dumped: dict[str, Any] = TokenSchema().dump(
            tokens.revoke_token(session, who, token_id, now=now())
        )
        return dumped

    return write(work, None, 200)


def roles_of(session: Session, user_ids: list[int], consortium_id: int) -> dict[int, list[Any]]:
    rows = session.execute(
        select(Membership.user_id, Organisation.id, Organisation.code, Membership.role)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.user_id.in_(user_ids), Organisation.consortium_id == consortium_id)
        .order_by(Organisation.code, Membership.role)
    ).all()
    found: dict[int, list[Any]] = {user_id: [] for user_id in user_ids}
    for user_id, org_id, code, role in rows:
        entry = {"organisation_id": org_id, "organisation_code": code, "role": role}
        if entry not in found[user_id]:
            found[user_id].append(entry)
    return found


@route(
    "/me",
    "GET",
    endpoint="me",
    summary="Who I am, with my roles today.",
    tag="people",
    response=MeSchema,
)
def me() -> Response:
    def work(session: Session, who: Actor, _: dict[str, Any]) -> dict[str, Any]:
        user = session.get_one(User, who.user_id)
        rows = session.execute(
            select(Organisation.id, Organisation.code).where(
                Organisation.consortium_id == who.consortium_id
            )
        )
        codes = {row.id: row.code for row in rows}
        roles = [
            {"organisation_id": org, "organisation_code": codes[org], "role": role.value}
            for org, role in sorted(who.roles, key=lambda r: (codes[r[0]], r[1].value))
        ]
        dumped: dict[str, Any] = MeSchema().dump(
            {
                "id": user.id,
                "email": user.email,
                "display_name": user.display_name,
                "consortium_id": who.consortium_id,
                "roles": roles,
            }
        )
        return dumped

    return read(work)


@route(
    "/consortia",
    "GET",
    endpoint="consortia",
    summary="My consortium.",
    tag="people",
    query=PageArgs,
    response=page_of(ConsortiumSchema),
)
def consortia() -> Response:
    def work(session: Session, who: Actor, args: dict[str, Any]) -> dict[str, Any]:
        after = int_cursor(args)
        mine = session.get_one(Consortium, who.consortium_id)
        items = [mine] if after is None or mine.id > after else []
        return page(items, args["limit"], lambda c: c.id, ConsortiumSchema)

    return read(work, PageArgs)


@route(
    "/organisations",
    "GET",
    endpoint="organisations",
    tag="people",
    summary="The lead agency and partner NGOs of my consortium, by code.",
    query=PageArgs,
    response=page_of(OrganisationSchema),
)
def organisations() -> Response:
    def work(session: Session, who: Actor, args: dict[str, Any]) -> dict[str, Any]:
        query = select(Organisation).where(Organisation.consortium_id == who.consortium_id)
        after = str_cursor(args)
        if after is not None:
            query = query.where(Organisation.code > after)
        rows = session.execute(query.order_by(Organisation.code).limit(args["limit"] + 1))
        return page(rows.scalars().all(), args["limit"], lambda o: o.code, OrganisationSchema)

    return read(work, PageArgs)


@route(
    "/users",
    "GET",
    endpoint="users",
    tag="people",
    summary="Everyone with a role in my consortium (ADMIN).",
    query=PageArgs,
    response=page_of(UserSchema),
)
def users() -> Response:
    def work(session: Session, who: Actor, args: dict[str, Any]) -> dict[str, Any]:
        who.require_lead(Role.ADMIN, doing="list users")
        members = (
            select(Membership.user_id)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(Organisation.consortium_id == who.consortium_id)
        )
        query = select(User).where(User.id.in_(members))
        after = int_cursor(args)
        if after is not None:
            query = query.where(User.id > after)
        found = session.execute(query.order_by(User.id).limit(args["limit"] + 1)).scalars().all()
        roles = roles_of(session, [u.id for u in found], who.consortium_id)
        rows = [
            {
                "id": u.id,
                "email": u.email,
                "display_name": u.display_name,
                "active": u.active,
                "roles": roles[u.id],
            }
            for u in found
        ]
        return page(rows, args["limit"], lambda u: u["id"], UserSchema)

    return read(work, PageArgs)
