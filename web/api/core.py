"""How every API call runs: the route table (which also feeds the OpenAPI document), bearer
authentication, one unit of work per call, idempotent writes, and cursor pages.

The identity comes from the ``Authorization: Bearer`` header only, never from the session
cookie, so a page open in a browser cannot be made to call the API (the blueprint is CSRF-exempt
for that reason). Each call is one database transaction: the token is checked (and marked as
used), the actor is loaded with their roles today, the work runs and it all commits together.
The one exception is work that commits on its own (an export): see :func:`write_apart`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Response, current_app, jsonify, request
from marshmallow import Schema, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import Unauthorized

from approvals import idempotency
from approvals.consortium import tokens
from approvals.consortium.actors import Actor, load_actor
from approvals.errors import InvalidInputError
from ledger.db import run_in_transaction
from web.api.base import blueprint
from web.api.schemas.base import MAX_ID
from web.clock import now
from web.input_guard import load_json, refused_path
from web.session import local_today, session_factory

_KEY = re.compile(r"[\x21-\x7e]{1,80}", re.ASCII)
Work = Callable[[Session, Actor, dict[str, Any]], Any]


@dataclass(frozen=True)
class Operation:
    """One documented operation; ``status`` is its success status, ``files`` the media types of a
    file it answers with instead of JSON."""

    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    public: bool = False
    errors: tuple[int, ...] = (401, 403, 404, 409, 422)
    path_params: tuple[str, ...] = field(default=())
    files: tuple[str, ...] = ()


OPERATIONS: list[Operation] = []


def route(
    rule: str,
    method: str,
    *,
    endpoint: str,
    summary: str,
    tag: str,
    **options: Any,
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Register a view on the blueprint and describe it for the OpenAPI document."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        blueprint.add_url_rule(rule, endpoint, view, methods=[method])
        params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", rule))
        OPERATIONS.append(
            Operation(rule, method, endpoint, summary, tag, path_params=params, **options)
        )
        return view

    return decorate


# -- who is calling -------------------------------------------------------------------------------


def bearer_secret() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("Send a token: Authorization: Bearer <token>.")
    return secret.strip()


def _actor(session: Session, secret: str) -> Actor:
    moment = now()
    bearer = tokens.verify_token(session, secret, now=moment)
    if bearer is None:
        raise Unauthorized("The token is not valid: it is unknown, expired or revoked.")
    return load_actor(
        session,
        user_id=bearer.user_id,
        consortium_id=bearer.consortium_id,
        today=local_today(session, bearer.consortium_id, moment),
    )


# -- input ----------------------------------------------------------------------------------------


def load_query(schema: type[Schema] | None) -> dict[str, Any]:
    if schema is None:
        return {}
    loaded: dict[str, Any] = schema().load(request.args.to_dict())
    return loaded


def _json_body() -> Any:
    raw = request.get_data()
    if not raw.strip():
        return {}
    return load_json(raw)


def load_body(schema: type[Schema] | None) -> dict[str, Any]:
    if schema is None:
        return {}
    data = _json_body()
    if not isinstance(data, dict):
        raise ValidationError({"_body": ["Send a JSON object."]})
    loaded: dict[str, Any] = schema().load(data)
    return loaded


def renamed(error: InvalidInputError, names: dict[str, str]) -> InvalidInputError:
    """A service's field names (``amount_cents``) as the API calls them (``amount``)."""
    fields = {names.get(key, key): value for key, value in error.fields.items()}
    return InvalidInputError(error.message, fields=fields)


# -- units of work --------------------------------------------------------------------------------


def reply(payload: Any, status: int = 200, **headers: str) -> Response:
    response = jsonify(payload)
    response.status_code = status
    response.headers.update(headers)
    return response


def read(work: Work, query: type[Schema] | None = None) -> Response:
    """A call that changes nothing but the token's last use (and the audit of client reads)."""
    return reply(in_unit(work, query))


def in_unit(work: Work, query: type[Schema] | None = None) -> Any:
    """What ``work`` gives, run as the token's actor in one transaction (a file to send, say)."""
    secret = bearer_secret()

    def unit(session: Session) -> Any:
        who = _actor(session, secret)
        return work(session, who, load_query(query))

    return run_in_transaction(session_factory(current_app), unit)


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise ValidationError({"Idempotency-Key": ["1-80 visible ASCII characters."]})
    return key


def ledger_key(who: Actor) -> str | None:
    """The ledger's own idempotency key for this call: per user, so two people never collide."""
    key = idempotency_key()
    return f"api:{who.user_id}:{key}" if key else None


def _fingerprint() -> str:
    raw = request.get_data()
    try:
        canonical = json.dumps(load_json(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValidationError:
        canonical = raw
    return idempotency.fingerprint(request.method, request.path, canonical)


Guard = Callable[[Session, Actor], object]


def write(
    work: Work, body: type[Schema] | None, status: int = 201, *, guard: Guard | None = None
) -> Response:
    """A change, run once per ``Idempotency-Key``: a retry gets the stored first answer.

    The key is claimed before the work, in the same transaction (``idempotency.claim``): a twin sent
    while the first call runs waits for it and replays its answer (or, after a few seconds, gets
    a 409 ``idempotency_in_progress`` with Retry-After); it never runs the work a second time.
    ``guard`` checks scope and role before the body is read, so someone who may not act gets
    404 or 403 whatever they sent, never a validation message about a request they cannot see.
    """
    secret = bearer_secret()
    key = idempotency_key()
    print_ = _fingerprint()

    def unit(session: Session) -> tuple[int, Any, bool]:
        who = _actor(session, secret)
        if key is not None:
            found = idempotency.find_replay(session, who.user_id, key, print_, now=now())
            if found is not None:
                return found.status, found.body, True
            _claim(session, who, key, print_)
        if guard is not None:
            guard(session, who)
        payload = work(session, who, load_body(body))
        if key is not None:
            idempotency.settle(session, user_id=who.user_id, key=key, status=status, body=payload)
        return status, payload, False

    try:
        code, payload, replayed = _once(session_factory(current_app), unit, retry=key is not None)
    except idempotency.IdempotencyInProgressError as error:
        return _in_progress(error)
    if replayed:
        return reply(payload, code, **{"Idempotent-Replayed": "true"})
    return reply(payload, code)


T = TypeVar("T")


def _once(factory: sessionmaker[Session], unit: Callable[[Session], T], *, retry: bool) -> T:
    try:
        return run_in_transaction(factory, unit)
    except IntegrityError:
        if not retry:
            raise
        return run_in_transaction(factory, unit)  # the twin claimed the key first: replay it


def _in_progress(error: idempotency.IdempotencyInProgressError) -> Response:
    payload = {"error": error.code, "message": error.message, "fields": error.fields}
    return reply(payload, 409, **{"Retry-After": str(error.retry_after)})


def _claim(session: Session, who: Actor, key: str, print_: str, *, lease: bool = False) -> None:
    idempotency.claim(
        session,
        user_id=who.user_id,
        key=key,
        method=request.method,
        path=request.path,
        print_=print_,
        now=now(),
        lease=lease,
    )


# -- writes whose work commits on its own ---------------------------------------------------------

Act = Callable[[Any], tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class _Claim:
    """The checked call: who made it, what ``prepare`` made of it, or the answer to replay."""

    user_id: int
    prepared: Any = None
    replay: tuple[int, Any] | None = None


def write_apart(
    prepare: Work, act: Act, body: type[Schema] | None, *, guard: Guard | None = None
) -> Response:
    """A change whose work commits on its own, so it cannot run inside this call's transaction
    (an export records its run itself; on SQLite it would wait on this call's write lock).

    Checks, body and ``prepare`` run in one transaction that also claims the Idempotency-Key
    with a lease (``idempotency.CLAIM_LEASE``); ``act`` then runs with no transaction open, and its
    answer (status and body, a refusal included) is stored under the key. A retry meanwhile gets
    a 409 ``idempotency_in_progress`` with Retry-After and never runs ``act`` again; if ``act``
    raises, the claim is dropped so a retry may; if the process dies, the lease runs out and the
    next retry runs it.
    """
    key, factory = idempotency_key(), session_factory(current_app)
    try:
        claim = _once(factory, _claiming(prepare, body, guard, key), retry=key is not None)
    except idempotency.IdempotencyInProgressError as error:
        return _in_progress(error)
    if claim.replay is not None:
        return reply(claim.replay[1], claim.replay[0], **{"Idempotent-Replayed": "true"})
    try:
        status, payload = act(claim.prepared)
    except Exception:
        if key is not None:
            run_in_transaction(
                factory, lambda s: idempotency.forget(s, user_id=claim.user_id, key=key)
            )
        raise
    if key is not None:
        run_in_transaction(
            factory,
            lambda s: idempotency.settle(
                s, user_id=claim.user_id, key=key, status=status, body=payload
            ),
        )
    return reply(payload, status)


def _claiming(
    prepare: Work, body: type[Schema] | None, guard: Guard | None, key: str | None
) -> Callable[[Session], _Claim]:
    secret, print_ = bearer_secret(), _fingerprint()

    def unit(session: Session) -> _Claim:
        who = _actor(session, secret)
        found = (
            idempotency.find_replay(session, who.user_id, key, print_, now=now()) if key else None
        )
        if found is not None:
            return _Claim(who.user_id, replay=(found.status, found.body))
        if guard is not None:
            guard(session, who)
        prepared = prepare(session, who, load_body(body))
        if key is not None:
            _claim(session, who, key, print_, lease=True)
        return _Claim(who.user_id, prepared)

    return unit


# -- pages ----------------------------------------------------------------------------------------


def encode_cursor(value: str | int) -> str:
    text = json.dumps({"after": value}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | int | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))["after"]
    except (ValueError, KeyError, TypeError, UnicodeError) as error:
        raise ValidationError({"cursor": ["Not a cursor given by this API."]}) from error
    if isinstance(value, bool) or not isinstance(value, str | int) or refused_path(value):
        raise ValidationError({"cursor": ["Not a cursor given by this API."]})
    return value


def page(
    items: Sequence[Any], limit: int, key: Callable[[Any], str | int], schema: type[Schema]
) -> dict[str, Any]:
    """One page from ``limit + 1`` fetched rows: the extra row only says there is more."""
    shown = list(items[:limit])
    more = len(items) > limit and shown
    return {
        "items": schema(many=True).dump(shown),
        "next": encode_cursor(key(shown[-1])) if more else None,
    }


def int_cursor(args: dict[str, Any]) -> int | None:
    value = decode_cursor(args.get("cursor"))
    if value is not None and (not isinstance(value, int) or not 0 <= value <= MAX_ID):
        raise ValidationError({"cursor": ["Not a cursor given by this API."]})
    return value


def str_cursor(args: dict[str, Any]) -> str | None:
    value = decode_cursor(args.get("cursor"))
    if value is not None and not isinstance(value, str):
        raise ValidationError({"cursor": ["Not a cursor given by this API."]})
    return value
