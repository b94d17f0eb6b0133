"""Pure rules of the approvals domain: the request state table, money years, GST, ABNs, SLAs."""

from __future__ import annotations

from datetime import date

import pytest

from approvals.abn import display_abn, normalise_abn
from approvals.business_days import add_business_days, business_days_between, is_business_day
from approvals.errors import InvalidInputError, InvalidTransitionError
from approvals.fiscal import financial_year, month_of, parse_financial_year, parse_month
from approvals.gst import GstBasis, charge_to_funds, gst_in_inclusive, plausible_gst
from approvals.lifecycle.states import FINAL_STATES, TRANSITIONS, Action, RequestState, targets

S, A = RequestState, Action
EXPECTED = {
    (S.DRAFT, A.SUBMIT): {S.PENDING},
    (S.DRAFT, A.WITHDRAW): {S.WITHDRAWN},
    (S.PENDING, A.APPROVE): {S.PENDING, S.APPROVED},
    (S.PENDING, A.REQUEST_INFO): {S.INFO_REQUESTED},
    (S.PENDING, A.SEND_BACK): {S.RETURNED},
    (S.PENDING, A.WITHDRAW): {S.WITHDRAWN},
    (S.PENDING, A.REJECT): {S.REJECTED},
    (S.INFO_REQUESTED, A.RESPOND): {S.PENDING},
    (S.INFO_REQUESTED, A.WITHDRAW): {S.WITHDRAWN},
    (S.RETURNED, A.RESUBMIT): {S.PENDING},
    (S.RETURNED, A.WITHDRAW): {S.WITHDRAWN},
    (S.APPROVED, A.CANCEL): {S.CANCELLED},
    (S.APPROVED, A.EXPIRE): {S.EXPIRED},
    (S.APPROVED, A.PAY): {S.PART_PAID, S.PAID},
    (S.PART_PAID, A.PAY): {S.PART_PAID, S.PAID},
    (S.PART_PAID, A.CLOSE): {S.PAID},
}


@pytest.mark.parametrize("state", list(RequestState))
@pytest.mark.parametrize("action", list(Action))
def test_every_state_and_action_is_allowed_or_refused_precisely(
    state: RequestState, action: Action
) -> None:
    expected = EXPECTED.get((state, action))
    if expected is not None:
        assert targets(state, action) == expected
        return
    with pytest.raises(InvalidTransitionError) as raised:
        targets(state, action)
    assert f"is {state.value} cannot be sent to {action.value}" in raised.value.message


def test_final_states_allow_nothing() -> None:
    assert not [key for key in TRANSITIONS if key[0] in FINAL_STATES]
    with pytest.raises(InvalidTransitionError, match="it allows: nothing"):
        targets(S.PAID, A.PAY)


def test_the_state_names_are_the_ones_the_api_shows() -> None:
    assert [s.value for s in RequestState] == [
        "draft", "pending", "info_requested", "returned", "approved", "part_paid",
        "paid", "rejected", "withdrawn", "cancelled", "expired",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2025, 7, 1), "FY2025-26"),
        (date(2026, 6, 30), "FY2025-26"),
        (date(2026, 7, 1), "FY2026-27"),
        (date(2000, 1, 1), "FY1999-00"),
    ],
)
def test_the_financial_year_runs_july_to_june(day: date, label: str) -> None:
    year = financial_year(day)
    assert year.label == label and day in year
    assert parse_financial_year(label) == year


@pytest.mark.parametrize("label", ["FY2025-27", "2025-26", "FY25-26", "", "FY0000-01", "FY9999-00"])
def test_a_bad_financial_year_label_is_refused(label: str) -> None:
    with pytest.raises(InvalidInputError, match="not a financial year"):
        parse_financial_year(label)


def test_months_parse_and_contain_their_days() -> None:
    assert parse_month("2024-02").end == date(2024, 2, 29)
    assert month_of(date(2026, 10, 9)).label == "2026-10"
    for bad in ("2026-13", "2026-1", "Oct 2026", "0000-01", "9999-12"):
        with pytest.raises(InvalidInputError):
            parse_month(bad)


@pytest.mark.parametrize(
    ("inclusive", "gst"), [(8250, 750), (1100, 100), (1000, 91), (5, 0), (6, 1), (0, 0)]
)
def test_gst_is_one_eleventh_rounded_to_the_cent(inclusive: int, gst: int) -> None:
    assert gst_in_inclusive(inclusive) == gst


def test_funds_are_charged_ex_gst_only_when_credits_are_claimed() -> None:
    assert charge_to_funds(8800, 800, GstBasis.CLAIMS_CREDITS) == 8000
    assert charge_to_funds(8800, 800, GstBasis.NO_CREDITS) == 8800


@pytest.mark.parametrize(
    ("inclusive", "gst", "registered", "problem"),
    [
        (8800, 800, True, None),
        (8800, 0, True, None),
        (8800, 801, True, None),
        (8800, 900, True, "one eleventh"),
        (8800, 800, False, "not registered"),
        (8800, 8800, True, "less than"),
    ],
)
def test_stated_gst_is_checked_not_recomputed(
    inclusive: int, gst: int, registered: bool, problem: str | None
) -> None:
    found = plausible_gst(inclusive, gst, registered=registered)
    assert (found is None) if problem is None else (problem in str(found))


@pytest.mark.parametrize("text", ["51 824 753 556", "51824753556", "53 004 085 616"])
def test_valid_abns_pass_the_mod_89_checksum(text: str) -> None:
    digits = normalise_abn(text)
    assert len(digits) == 11 and display_abn(digits).replace(" ", "") == digits


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("51 824 753 557", "checksum"),
        ("5182475355", "11 digits"),
        ("5182475355A", "only digits"),
        ("", "required"),
    ],
)
def test_invalid_abns_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason) as raised:
        normalise_abn(text)
    assert "abn" in raised.value.fields


def test_business_days_skip_weekends_and_the_states_holidays() -> None:
    assert not is_business_day(date(2026, 10, 5), "NSW")  # Labour Day in NSW
    assert is_business_day(date(2026, 10, 5), "WA")
    assert add_business_days(date(2026, 10, 2), 1, "NSW") == date(2026, 10, 6)  # Fri -> Tue
    assert add_business_days(date(2026, 12, 24), 2, "NSW") == date(2026, 12, 30)
    assert business_days_between(date(2026, 10, 2), date(2026, 10, 9), "NSW") == 4
    assert business_days_between(date(2026, 10, 9), date(2026, 10, 2), "NSW") == 0
