"""Importing statements over the demo's real payments, and matching them: automatically only
when there is no doubt, by hand by someone who did not pay, never the same payment twice.

Each test runs inside one transaction on the demo database that is rolled back at the end, so
the shared PostgreSQL demo stays as it was loaded.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor, load_actor
from approvals.errors import (
    ConflictError,
    DuplicateError,
    InvalidInputError,
    NotAllowedError,
)
from approvals.lifecycle.payments import PaymentInput
from approvals.lifecycle.states import Action
from approvals.lifecycle.transitions import transition
from approvals.models import AuditEvent, Consortium, FundRequest, Payment, Refund, User
from demo.base import CODE
from ledger import close_period
from ledger.db import make_engine
from ledger.models import transfers
from ledger.money import cents_to_decimal_text
from ledger.values import TransferKind
from reports.bank.match import MATCH_WINDOW_DAYS, candidates_for, lines_for_period
from reports.bank.review import (
    explain_line,
    match_line,
    open_lines,
    rematch_open_lines,
    unmatch_line,
)
from reports.bank.statement_csv import StatementRefusedError
from reports.bank.statement_import import (
    ImportResult,
    cli_importer,
    finance_importer,
    import_statement,
)
from reports.bank.targets import TargetKind
from reports.models import BankLine, BankStatement, LineStatus
from tests.support.clock import CLOCK

NOW = CLOCK.now()
TODAY = NOW.astimezone(ZoneInfo("Australia/Sydney")).date()
HEADER = "*Date,*Amount,Payee,Description,Reference"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    if request.param == "postgresql":
        url = str(request.getfixturevalue("demo_postgres"))
    else:
        shutil.copy(request.getfixturevalue("demo_sqlite"), tmp_path / "demo.db")
        url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = make_engine(url)
    connection = engine.connect()
    outer = connection.begin()
    opened = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield opened
    finally:
        opened.close()
        outer.rollback()
        connection.close()
        engine.dispose()


def person(session: Session, email: str) -> Actor:
    user_id = session.execute(select(User.id).where(User.email == email)).scalar_one()
    consortium = session.execute(select(Consortium.id).where(Consortium.code == CODE)).scalar_one()
    return load_actor(session, user_id=user_id, consortium_id=consortium, today=TODAY)


def statement(*rows: tuple[date, int, str]) -> bytes:
    """A Xero statement: (date, signed cents, reference) per line."""
    lines = [HEADER] + [
        f"{on:%d/%m/%Y},{cents_to_decimal_text(cents)},Payee,,{reference}"
        for on, cents, reference in rows
    ]
    return ("\n".join(lines) + "\n").encode()


def imported(session: Session, data: bytes, who: str | None = "finmgr@lead.demo") -> ImportResult:
    importer = (
        cli_importer(session, CODE, "ops")
        if who is None
        else finance_importer(person(session, who))
    )
    return import_statement(session, importer, file_name="nov.csv", data=data, now=NOW)


def lines_of(session: Session, done: ImportResult) -> list[BankLine]:
    query = select(BankLine).where(BankLine.statement_id == done.statement_id)
    return list(session.execute(query.order_by(BankLine.line_number)).scalars())


def lonely_payment(session: Session) -> Payment:
    """The latest demo payment whose amount no other payment shares near its date."""
    reach = timedelta(days=MATCH_WINDOW_DAYS * 2)
    for payment in session.execute(
        select(Payment).order_by(Payment.paid_on.desc(), Payment.id.desc())
    ).scalars():
        twins = session.scalar(
            select(func.count()).where(
                Payment.inc_gst_cents == payment.inc_gst_cents,
                Payment.id != payment.id,
                Payment.paid_on.between(payment.paid_on - reach, payment.paid_on + reach),
            )
        )
        if not twins:
            return payment
    raise AssertionError("the demo has no payment with an amount of its own")


def twin_payments(session: Session) -> tuple[Payment, Payment]:
    """Two part payments of one approved request, same amount, same day, two invoices."""
    amount = 1_111
    while session.scalar(select(func.count()).where(Payment.inc_gst_cents == amount)):
        amount += 1
    request = (
        session.execute(
            select(FundRequest)
            .where(FundRequest.state == "approved", FundRequest.approved_cents >= 3 * amount)
            .order_by(FundRequest.id)
        )
        .scalars()
        .first()
    )
    assert request is not None
    fin = person(session, "fin@lead.demo")
    for invoice in ("TWIN-1", "TWIN-2"):
        paying = PaymentInput(invoice, amount, 0, TODAY)
        transition(session, fin, request.id, Action.PAY, now=NOW, payment=paying)
    found = session.execute(
        select(Payment).where(Payment.request_id == request.id).order_by(Payment.invoice_number)
    ).scalars()
    first, second = list(found)
    return first, second


def counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(BankStatement)) or 0,
        session.scalar(select(func.count()).select_from(BankLine)) or 0,
        session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
    )


# -- importing -------------------------------------------------------------------------------


def test_a_bank_file_with_bad_lines_is_refused_whole_and_nothing_is_written(
    session: Session,
) -> None:
    good = [(p.paid_on, -p.inc_gst_cents, p.invoice_number) for p in _latest_payments(session)]
    text = statement(*good).decode().splitlines()
    text.insert(2, "31/02/2026,-10.00,Payee,,")  # becomes line 3
    text.append("01/11/2026,-12.505,Payee,,")  # the last line
    before = counts(session)
    with pytest.raises(StatementRefusedError) as refused:
        imported(session, ("\n".join(text) + "\n").encode())
    assert [f.line_number for f in refused.value.findings] == [3, len(text)]
    assert counts(session) == before


def _latest_payments(session: Session) -> list[Payment]:
    query = select(Payment).order_by(Payment.paid_on.desc(), Payment.id.desc()).limit(4)
    return list(session.execute(query).scalars())


def test_the_same_file_is_imported_once(session: Session) -> None:
    payment = lonely_payment(session)
    data = statement((payment.paid_on, -payment.inc_gst_cents, ""))
    imported(session, data)
    before = counts(session)
    with pytest.raises(DuplicateError, match="already imported"):
        imported(session, data, who=None)
    assert counts(session) == before


# -- automatic matching ------------------------------------------------------------------------


def test_a_payment_is_matched_by_amount_within_the_date_window(session: Session) -> None:
    payment = lonely_payment(session)
    cleared = payment.paid_on + timedelta(days=2)  # banks clear a few days later
    late = payment.paid_on + timedelta(days=MATCH_WINDOW_DAYS + 1)
    done = imported(session, statement((cleared, -payment.inc_gst_cents, "")))
    (line,) = lines_of(session, done)
    assert (done.matched, line.status, line.payment_id) == (1, "matched", payment.id)
    assert line.resolved_by == "auto"
    unmatch_line(session, person(session, "finmgr@lead.demo"), line.id, now=NOW)
    too_late = imported(session, statement((late, -payment.inc_gst_cents, "")))
    assert too_late.matched == 0


def test_a_quoted_request_number_or_invoice_ranks_a_candidate_first(session: Session) -> None:
    payment = lonely_payment(session)
    number = session.get_one(FundRequest, payment.request_id).number
    done = imported(
        session,
        statement(
            (payment.paid_on, -payment.inc_gst_cents, f"Pay R-{number:04d} thanks"),
            (payment.paid_on, -payment.inc_gst_cents - 1, payment.invoice_number),
        ),
    )
    quoted, wrong_amount = lines_of(session, done)
    assert quoted.payment_id == payment.id and wrong_amount.status == "unmatched"
    assert done.matched == 1


@pytest.mark.calendar
@pytest.mark.parametrize(("reference", "winner"), [("TWIN-2", 1), ("inv TWIN-1.", 0), ("", None)])
def test_two_payments_of_one_amount_are_told_apart_only_by_the_reference(
    session: Session, reference: str, winner: int | None
) -> None:
    twins = twin_payments(session)
    done = imported(session, statement((TODAY, -twins[0].inc_gst_cents, reference)))
    (line,) = lines_of(session, done)
    if winner is None:
        assert line.status == "unmatched"
        found = candidates_for(session, line.consortium_id, [line])[line.id]
        assert sorted(c.target.id for c in found) == sorted(p.id for p in twins)
    else:
        assert line.payment_id == twins[winner].id


def test_two_lines_wanting_the_one_payment_are_both_left_for_a_person(session: Session) -> None:
    payment = lonely_payment(session)
    row = (payment.paid_on, -payment.inc_gst_cents, "")
    done = imported(session, statement(row, row))
    assert done.matched == 0 and done.unmatched == 2


def test_money_in_matches_a_supplier_refund_and_a_grant(session: Session) -> None:
    refund = session.execute(select(Refund).order_by(Refund.id)).scalars().first()
    grant = session.execute(
        select(transfers).where(transfers.c.kind == TransferKind.GRANT_RECEIPT.value)
    ).first()
    assert refund is not None and grant is not None
    done = imported(
        session,
        statement(
            (refund.received_on + timedelta(days=1), refund.amount_cents, refund.reference[-6:]),
            (grant.effective_date, grant.amount, "Funder"),
        ),
    )
    refunded, granted = lines_of(session, done)
    assert refunded.refund_id == refund.id and granted.transaction_id == grant.transaction_id


def test_the_payer_s_own_import_leaves_their_payments_for_someone_else(session: Session) -> None:
    payment = lonely_payment(session)
    payer = session.get_one(User, payment.recorded_by_id).email
    done = imported(session, statement((payment.paid_on, -payment.inc_gst_cents, "")), payer)
    assert done.matched == 0


# -- by hand -----------------------------------------------------------------------------------


def test_the_payer_cannot_match_their_own_payment_by_hand(session: Session) -> None:
    payment = lonely_payment(session)
    payer = person(session, session.get_one(User, payment.recorded_by_id).email)
    other = person(session, "finmgr@lead.demo")
    assert other.user_id != payer.user_id
    done = imported(session, statement((payment.paid_on, -payment.inc_gst_cents, "")), None)
    (line,) = lines_of(session, done)
    unmatch_line(session, other, line.id, now=NOW)
    with pytest.raises(NotAllowedError, match="segregation of duties"):
        match_line(session, payer, line.id, TargetKind.PAYMENT, payment.id, now=NOW)
    match_line(session, other, line.id, TargetKind.PAYMENT, payment.id, now=NOW)
    assert (line.status, line.payment_id, line.resolved_by) == ("matched", payment.id, other.label)
    assert _audited(session, "bank.matched", line.id) == 1


def test_a_payment_is_never_matched_to_two_lines(session: Session) -> None:
    payment = lonely_payment(session)
    done = imported(
        session,
        statement(
            (payment.paid_on, -payment.inc_gst_cents, payment.invoice_number),
            (payment.paid_on, -payment.inc_gst_cents, "another"),
        ),
    )
    first, second = lines_of(session, done)
    assert first.payment_id == payment.id and second.status == "unmatched"
    finmgr = person(session, "finmgr@lead.demo")
    with pytest.raises(ConflictError, match="already matched"):
        match_line(session, finmgr, second.id, TargetKind.PAYMENT, payment.id, now=NOW)
    twin = BankLine(
        statement_id=first.statement_id,
        consortium_id=first.consortium_id,
        line_number=99,
        on=first.on,
        amount_cents=first.amount_cents,
        payee="",
        description="",
        reference="",
        status=LineStatus.MATCHED.value,
        payment_id=payment.id,
    )
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(twin)
        session.flush()


def test_a_match_by_hand_must_have_the_line_s_amount(session: Session) -> None:
    payment = lonely_payment(session)
    done = imported(session, statement((payment.paid_on, 1 - payment.inc_gst_cents, "")))
    (line,) = lines_of(session, done)
    with pytest.raises(InvalidInputError, match="amounts must be equal"):
        match_line(
            session,
            person(session, "finmgr@lead.demo"),
            line.id,
            TargetKind.PAYMENT,
            payment.id,
            now=NOW,
        )
    assert line.status == "unmatched"


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_an_explanation_needs_a_reason(session: Session, reason: str) -> None:
    done = imported(session, statement((TODAY, -1_999_999, "")))
    (line,) = lines_of(session, done)
    finmgr = person(session, "finmgr@lead.demo")
    with pytest.raises(InvalidInputError, match="needs no match"):
        explain_line(session, finmgr, line.id, reason, now=NOW)
    assert line.status == "unmatched"
    explain_line(session, finmgr, line.id, "Monthly account fee", now=NOW)
    assert (line.status, line.explanation) == ("explained", "Monthly account fee")
    assert _audited(session, "bank.explained", line.id) == 1


@pytest.mark.parametrize("who", ["pm@lead.demo", "auditor@lead.demo", "sf@ngo1.demo"])
def test_only_finance_imports_and_resolves_lines(session: Session, who: str) -> None:
    done = imported(session, statement((TODAY, -1_999_999, "")), None)
    (line,) = lines_of(session, done)
    someone = person(session, who)
    with pytest.raises(NotAllowedError):
        finance_importer(someone)
    with pytest.raises(NotAllowedError):
        explain_line(session, someone, line.id, "fee", now=NOW)
    with pytest.raises(NotAllowedError):
        unmatch_line(session, someone, line.id, now=NOW)


def test_a_line_of_a_closed_month_keeps_its_resolution(session: Session) -> None:
    closed = TODAY.replace(day=1) - timedelta(days=1)
    done = imported(session, statement((closed, -1_999_999, "")))
    (line,) = lines_of(session, done)
    finmgr = person(session, "finmgr@lead.demo")
    explain_line(session, finmgr, line.id, "Transfer to the operating account", now=NOW)
    close_period(session, book=CODE, through=closed, actor=finmgr.label, now=NOW, today=TODAY)
    with pytest.raises(ConflictError, match="closed"):
        unmatch_line(session, finmgr, line.id, now=NOW)


def test_unmatching_reopens_the_line_and_the_trail_keeps_what_it_was(session: Session) -> None:
    payment = lonely_payment(session)
    done = imported(session, statement((payment.paid_on, -payment.inc_gst_cents, "")))
    (line,) = lines_of(session, done)
    unmatch_line(session, person(session, "finmgr@lead.demo"), line.id, now=NOW)
    assert (line.status, line.payment_id, line.resolved_by) == ("unmatched", None, None)
    event = session.execute(
        select(AuditEvent).where(
            AuditEvent.action == "bank.unmatched", AuditEvent.subject_id == line.id
        )
    ).scalar_one()
    assert event.details["payment_id"] == payment.id and event.details["was"] == "matched"
    (waiting,) = open_lines(session, line.consortium_id, limit=10)
    assert [c.target.id for c in waiting.candidates] == [payment.id]


def test_a_period_lists_its_lines_with_what_they_matched(session: Session) -> None:
    payment = lonely_payment(session)
    imported(
        session,
        statement(
            (payment.paid_on, -payment.inc_gst_cents, ""),
            (payment.paid_on, -1_999_999, ""),
        ),
    )
    start = payment.paid_on - timedelta(days=1)
    views = lines_for_period(session, consortium_id(session), start, payment.paid_on)
    assert [(v.line.status, v.matched and v.matched.id) for v in views] == [
        ("matched", payment.id),
        ("unmatched", None),
    ]
    assert views[0].matched is not None and payment.invoice_number in views[0].matched.label


def consortium_id(session: Session) -> int:
    return session.execute(select(Consortium.id).where(Consortium.code == CODE)).scalar_one()


def _audited(session: Session, action: str, line_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                AuditEvent.action == action,
                AuditEvent.subject_type == "bank_line",
                AuditEvent.subject_id == line_id,
            )
        )
        or 0
    )


def test_matching_again_finds_what_the_payer_s_import_left_for_someone_else(
    session: Session,
) -> None:
    payment = lonely_payment(session)
    done = imported(
        session, statement((payment.paid_on, -payment.inc_gst_cents, "")), "fin@lead.demo"
    )
    (line,) = lines_of(session, done)
    assert line.status == LineStatus.UNMATCHED.value  # fin recorded it: left for someone else
    assert rematch_open_lines(session, person(session, "fin@lead.demo"), now=NOW) == []
    matched = rematch_open_lines(session, person(session, "finmgr@lead.demo"), now=NOW)
    assert [m.id for m in matched] == [line.id] and line.payment_id == payment.id
    assert line.resolved_by == "auto" and _audited(session, "bank.matched", line.id) == 1
    assert rematch_open_lines(session, person(session, "finmgr@lead.demo"), now=NOW) == []
    with pytest.raises(NotAllowedError):
        rematch_open_lines(session, person(session, "pm@lead.demo"), now=NOW)
