"""Setting up a consortium: its lead agency, first administrator, partner NGOs and ledger book."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from approvals import audit
from approvals.abn import normalise_abn
from approvals.business_days import STATES
from approvals.consortium.actors import Actor, system_email
from approvals.consortium.people import create_user_record, grant_role
from approvals.errors import DuplicateError, InvalidInputError
from approvals.gst import GstBasis
from approvals.models import Consortium, Organisation, OrgKind, Role, User
from ledger.books import fund, open_account, open_book
from ledger.values import BOOK_CODE

_ORG_CODE = re.compile(r"[A-Z][A-Z0-9]{1,19}", re.ASCII)


def envelope_account(organisation_code: str) -> str:
    return f"org:{organisation_code}"


def _check_org(code: str, name: str, abn: str | None) -> str | None:
    if not _ORG_CODE.fullmatch(code or ""):
        raise InvalidInputError(
            f"{code!r} is not an organisation code.",
            fields={"code": "2-20 capitals and digits, e.g. NGO1."},
        )
    if not (name or "").strip() or len(name) > 200:
        raise InvalidInputError(
            "An organisation needs a name.", fields={"name": "1-200 characters."}
        )
    return normalise_abn(abn) if abn else None


def create_consortium(
    session: Session,
    *,
    code: str,
    name: str,
    state: str,
    lead_code: str,
    lead_name: str,
    lead_abn: str | None,
    admin_email: str,
    admin_name: str,
    admin_password: str,
    gst_basis: GstBasis = GstBasis.CLAIMS_CREDITS,
    now: datetime,
) -> tuple[Consortium, User]:
    """Bootstrap: the consortium, its lead agency, its first ADMIN, its book and audit trail."""
    if not BOOK_CODE.fullmatch(code or ""):
        raise InvalidInputError(
            f"{code!r} is not a consortium code.", fields={"code": "Letters, digits, - or _."}
        )
    if state not in STATES:
        raise InvalidInputError(
            f"{state!r} is not an Australian state or territory.", fields={"state": "e.g. NSW."}
        )
    abn = _check_org(lead_code, lead_name, lead_abn)
    if session.execute(select(Consortium.id).where(Consortium.code == code)).first() is not None:
        raise DuplicateError(
            f"A consortium with code {code} already exists.", fields={"code": "Already in use."}
        )
    consortium = Consortium(
        code=code, name=name, state=state, gst_basis=gst_basis.value, created_at=now
    )
    session.add(consortium)
    session.flush()
    audit.open_trail(session, consortium.id)
    lead = Organisation(
        consortium_id=consortium.id,
        code=lead_code,
        name=lead_name,
        kind=OrgKind.LEAD.value,
        abn=abn,
        active=True,
        created_at=now,
    )
    session.add(lead)
    session.flush()
    open_book(session, code=code, name=name, now=now)
    session.add(
        User(
            email=system_email(code),
            display_name="flexpool scheduler",
            password_hash="!",  # noqa: S106 - not a hash at all, so no password can match
            active=False,
            created_at=now,
        )
    )  # "!" is no argon2 hash: nobody can sign in as the scheduler
    admin = create_user_record(
        session, email=admin_email, display_name=admin_name, password=admin_password, now=now
    )
    grant_role(
        session,
        None,
        user_id=admin.id,
        organisation_id=lead.id,
        role=Role.ADMIN,
        valid_from=now.date(),
        now=now,
    )
    audit.record(
        session,
        consortium_id=consortium.id,
        actor_id=None,
        action="consortium.created",
        subject_type="consortium",
        subject_id=consortium.id,
        now=now,
        code=code,
        lead=lead_code,
    )
    return consortium, admin


def add_partner(
    session: Session, actor: Actor, *, code: str, name: str, abn: str | None, now: datetime
) -> Organisation:
    """A partner NGO, with its funding envelope in the ledger."""
    actor.require_lead(Role.ADMIN, doing="add partner organisations")
    digits = _check_org(code, name, abn)
    taken = select(Organisation.id).where(
        Organisation.consortium_id == actor.consortium_id, Organisation.code == code
    )
    if session.execute(taken).first() is not None:
        raise DuplicateError(
            f"Organisation {code} already exists.", fields={"code": "Already in use."}
        )
    consortium = session.get_one(Consortium, actor.consortium_id)
    partner = Organisation(
        consortium_id=consortium.id,
        code=code,
        name=name.strip(),
        kind=OrgKind.PARTNER.value,
        abn=digits,
        active=True,
        created_at=now,
    )
    session.add(partner)
    session.flush()
    open_account(
        session,
        book=consortium.code,
        spec=fund(envelope_account(code), f"{name} envelope"),
        now=now,
    )
    audit.record(
        session,
        consortium_id=consortium.id,
        actor_id=actor.user_id,
        action="organisation.added",
        subject_type="organisation",
        subject_id=partner.id,
        now=now,
        code=code,
    )
    return partner
