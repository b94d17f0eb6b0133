"""One helper turns a domain refusal into a form with its fields marked."""

from __future__ import annotations

from approvals.errors import InvalidInputError, NotAllowedError
from ledger.errors import InsufficientFundsError
from web.errors import status_of
from web.refusals import Refusal, refusal


def test_a_refusal_keeps_its_fields_and_asks_web_errors_for_the_status() -> None:
    error = InvalidInputError("Fix it.", fields={"amount": "More than $0.00."})
    assert refusal(error) == Refusal("Fix it.", {"amount": "More than $0.00."}, status_of(error))


def test_a_refusal_naming_no_field_is_shown_beside_the_form() -> None:
    error = NotAllowedError("Not yours.")
    assert refusal(error) == Refusal("Not yours.", {"form": "Not yours."}, 403)


def test_ledger_refusals_are_shown_the_same_way() -> None:
    error = InsufficientFundsError("pool", 100, 500)
    assert refusal(error).status == status_of(error) == 409
    assert refusal(error).fields == {"form": error.message}
