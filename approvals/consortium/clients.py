"""Clients and their Action Plan needs, seen only by those who work with them.

An SF or TL sees the clients of their own NGO; the lead agency's PM, finance and auditors see
every client's code (there is nothing more to see). Every read of a client record is logged.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.errors import (
    DuplicateError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
)
from approvals.models import (
    Client,
    ClientStatus,
    ClientStatusChange,
    Consortium,
    Membership,
    Need,
    NeedDomain,
    NeedStatus,
    Role,
)
from approvals.models.clients import CLIENT_MOVES
from ledger.books import fund, open_account

_CLIENT_CODE = re.compile(r"[A-Z][A-Z0-9\-]{1,19}", re.ASCII)
_INITIALS = re.compile(r"[A-Z]{1,3}", re.ASCII)
LEAD_READERS = (Role.PM, Role.FIN, Role.FIN_MGR, Role.CEO, Role.AUDITOR, Role.ADMIN)
STAFF = (Role.SF, Role.TL)


def client_account(code: str) -> str:
    return f"client:{code}"


def can_see(actor: Actor, client: Client) -> bool:
    if client.consortium_id != actor.consortium_id:
        return False
    if any(actor.has_lead(role) for role in LEAD_READERS):
        return True
    return any(actor.has(role, client.organisation_id) for role in STAFF)


def get_client(
    session: Session, actor: Actor, client_id: int, *, now: datetime, why: str = "viewed"
) -> Client:
    """A client record, if the actor may see it; the read is written to the audit trail."""
    client = session.get(Client, client_id)
    if client is None or not can_see(actor, client):
        raise NotFoundError("There is no such client.")  # the same answer either way (404)
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="client.viewed",
        subject_type="client",
        subject_id=client.id,
        now=now,
        code=client.code,
        why=why,
    )
    return client


def enrol_client(
    session: Session,
    actor: Actor,
    *,
    code: str,
    initials: str,
    organisation_id: int,
    support_facilitator_id: int,
    now: datetime,
) -> Client:
    """Record a referred client and open their ledger account."""
    actor.require(
        Role.SF, Role.TL, organisation_id=organisation_id, doing="enrol clients for this NGO"
    )
    code, initials = (code or "").strip().upper(), (initials or "").strip().upper()
    problems: dict[str, str] = {}
    if not _CLIENT_CODE.fullmatch(code):
        problems["code"] = "2-20 capitals, digits or '-', starting with a letter (e.g. C-0017)."
    if not _INITIALS.fullmatch(initials):
        problems["initials"] = "1-3 letters; never a name."
    if problems:
        raise InvalidInputError(
            "The client could not be enrolled: " + " ".join(problems.values()), fields=problems
        )
    sf_holds = select(Membership.id).where(
        Membership.user_id == support_facilitator_id,
        Membership.organisation_id == organisation_id,
        Membership.role == Role.SF.value,
    )
    if session.execute(sf_holds).first() is None:
        raise InvalidInputError(
            "The support facilitator must be an SF of the same NGO.",
            fields={"support_facilitator_id": "Not an SF here."},
        )
    taken = select(Client.id).where(
        Client.consortium_id == actor.consortium_id, Client.code == code
    )
    if session.execute(taken).first() is not None:
        raise DuplicateError(
            f"Client code {code} is already used in this consortium.",
            fields={"code": "Already used."},
        )
    client = Client(
        consortium_id=actor.consortium_id,
        code=code,
        initials=initials,
        organisation_id=organisation_id,
        support_facilitator_id=support_facilitator_id,
        status=ClientStatus.REFERRED.value,
        created_at=now,
    )
    session.add(client)
    session.flush()
    session.add(
        ClientStatusChange(
            client_id=client.id,
            from_status=None,
            to_status=client.status,
            changed_by_id=actor.user_id,
            changed_at=now,
        )
    )
    book = session.get_one(Consortium, actor.consortium_id).code
    open_account(session, book=book, spec=fund(client_account(code), f"Client {code}"), now=now)
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="client.enrolled",
        subject_type="client",
        subject_id=client.id,
        now=now,
        code=code,
    )
    return client


def change_status(
    session: Session, actor: Actor, client_id: int, to: ClientStatus, *, now: datetime
) -> Client:
    client = get_client(session, actor, client_id, now=now, why="status change")
    actor.require(
        Role.SF, Role.TL, organisation_id=client.organisation_id, doing="change a client's status"
    )
    current = ClientStatus(client.status)
    if to not in CLIENT_MOVES[current]:
        raise InvalidTransitionError(f"A client who is {current.value} cannot become {to.value}.")
    session.add(
        ClientStatusChange(
            client_id=client.id,
            from_status=current.value,
            to_status=to.value,
            changed_by_id=actor.user_id,
            changed_at=now,
        )
    )
    client.status = to.value
    session.flush()
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="client.status_changed",
        subject_type="client",
        subject_id=client.id,
        now=now,
        code=client.code,
        to=to.value,
    )
    return client


def add_need(
    session: Session, actor: Actor, client_id: int, *, domain: str, goal: str, now: datetime
) -> Need:
    client = get_client(session, actor, client_id, now=now, why="add need")
    actor.require(
        Role.SF, Role.TL, organisation_id=client.organisation_id, doing="record a client's needs"
    )
    try:
        domain_value = NeedDomain(domain)
    except ValueError as error:
        choices = ", ".join(d.value for d in NeedDomain)
        raise InvalidInputError(
            f"Unknown domain {domain!r}.", fields={"domain": f"One of {choices}."}
        ) from error
    goal = (goal or "").strip()
    if not 0 < len(goal) <= 200:
        raise InvalidInputError(
            "A need has a short goal.", fields={"goal": "1-200 characters; no health details."}
        )
    need = Need(
        client_id=client.id,
        domain=domain_value.value,
        goal=goal,
        status=NeedStatus.OPEN.value,
        created_at=now,
    )
    session.add(need)
    session.flush()
    return need


def visible_clients(actor: Actor) -> Select[Client]:
    """The list form of ``can_see``: the clients the actor may see, by code."""
    query = select(Client).where(Client.consortium_id == actor.consortium_id).order_by(Client.code)
    if not any(actor.has_lead(role) for role in LEAD_READERS):
        organisations = actor.organisations_with(Role.SF) | actor.organisations_with(Role.TL)
        query = query.where(Client.organisation_id.in_(organisations))
    return query


def clients_of(session: Session, actor: Actor) -> list[Client]:
    return list(session.execute(visible_clients(actor)).scalars())
