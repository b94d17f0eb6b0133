"""Setting up a consortium, its people and clients: scoped, audited, and refusing bad input."""

from __future__ import annotations

from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.audit import verify_trail
from approvals.consortium.actors import Actor, load_actor
from approvals.consortium.clients import (
    add_need,
    change_status,
    clients_of,
    enrol_client,
    get_client,
)
from approvals.consortium.people import (
    authenticate,
    change_password,
    check_password_strength,
    create_user,
    grant_role,
    set_user_active,
)
from approvals.consortium.setup import add_partner
from approvals.errors import (
    DuplicateError,
    InvalidInputError,
    InvalidTransitionError,
    NotAllowedError,
    NotFoundError,
)
from approvals.models import AuditEvent, ClientStatus, Role
from ledger.queries import get_balance, trial_balance
from tests.support.world import PASSWORD, World, as_, build_world, user_of

T = TypeVar("T")


def enrol(
    world: World, who: str, code: str, org: str = "NGO1", sf: str = "sf1", initials: str = "jd"
) -> int:
    return as_(
        world,
        who,
        lambda s, a: (
            enrol_client(
                s,
                a,
                code=code,
                initials=initials,
                organisation_id=world.organisations[org],  # type: ignore[arg-type]
                support_facilitator_id=world.users[sf],
                now=world.now,
            ).id
        ),
    )


def test_a_new_consortium_has_its_book_envelopes_and_an_intact_audit_trail(world: World) -> None:
    with world.factory() as session:
        accounts = {line.account for line in trial_balance(session, world.code)}
        assert accounts == {"bank", "gst_receivable", "pool", "org:NGO1", "org:NGO2"}
        assert verify_trail(session, world.consortium_id) == []
        assert (
            session.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.consortium_id == world.consortium_id)
            ).scalar_one()
            > 10
        )


def test_an_sf_enrols_a_client_whose_ledger_account_opens_with_it(world: World) -> None:
    client_id = enrol(world, "sf1", "c-0017")
    with world.factory() as session:
        assert get_balance(session, world.code, "client:C-0017").available == 0
        client = get_client(session, world.actor(session, "tl1"), client_id, now=world.now)
        assert (client.code, client.initials, client.status) == ("C-0017", "JD", "referred")


@pytest.mark.parametrize(
    ("who", "org", "allowed"),
    [
        ("sf1", "NGO1", True),
        ("tl1", "NGO1", True),
        ("sf2", "NGO1", False),
        ("pm", "NGO1", False),
        ("fin", "NGO2", False),
        ("admin", "NGO1", False),
    ],
)
def test_only_an_ngos_own_staff_enrol_its_clients(
    world: World, who: str, org: str, allowed: bool
) -> None:
    sf = "sf1" if org == "NGO1" else "sf2"
    if allowed:
        enrol(world, who, "C-0100", org=org, sf=sf)
        return
    with pytest.raises(NotAllowedError, match="Only SF or TL may enrol clients"):
        enrol(world, who, "C-0100", org=org, sf=sf)


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("sf1", True),
        ("sf1b", True),
        ("tl1", True),
        ("sf2", False),
        ("tl2", False),
        ("pm", True),
        ("fin", True),
        ("auditor", True),
    ],
)
def test_an_sf_never_sees_another_ngos_clients(world: World, who: str, sees: bool) -> None:
    client_id = enrol(world, "sf1", "C-0200")
    with world.factory() as session:
        actor = world.actor(session, who)
        assert ([c.id for c in clients_of(session, actor)] == [client_id]) is sees
        if sees:
            get_client(session, actor, client_id, now=world.now)
        else:
            with pytest.raises(NotFoundError):
                get_client(session, actor, client_id, now=world.now)


def test_every_read_of_a_client_record_is_in_the_audit_trail(world: World) -> None:
    client_id = enrol(world, "sf1", "C-0300")
    as_(world, "pm", lambda s, a: get_client(s, a, client_id, now=world.now))  # type: ignore[arg-type]
    with world.factory() as session:
        reads = (
            session.execute(
                select(AuditEvent.actor_id).where(
                    AuditEvent.action == "client.viewed", AuditEvent.subject_id == client_id
                )
            )
            .scalars()
            .all()
        )
        assert world.users["pm"] in reads
        assert verify_trail(session, world.consortium_id) == []


@pytest.mark.parametrize(
    ("code", "initials", "field"),
    [
        ("", "JD", "code"),
        ("0017", "JD", "code"),
        ("C 17", "JD", "code"),
        ("C-0017", "John", "initials"),
        ("C-0017", "", "initials"),
        ("C-0017", "J.D", "initials"),
    ],
)
def test_bad_client_details_are_refused_field_by_field_and_nothing_is_written(
    world: World, code: str, initials: str, field: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        enrol(world, "sf1", code, initials=initials)
    assert field in raised.value.fields
    with world.factory() as session:
        assert clients_of(session, world.actor(session, "pm")) == []


def test_a_client_code_is_unique_in_the_consortium_across_ngos(world: World) -> None:
    enrol(world, "sf1", "C-0400")
    with pytest.raises(DuplicateError):
        enrol(world, "sf2", "C-0400", org="NGO2", sf="sf2")


def test_the_support_facilitator_must_belong_to_the_clients_ngo(world: World) -> None:
    with pytest.raises(InvalidInputError, match="SF of the same NGO"):
        enrol(world, "sf1", "C-0500", sf="sf2")


def test_client_status_moves_follow_the_lifecycle_and_allow_reactivation(world: World) -> None:
    client_id = enrol(world, "sf1", "C-0600")
    for status in (
        ClientStatus.ACTIVE,
        ClientStatus.EXITED,
        ClientStatus.ACTIVE,
        ClientStatus.INACTIVE,
    ):
        as_(world, "sf1", lambda s, a, to=status: change_status(s, a, client_id, to, now=world.now))  # type: ignore[misc]
    with pytest.raises(InvalidTransitionError, match="inactive cannot become referred"):
        as_(
            world,
            "sf1",
            lambda s, a: change_status(s, a, client_id, ClientStatus.REFERRED, now=world.now),
        )  # type: ignore[arg-type]


def test_needs_have_a_known_domain_and_a_short_goal(world: World) -> None:
    client_id = enrol(world, "sf1", "C-0700")
    need = as_(
        world,
        "sf1",
        lambda s, a: add_need(
            s, a, client_id, domain="housing", goal="Secure a tenancy", now=world.now
        ),
    )  # type: ignore[arg-type]
    assert need.status == "open"
    with pytest.raises(InvalidInputError) as raised:
        as_(
            world,
            "sf1",
            lambda s, a: add_need(s, a, client_id, domain="diagnosis", goal="x", now=world.now),
        )  # type: ignore[arg-type]
    assert "domain" in raised.value.fields
    with pytest.raises(NotFoundError):
        as_(
            world,
            "sf2",
            lambda s, a: add_need(s, a, client_id, domain="housing", goal="x", now=world.now),
        )  # type: ignore[arg-type]


def test_passwords_are_hashed_and_checked_without_saying_which_part_was_wrong(world: World) -> None:
    with world.factory() as session:
        user = user_of(session, world, "sf1")
        assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")
        assert authenticate(session, email=user.email.upper(), password=PASSWORD) is not None
        assert authenticate(session, email=user.email, password="wrong password!") is None
        assert authenticate(session, email="nobody@example.org", password=PASSWORD) is None
        assert authenticate(session, email="not an email", password=PASSWORD) is None
        with pytest.raises(InvalidInputError, match="at least 12"):
            change_password(session, user, current=PASSWORD, new="short", now=world.now)
        with pytest.raises(InvalidInputError, match="current password"):
            change_password(
                session, user, current="nope nope nope", new="a much longer password", now=world.now
            )


@pytest.mark.parametrize(
    "weak",
    ["password1234", "qwertyuiop12", "iloveyou2026", "123456789012", "sf1@world.test"],
)
def test_a_common_or_guessable_password_is_refused_however_long(weak: str) -> None:
    with pytest.raises(InvalidInputError, match="easy to guess|at least 12") as refused:
        check_password_strength(weak, known=("sf1@world.test", "Sam Facilitator"))
    assert set(refused.value.fields) == {"password"}


def test_the_demo_password_and_a_passphrase_pass_the_policy() -> None:
    check_password_strength("flexpool-demo")
    check_password_strength("correct horse battery staple")


def test_a_weak_new_password_is_refused_on_change_and_the_old_one_still_works(
    world: World,
) -> None:
    with world.factory() as session:
        user = user_of(session, world, "sf1")
        with pytest.raises(InvalidInputError, match="easy to guess") as refused:
            change_password(session, user, current=PASSWORD, new="password1234", now=world.now)
        assert set(refused.value.fields) == {"new"}
        session.rollback()
        assert authenticate(session, email=user.email, password=PASSWORD) is not None


def test_only_admin_creates_users_and_emails_are_unique_case_insensitively(world: World) -> None:
    with pytest.raises(NotAllowedError):
        as_(
            world,
            "pm",
            lambda s, a: create_user(
                s, a, email="x@example.org", display_name="X", password=PASSWORD, now=world.now
            ),
        )  # type: ignore[arg-type]
    with pytest.raises(DuplicateError):
        as_(
            world,
            "admin",
            lambda s, a: create_user(
                s,
                a,
                email=f"SF1@{world.code}.TEST",
                display_name="X",
                password=PASSWORD,
                now=world.now,
            ),
        )  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError) as raised:
        as_(
            world,
            "admin",
            lambda s, a: create_user(
                s, a, email="no-at-sign", display_name="X", password=PASSWORD, now=world.now
            ),
        )  # type: ignore[arg-type]
    assert "email" in raised.value.fields


def test_lead_agency_roles_cannot_be_granted_in_a_partner_ngo(world: World) -> None:
    with pytest.raises(InvalidInputError, match="lead-agency role"):
        as_(
            world,
            "admin",
            lambda s, a: grant_role(
                s,
                a,
                user_id=world.users["sf1"],
                organisation_id=world.organisations["NGO1"],
                role=Role.PM,
                valid_from=world.today,
                now=world.now,
            ),
        )  # type: ignore[arg-type]


def test_a_partner_needs_a_valid_code_and_abn(world: World) -> None:
    with pytest.raises(InvalidInputError, match="checksum"):
        as_(
            world,
            "admin",
            lambda s, a: add_partner(
                s, a, code="NGO3", name="Third", abn="51 824 753 557", now=world.now
            ),
        )  # type: ignore[arg-type]
    with pytest.raises(DuplicateError):
        as_(
            world,
            "admin",
            lambda s, a: add_partner(s, a, code="NGO1", name="Again", abn=None, now=world.now),
        )  # type: ignore[arg-type]


def test_an_admin_deactivates_and_reactivates_a_user_with_an_audit_record(world: World) -> None:
    def deactivate(s: Session, a: Actor) -> None:
        set_user_active(s, a, world.users["sf1"], False, now=world.now)

    as_(world, "admin", deactivate)
    with world.factory() as session:
        assert authenticate(session, email=f"sf1@{world.code}.test", password=PASSWORD) is None
        with pytest.raises(NotAllowedError, match="not active"):
            load_actor(
                session,
                user_id=world.users["sf1"],
                consortium_id=world.consortium_id,
                today=world.today,
            )
    as_(world, "admin", deactivate)  # already inactive: nothing changes, nothing is recorded
    as_(world, "admin", lambda s, a: set_user_active(s, a, world.users["sf1"], True, now=world.now))
    with world.factory() as session:
        assert authenticate(session, email=f"sf1@{world.code}.test", password=PASSWORD)
        actions = (
            session.execute(
                select(AuditEvent.action)
                .where(
                    AuditEvent.consortium_id == world.consortium_id,
                    AuditEvent.subject_type == "user",
                    AuditEvent.subject_id == world.users["sf1"],
                    AuditEvent.action.in_(["user.deactivated", "user.reactivated"]),
                )
                .order_by(AuditEvent.sequence)
            )
            .scalars()
            .all()
        )
        assert actions == ["user.deactivated", "user.reactivated"]
        assert verify_trail(session, world.consortium_id) == []


def test_only_an_admin_deactivates_users_of_their_own_consortium_and_never_themselves(
    world: World,
) -> None:
    with pytest.raises(NotAllowedError):
        as_(
            world,
            "pm",
            lambda s, a: set_user_active(s, a, world.users["sf1"], False, now=world.now),
        )
    with pytest.raises(NotAllowedError, match="your own"):
        as_(
            world,
            "admin",
            lambda s, a: set_user_active(s, a, world.users["admin"], False, now=world.now),
        )
    other = build_world(world.factory, world.now)
    with pytest.raises(NotFoundError):
        as_(
            world,
            "admin",
            lambda s, a: set_user_active(s, a, other.users["sf1"], False, now=world.now),
        )
    fresh = as_(
        world,
        "admin",
        lambda s, a: (
            create_user(
                s,
                a,
                email=f"new@{world.code}.test",
                display_name="New",
                password=PASSWORD,
                now=world.now,
            ).id
        ),
    )  # no role yet, but created here: still this consortium's to manage
    as_(world, "admin", lambda s, a: set_user_active(s, a, fresh, False, now=world.now))
    with world.factory() as session:
        assert user_of(session, other, "sf1").active
