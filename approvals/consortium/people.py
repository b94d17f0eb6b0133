"""Users, passwords (argon2id via argon2-cffi) and memberships.

A password must be at least 12 characters and not easy to guess: zxcvbn (Dropbox's estimator,
with its frequency lists of common passwords, words and names) must score it 3 or more ("safely
unguessable": about 10^8 guesses), the person's own e-mail and name counting as known words.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.errors import DuplicateError, InvalidInputError, NotAllowedError, NotFoundError
from approvals.models import ApiToken, AuditEvent, Membership, Organisation, Role, User
from approvals.models.people import APPROVING

_HASHER = PasswordHasher()
# Hashing this once means an unknown e-mail costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("flexpool: no such user")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}", re.ASCII)
MIN_PASSWORD = 12
MAX_PASSWORD = 256
MIN_SCORE = 3  # zxcvbn's 0-4 scale


def normalise_email(text: str) -> str:
    email = (text or "").strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidInputError(
            f"{text!r} is not an e-mail address.", fields={"email": "Enter an e-mail address."}
        )
    return email


def check_password_strength(password: str, *, known: tuple[str, ...] = ()) -> None:
    """Refuse the short, the long and the easily guessed (``known``: the person's e-mail, name)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInputError(
            f"A password needs at least {MIN_PASSWORD} characters.",
            fields={"password": f"Use at least {MIN_PASSWORD} characters."},
        )
    if len(password) > MAX_PASSWORD:
        raise InvalidInputError(
            "That password is too long.", fields={"password": f"At most {MAX_PASSWORD} characters."}
        )
    verdict = zxcvbn(password, user_inputs=[k for k in known if k])
    if verdict["score"] < MIN_SCORE:
        hint = verdict["feedback"]["warning"] or "It would be easy to guess."
        raise InvalidInputError(
            f"That password is too easy to guess: {hint}",
            fields={"password": f"{hint} Add more words or characters."},
        )


def hash_password(password: str, *, known: tuple[str, ...] = ()) -> str:
    check_password_strength(password, known=known)
    return _HASHER.hash(password)


def create_user_record(
    session: Session, *, email: str, display_name: str, password: str, now: datetime
) -> User:
    """A new user with no roles yet; used by consortium bootstrap and by ADMIN."""
    email = normalise_email(email)
    name = (display_name or "").strip()
    if not 0 < len(name) <= 120:
        raise InvalidInputError("A name is required.", fields={"display_name": "1-120 characters."})
    if session.execute(select(User.id).where(func.lower(User.email) == email)).first() is not None:
        raise DuplicateError(
            f"A user with e-mail {email} already exists.", fields={"email": "Already in use."}
        )
    user = User(
        email=email,
        display_name=name,
        password_hash=hash_password(password, known=(email, name)),
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def create_user(
    session: Session, actor: Actor, *, email: str, display_name: str, password: str, now: datetime
) -> User:
    actor.require_lead(Role.ADMIN, doing="create users")
    user = create_user_record(
        session, email=email, display_name=display_name, password=password, now=now
    )
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="user.created",
        subject_type="user",
        subject_id=user.id,
        now=now,
        email=user.email,
    )
    return user


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or ``None``; never says which was wrong."""
    try:
        address = normalise_email(email)
    except InvalidInputError:
        address = ""
    user = session.execute(select(User).where(func.lower(User.email) == address)).scalar()
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return user


def change_password(session: Session, user: User, *, current: str, new: str, now: datetime) -> None:
    """A new password ends every session and revokes every API token of this person."""
    try:
        _HASHER.verify(user.password_hash, current)
    except (VerifyMismatchError, InvalidHashError) as error:
        raise InvalidInputError(
            "The current password is not right.", fields={"current": "Not right."}
        ) from error
    try:
        user.password_hash = hash_password(new, known=(user.email, user.display_name))
    except InvalidInputError as error:
        raise InvalidInputError(error.message, fields={"new": error.fields["password"]}) from error
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    end_sessions(session, user)


def end_sessions(session: Session, user: User) -> None:
    """End every session of this person (sign-out does, everywhere): their cookies carry the
    session epoch they were made in, and the user loader refuses an older one."""
    session.execute(
        update(User).where(User.id == user.id).values(session_epoch=User.session_epoch + 1)
    )
    session.refresh(user, ["session_epoch"])


def grant_role(
    session: Session,
    actor: Actor | None,
    *,
    user_id: int,
    organisation_id: int,
    role: Role,
    valid_from: date,
    valid_to: date | None = None,
    now: datetime,
) -> Membership:
    """Give a user a role in an organisation of the actor's consortium (no actor: bootstrap)."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or (
        actor is not None and organisation.consortium_id != actor.consortium_id
    ):
        raise NotFoundError("There is no such organisation.")
    if actor is not None:
        actor.require_lead(Role.ADMIN, doing="grant roles")
    if session.get(User, user_id) is None or (
        actor is not None and not belongs_to(session, actor.consortium_id, user_id)
    ):
        raise NotFoundError("There is no such user.")
    if valid_to is not None and valid_to < valid_from:
        raise InvalidInputError(
            "A role cannot end before it starts.", fields={"valid_to": "On or after the start."}
        )
    lead_only = {Role.PM, Role.FIN, Role.FIN_MGR, Role.CEO, Role.ADMIN}
    if role in lead_only and organisation.kind != "lead":
        raise InvalidInputError(
            f"{role.value} is a lead-agency role.", fields={"role": "Lead agency only."}
        )
    _refuse_admin_who_approves(session, organisation, user_id, role, valid_from, valid_to)
    same = select(Membership.id).where(
        Membership.user_id == user_id,
        Membership.organisation_id == organisation_id,
        Membership.role == role.value,
        Membership.valid_from == valid_from,
    )
    if session.execute(same).first() is not None:
        raise DuplicateError(f"That user already holds {role.value} there from {valid_from}.")
    membership = Membership(
        user_id=user_id,
        organisation_id=organisation_id,
        role=role.value,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    session.add(membership)
    session.flush()
    audit.record(
        session,
        consortium_id=organisation.consortium_id,
        actor_id=actor.user_id if actor else None,
        action="membership.granted",
        subject_type="user",
        subject_id=user_id,
        now=now,
        organisation=organisation.code,
        role=role.value,
        valid_from=valid_from.isoformat(),
    )
    return membership


def _refuse_admin_who_approves(
    session: Session,
    organisation: Organisation,
    user_id: int,
    role: Role,
    valid_from: date,
    valid_to: date | None,
) -> None:
    """SoD 4: nobody is ADMIN and an approver in one consortium at once (not even by their own
    grant); approvers are resolved without administrators as well
    (``approvals.policy.approvers``)."""
    if role is Role.ADMIN:
        clashing = frozenset(APPROVING)
    elif role in APPROVING:
        clashing = frozenset({Role.ADMIN})
    else:
        return
    overlapping = (
        select(Membership.role)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(
            Membership.user_id == user_id,
            Organisation.consortium_id == organisation.consortium_id,
            Membership.role.in_([r.value for r in clashing]),
            or_(Membership.valid_to.is_(None), Membership.valid_to >= valid_from),
        )
    )
    if valid_to is not None:
        overlapping = overlapping.where(Membership.valid_from <= valid_to)
    held = session.execute(overlapping.limit(1)).scalar()
    if held is not None:
        raise NotAllowedError(
            f"ADMIN never approves: this user holds {held}, so cannot also hold {role.value}.",
            fields={"role": "ADMIN and an approver's role do not combine."},
        )


def consortium_of(session: Session, user_id: int) -> int | None:
    """The consortium a person works in (the first by id, should they ever hold roles in two):
    where sign-in and a login token put them. The one copy; pages, API and tokens ask here."""
    return session.execute(
        select(Organisation.consortium_id)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.user_id == user_id)
        .order_by(Organisation.consortium_id)
        .limit(1)
    ).scalar()


def belongs_to(session: Session, consortium_id: int, user_id: int) -> bool:
    """Whether a user works in a consortium: holds a role there (any dates) or was created there."""
    member = session.execute(
        select(Membership.id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.user_id == user_id, Organisation.consortium_id == consortium_id)
        .limit(1)
    ).first()
    if member is not None:
        return True
    created = session.execute(
        select(AuditEvent.id)
        .where(
            AuditEvent.consortium_id == consortium_id,
            AuditEvent.action == "user.created",
            AuditEvent.subject_type == "user",
            AuditEvent.subject_id == user_id,
        )
        .limit(1)
    ).first()
    return created is not None


def set_user_active(
    session: Session, actor: Actor, user_id: int, active: bool, *, now: datetime
) -> User:
    """Deactivate an account (it can no longer sign in, and its sessions end) or reactivate it.

    Users are never deleted: requests, decisions and the audit trail keep pointing at them.
    """
    actor.require_lead(Role.ADMIN, doing="deactivate or reactivate users")
    user = session.get(User, user_id)
    if user is None or not belongs_to(session, actor.consortium_id, user_id):
        raise NotFoundError("There is no such user.")
    if user.id == actor.user_id and not active:
        raise NotAllowedError("You cannot deactivate your own account.")
    if user.active == active:
        return user
    user.active = active
    session.flush()
    if not active:  # reactivating must not bring back a session from before
        end_sessions(session, user)
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="user.reactivated" if active else "user.deactivated",
        subject_type="user",
        subject_id=user.id,
        now=now,
        email=user.email,
    )
    return user
