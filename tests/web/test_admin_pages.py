"""The admin area over the demo consortium: real writes through the pages, refusals shown.

The PostgreSQL demo database is shared between tests, so every test creates what it changes
under a unique name and counts only its own rows.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals.models import (
    ApprovalPolicy,
    AuditEvent,
    Category,
    Consortium,
    Delegation,
    Membership,
    Organisation,
    User,
)
from approvals.policy.rules import RuleSpec, StepSpec
from approvals.policy.text import rules_to_text
from approvals.policy.versions import published_policy
from demo.base import CODE
from ledger.queries import get_balance
from reports.jobs.schedule import JOBS
from reports.jobs.tasks import VERIFY_JOB, job_key
from reports.models import JobRun
from tests.support.web import Client, sqlite_only_web_db
from web.session import session_factory

# SQLite only: these pages call services and queries proven on PostgreSQL elsewhere.
web_db = pytest.fixture(sqlite_only_web_db)

PASSWORD = "a long enough password"
VALID_ABN = "51 824 753 556"
NON_ADMINS = ["pm@lead.demo", "finmgr@lead.demo", "auditor@lead.demo", "tl@ngo1.demo"]


def unique(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:8]


@contextmanager
def db(app: Flask) -> Iterator[Session]:
    with app.extensions["flexpool.sessions"]() as session:
        yield session


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def northcoast(session: Session) -> Consortium:
    return session.execute(select(Consortium).where(Consortium.code == "NORTHCOAST")).scalar_one()


def org_id(session: Session, code: str) -> int:
    consortium = northcoast(session)
    return session.execute(
        select(Organisation.id).where(
            Organisation.consortium_id == consortium.id, Organisation.code == code
        )
    ).scalar_one()


def user_id(session: Session, email: str) -> int:
    return session.execute(select(User.id).where(User.email == email)).scalar_one()


def sign_in(app: Flask, email: str, password: str = PASSWORD) -> tuple[Client, int]:
    client = Client(app.test_client())
    response = client.login(email, password)
    return client, response.status_code


def make_user(admin: Client, **extra: str) -> tuple[str, Any]:
    email = f"{unique('u')}@example.org"
    form = {"email": email, "display_name": "Pat Newcomer", "password": PASSWORD, **extra}
    return email, admin.post("/admin/users", form)


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("email", NON_ADMINS)
def test_only_the_lead_agency_admin_opens_the_admin_area(login: Any, email: str) -> None:
    client = login(email)
    for url in ("/admin/", "/admin/users", "/admin/policy", "/admin/delegations"):
        assert client.get(url).status_code == 403, url
    refused = client.post("/admin/organisations", {"code": "NGOX", "name": "X", "abn": ""})
    assert refused.status_code == 403


def test_every_admin_page_opens_for_the_admin(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    with db(app) as session:
        someone = user_id(session, "sf@ngo1.demo")
        live, _rules = published_policy(session, northcoast(session).id)
    for url in (
        "/admin/",
        "/admin/organisations",
        "/admin/users",
        f"/admin/users/{someone}",
        "/admin/categories",
        "/admin/policy",
        "/admin/policy?from=default",
        f"/admin/policy/{live.id}",
        "/admin/delegations",
        "/admin/delegations?all=1",
    ):
        response = admin.get(url)
        assert response.status_code == 200, url
        assert 'name="csrf_token"' in text(response) or url == "/admin/", url


def test_objects_outside_the_consortium_are_not_found(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    with db(app) as session:
        scheduler = session.execute(
            select(User.id).where(User.email.like("system@%"))
        ).scalar_one()  # exists, but belongs to no one's consortium
    for url in (f"/admin/users/{scheduler}", "/admin/users/999999999", "/admin/policy/999999999"):
        assert admin.get(url).status_code == 404, url
    assert admin.post("/admin/categories/999999999/active", {"active": "0"}).status_code == 404
    assert admin.post("/admin/delegations/999999999/revoke").status_code == 404
    assert admin.post(f"/admin/users/{scheduler}/active", {"active": "1"}).status_code == 404


# --- organisations ------------------------------------------------------------------------------


def test_admin_adds_a_partner_with_its_envelope(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    code = unique("N").upper()
    response = admin.post(
        "/admin/organisations", {"code": code, "name": "Riverside Support", "abn": VALID_ABN}
    )
    assert response.status_code == 302
    page = text(admin.get("/admin/organisations"))
    assert code in page and "Riverside Support" in page and VALID_ABN in page
    with db(app) as session:
        organisation = session.execute(
            select(Organisation).where(Organisation.code == code)
        ).scalar_one()
        assert (organisation.kind, organisation.abn) == ("partner", "51824753556")
        assert get_balance(session, "NORTHCOAST", f"org:{code}").available == 0
        assert session.execute(
            select(AuditEvent.id).where(
                AuditEvent.action == "organisation.added", AuditEvent.subject_id == organisation.id
            )
        ).scalar_one()


@pytest.mark.parametrize(
    ("abn", "message"),
    [("51 824 753 557", "fails its checksum"), ("1234", "An ABN has 11 digits.")],
)
def test_a_bad_abn_is_shown_next_to_its_field_and_nothing_is_added(
    login: Any, app: Flask, abn: str, message: str
) -> None:
    admin = login("admin@lead.demo")
    code = unique("N").upper()
    response = admin.post("/admin/organisations", {"code": code, "name": "Typo", "abn": abn})
    assert response.status_code == 422
    page = text(response)
    assert message in page and 'id="e-abn"' in page and f'value="{code}"' in page
    with db(app) as session:
        assert (
            session.execute(select(Organisation).where(Organisation.code == code)).first() is None
        )


def test_a_taken_organisation_code_is_a_conflict(login: Any) -> None:
    admin = login("admin@lead.demo")
    response = admin.post("/admin/organisations", {"code": "NGO1", "name": "Again", "abn": ""})
    assert response.status_code == 409
    assert "Already in use." in text(response)


# --- users and roles ----------------------------------------------------------------------------


def test_a_created_user_with_a_role_can_sign_in_and_the_role_shows(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    with db(app) as session:
        ngo1 = org_id(session, "NGO1")
    email, response = make_user(
        admin, role="SF", organisation_id=str(ngo1), valid_from="2020-01-01"
    )
    assert response.status_code == 302
    page = text(admin.get("/admin/users"))
    assert email in page and "SF@NGO1" in page
    client, status = sign_in(app, email)
    assert status == 302
    with app.test_request_context():
        sf_home = url_for("sf.home")
    assert client.get("/").headers["Location"].endswith(sf_home)
    with db(app) as session:
        new = user_id(session, email)
        assert session.execute(
            select(Membership.role).where(Membership.user_id == new)
        ).scalars().all() == ["SF"]


def test_a_duplicate_email_or_a_short_password_changes_nothing(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    taken = admin.post(
        "/admin/users",
        {"email": "SF@ngo1.demo", "display_name": "Copy", "password": PASSWORD},
    )
    assert taken.status_code == 409
    assert "Already in use." in text(taken) and 'id="e-email"' in text(taken)
    email = f"{unique('u')}@example.org"
    short = admin.post("/admin/users", {"email": email, "display_name": "Short", "password": "x"})
    assert short.status_code == 422
    assert "Use at least 12 characters." in text(short)
    with db(app) as session:
        assert (
            session.execute(
                select(func.count())
                .select_from(User)
                .where(func.lower(User.email) == "sf@ngo1.demo")
            ).scalar_one()
            == 1
        )
        assert session.execute(select(User).where(User.email == email)).first() is None


def test_a_role_that_fails_rolls_back_the_new_user_too(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    with db(app) as session:
        ngo2 = org_id(session, "NGO2")
    email, response = make_user(
        admin, role="PM", organisation_id=str(ngo2), valid_from="2020-01-01"
    )
    assert response.status_code == 422
    assert "Lead agency only." in text(response)
    with db(app) as session:
        assert session.execute(select(User).where(User.email == email)).first() is None


def test_admin_grants_a_role_and_it_shows(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    email, _ = make_user(admin)
    with db(app) as session:
        new, ngo2 = user_id(session, email), org_id(session, "NGO2")
    assert "no role yet" in text(admin.get("/admin/users"))
    form = {"organisation_id": str(ngo2), "role": "TL", "valid_from": "2021-07-01"}
    response = admin.post(f"/admin/users/{new}/roles", form)
    assert response.status_code == 302
    page = text(admin.get(f"/admin/users/{new}"))
    assert "TL" in page and "NGO2" in page and "01/07/2021" in page and "Held" in page
    bad = admin.post(
        f"/admin/users/{new}/roles",
        {
            "organisation_id": str(ngo2),
            "role": "TL",
            "valid_from": "2021-07-01",
            "valid_to": "2021",
        },
    )
    assert bad.status_code == 422 and "A date like 2026-07-31." in text(bad)
    backwards = {**form, "valid_from": "2022-07-01", "valid_to": "2022-01-01"}
    refused = admin.post(f"/admin/users/{new}/roles", backwards)
    assert refused.status_code == 422 and "On or after the start." in text(refused)
    with db(app) as session:
        assert (
            session.execute(
                select(func.count()).select_from(Membership).where(Membership.user_id == new)
            ).scalar_one()
            == 1
        )


def test_deactivating_ends_sessions_and_sign_in_until_reactivated(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    with db(app) as session:
        ngo3 = org_id(session, "NGO3")
    email, _ = make_user(admin, role="SF", organisation_id=str(ngo3), valid_from="2020-01-01")
    with db(app) as session:
        new = user_id(session, email)
    them, status = sign_in(app, email)
    assert status == 302 and them.get("/inbox/").status_code == 200
    assert admin.post(f"/admin/users/{new}/active", {"active": "0"}).status_code == 302
    assert "Deactivated" in text(admin.get(f"/admin/users/{new}"))
    assert them.get("/inbox/").status_code == 302  # signed out: sent to the login page
    assert sign_in(app, email)[1] == 401
    assert admin.post(f"/admin/users/{new}/active", {"active": "1"}).status_code == 302
    assert them.get("/inbox/").status_code == 302  # reactivating brings no old session back
    assert sign_in(app, email)[1] == 302
    with db(app) as session:
        actions = (
            session.execute(
                select(AuditEvent.action)
                .where(
                    AuditEvent.subject_type == "user",
                    AuditEvent.subject_id == new,
                    AuditEvent.action.like("user.%activated"),
                )
                .order_by(AuditEvent.sequence)
            )
            .scalars()
            .all()
        )
        assert actions == ["user.deactivated", "user.reactivated"]


def test_admin_cannot_deactivate_themselves(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    with db(app) as session:
        me = user_id(session, "admin@lead.demo")
    response = admin.post(f"/admin/users/{me}/active", {"active": "0"})
    assert response.status_code == 403
    assert "cannot deactivate your own account" in text(response)
    with db(app) as session:
        assert session.get_one(User, me).active


# --- categories ---------------------------------------------------------------------------------


def test_admin_adds_retires_and_restores_a_category(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    code = unique("c_")
    form = {
        "code": code,
        "name": "Phone credit",
        "gl_code": "6-4410",
        "tax_code": "GST on Expenses",
    }
    assert admin.post("/admin/categories", form).status_code == 302
    assert code in text(admin.get("/admin/categories"))
    with db(app) as session:
        category = session.execute(select(Category).where(Category.code == code)).scalar_one()
        assert (category.gl_code, category.active) == ("6-4410", True)
    again = admin.post("/admin/categories", form)
    assert again.status_code == 409 and "Already used." in text(again)
    assert admin.post(f"/admin/categories/{category.id}/active", {"active": "0"}).status_code == 302
    with db(app) as session:
        assert not session.get_one(Category, category.id).active
    assert admin.post(f"/admin/categories/{category.id}/active", {"active": "1"}).status_code == 302
    with db(app) as session:
        assert session.get_one(Category, category.id).active


def test_a_bad_category_shows_every_field_message(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    response = admin.post(
        "/admin/categories", {"code": "X", "name": "Bad", "gl_code": "6 4410!", "tax_code": ""}
    )
    assert response.status_code == 422
    page = text(response)
    assert 'id="e-tax_code"' in page and "Required." in page
    response = admin.post(
        "/admin/categories", {"code": "X", "name": "Bad", "gl_code": "6 4410!", "tax_code": "GST"}
    )
    assert response.status_code == 422
    page = text(response)
    assert "2-40 lower-case letters" in page and "An account code such as 6-1234" in page
    with db(app) as session:
        assert session.execute(select(Category).where(Category.name == "Bad")).first() is None


# --- the approval policy ------------------------------------------------------------------------


def versions(app: Flask) -> int:
    with db(app) as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(ApprovalPolicy)
                .where(ApprovalPolicy.consortium_id == northcoast(session).id)
            ).scalar_one()
        )


def test_the_editor_starts_from_the_published_rules(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    page = text(admin.get("/admin/policy"))
    with db(app) as session:
        live, rules = published_policy(session, northcoast(session).id)
    assert f"Published: version {live.version}" in page
    assert rules_to_text(rules) in page
    for rule in rules:
        assert rule.name in page


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ('[{"name": "x", ', "Not valid JSON at line 1"),
        ("{}", "A list of rules"),
        ('[{"name": "Only", "steps": [{"approvers": ["PM@lead"]}]}]', "needs a fallback rule"),
        (
            '[{"name": "All", "fallback": true, "steps": [{"approvers": ["ADMIN@lead"]}]}]',
            "ADMIN never approves requests.",
        ),
        (
            '[{"name": "All", "fallback": true, "steps": [{"approvers": ["TL@requesting_org"],'
            ' "quorum": "n_of_m"}]}]',
            '"n_of_m" needs "n"',
        ),
        (
            '[{"name": "All", "fallback": true, "steps": [{"approvers": ["TL@requesting_org"]}]},'
            ' {"name": "Big", "above": "lots", "categories": ["nope"], "colour": 1,'
            ' "steps": [{"approvers": ["PM@lead"]}]}]',
            'Rule 2 (Big): unknown key "colour"',
        ),
    ],
)
def test_bad_rules_are_refused_with_the_reason_and_save_nothing(
    login: Any, app: Flask, rules: str, message: str
) -> None:
    admin = login("admin@lead.demo")
    before = versions(app)
    response = admin.post("/admin/policy", {"rules": rules, "then": "publish"})
    assert response.status_code == 422
    page = text(response)
    assert message in page and 'id="e-rules"' in page
    assert rules.strip() in page  # the text comes back to be fixed, not lost
    assert versions(app) == before


def test_a_draft_is_saved_then_published_as_a_new_version(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    with db(app) as session:
        old, rules = published_policy(session, northcoast(session).id)
    name = unique("Travel over $300 ")
    extra = RuleSpec(
        name,
        (StepSpec(("PM@lead",), escalate_to="FIN_MGR@lead"),),
        category_codes=frozenset({"travel"}),
        above_cents=30_000,
    )
    response = admin.post(
        "/admin/policy", {"rules": rules_to_text([*rules, extra]), "then": "draft"}
    )
    assert response.status_code == 302
    draft_url = response.headers["Location"]
    with db(app) as session:
        still, _ = published_policy(session, northcoast(session).id)
        assert still.id == old.id  # a draft changes nothing yet
        draft = session.get_one(ApprovalPolicy, int(draft_url.rstrip("/").rsplit("/", 1)[1]))
        assert (draft.status, draft.version > old.version) == ("draft", True)
    page = text(admin.get(draft_url))
    assert name in page and "Amount above $300.00" in page and "Publish version" in page
    assert '<span class="badge text-bg-warning">draft</span>' in page
    assert admin.post(f"/admin/policy/{draft.id}/publish").status_code == 302
    published_page = text(admin.get(draft_url))
    assert '<span class="badge text-bg-success">published</span>' in published_page
    assert "Publish version" not in published_page
    retired_page = text(admin.get(f"/admin/policy/{old.id}"))
    assert '<span class="badge text-bg-secondary">retired</span>' in retired_page
    with db(app) as session:
        live, live_rules = published_policy(session, northcoast(session).id)
        assert live.id == draft.id and live_rules[-1] == extra
        assert session.get_one(ApprovalPolicy, old.id).status == "retired"
    again = admin.post(f"/admin/policy/{draft.id}/publish")
    assert again.status_code == 409 and "not a draft" in text(again)


def test_save_and_publish_in_one_step(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    with db(app) as session:
        old, rules = published_policy(session, northcoast(session).id)
    response = admin.post("/admin/policy", {"rules": rules_to_text(rules), "then": "publish"})
    assert response.status_code == 302
    with db(app) as session:
        live, live_rules = published_policy(session, northcoast(session).id)
    assert live.version > old.version and live_rules == rules
    assert f"Published: version {live.version}" in text(admin.get("/admin/policy"))


# --- delegations --------------------------------------------------------------------------------


def test_admin_arranges_and_revokes_a_delegation(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    with db(app) as session:
        tl1, tl2 = user_id(session, "tl@ngo1.demo"), user_id(session, "tl@ngo2.demo")
    year = 2090 + uuid.uuid4().int % 9  # far ahead: no demo request is decided then
    day = f"{year}-0{1 + uuid.uuid4().int % 9}-1{uuid.uuid4().int % 9}"
    form = {"from_user_id": str(tl1), "to_user_id": str(tl2), "starts_on": day, "ends_on": day}
    assert admin.post("/admin/delegations", form).status_code == 302
    with db(app) as session:
        delegation = (
            session.execute(
                select(Delegation)
                .where(Delegation.from_user_id == tl1, Delegation.to_user_id == tl2)
                .order_by(Delegation.id.desc())
            )
            .scalars()
            .first()
        )
        assert delegation is not None and delegation.revoked_at is None
    page = text(admin.get("/admin/delegations"))
    assert "Tara Lead" in page and "upcoming" in page
    assert f"/admin/delegations/{delegation.id}/revoke" in page
    assert admin.post(f"/admin/delegations/{delegation.id}/revoke").status_code == 302
    with db(app) as session:
        revoked = session.get_one(Delegation, delegation.id).revoked_at
        assert revoked is not None
    assert admin.post(f"/admin/delegations/{delegation.id}/revoke").status_code == 302
    with db(app) as session:
        assert session.get_one(Delegation, delegation.id).revoked_at == revoked
    assert f"/admin/delegations/{delegation.id}/revoke" not in text(
        admin.get("/admin/delegations?all=1")
    )


def test_a_delegation_that_cannot_be_is_refused_with_its_reason(login: Any, app: Flask) -> None:
    admin = login("admin@lead.demo")
    with db(app) as session:
        tl1, sf1 = user_id(session, "tl@ngo1.demo"), user_id(session, "sf@ngo1.demo")
        before = session.execute(
            select(func.count()).select_from(Delegation).where(Delegation.from_user_id == tl1)
        ).scalar_one()
    to_sf = {"from_user_id": str(tl1), "to_user_id": str(sf1), "starts_on": "2091-01-01"}
    refused = admin.post("/admin/delegations", {**to_sf, "ends_on": "2091-01-02"})
    assert refused.status_code == 403 and "must hold an approving role" in text(refused)
    backwards = admin.post("/admin/delegations", {**to_sf, "ends_on": "2090-12-31"})
    assert backwards.status_code == 422 and "On or after the start." in text(backwards)
    missing = admin.post("/admin/delegations", {"from_user_id": str(tl1)})
    assert missing.status_code == 422 and 'id="e-to_user_id"' in text(missing)
    with db(app) as session:
        assert (
            session.execute(
                select(func.count()).select_from(Delegation).where(Delegation.from_user_id == tl1)
            ).scalar_one()
            == before
        )


def test_admin_pages_carry_labels_and_no_inline_script_or_style(login: Any) -> None:
    admin = login("admin@lead.demo")
    for url in ("/admin/organisations", "/admin/users", "/admin/categories", "/admin/policy"):
        page = admin.get(url).get_data(as_text=True)
        assert "<script>" not in page and "style=" not in page, url
        for field in re.findall(r'<(?:input|select|textarea)[^>]*\bid="(f-[^"]+)"', page):
            assert f'for="{field}"' in page, (url, field)


def test_the_access_table_names_every_admin_and_auditor_endpoint(app: Flask) -> None:
    from tests.web.access_admin_auditor import ACCESS

    mine = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in {"admin", "auditor"}
    }
    assert set(ACCESS) == mine


def test_the_admin_home_lists_every_scheduled_job_with_its_latest_failure(
    app: Flask, login: Any
) -> None:
    at = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    with session_factory(app).begin() as session:
        ours = session.execute(select(Consortium.id).where(Consortium.code == CODE)).scalar_one()
        other = Consortium(code=f"{CODE}X", name="Elsewhere", state="VIC", created_at=at)
        session.add(other)
        session.flush()
        failed = {"status": "failed", "detail": "chain broken at sequence 42"}
        session.add(
            JobRun(
                consortium_id=ours,
                job=VERIFY_JOB,
                key=job_key(CODE, "2026-11-30"),
                started_at=at,
                finished_at=at,
                **failed,
            )
        )
        session.add(
            JobRun(
                consortium_id=other.id,
                job=VERIFY_JOB,
                key=job_key(other.code, "2026-12-01"),
                status="done",
                started_at=at,
                finished_at=at,
            )
        )
    page = login("admin@lead.demo").get("/admin/").get_data(as_text=True)
    for spec in JOBS:
        assert f'id="job-{spec.name}"' in page
    row = page[page.index(f'id="job-{VERIFY_JOB}"') :]
    row = row[: row.index("</tr>")]
    assert "2026-11-30" in row and "failed" in row and "chain broken at sequence 42" in row
