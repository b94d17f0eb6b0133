"""One base for every refusal the domain makes, one code per kind of refusal."""

from __future__ import annotations

import inspect
from types import ModuleType

from flask import Flask

from approvals import errors as approval_errors
from approvals import idempotency
from ledger import errors as ledger_errors
from ledger.errors import DomainError, IdempotencyConflictError
from reports.accounting import rows as accounting_rows
from reports.bank import statement_csv as bank_csv
from web import errors as web_errors

MODULES: tuple[ModuleType, ...] = (
    ledger_errors,
    approval_errors,
    idempotency,
    accounting_rows,
    bank_csv,
)


def _refusals() -> set[type[Exception]]:
    found: set[type[Exception]] = set()
    for module in MODULES:
        for _, value in inspect.getmembers(module, inspect.isclass):
            home = value.__module__.split(".")[0]
            if issubclass(value, Exception) and home in ("ledger", "approvals", "reports"):
                found.add(value)
    return found


def test_every_refusal_of_the_domain_is_a_domain_error() -> None:
    assert {error.__name__ for error in _refusals() if not issubclass(error, DomainError)} == set()


def test_each_api_code_names_one_error_class() -> None:
    by_code: dict[str, set[str]] = {}
    for error in _refusals():
        by_code.setdefault(error.code, set()).add(f"{error.__module__}.{error.__qualname__}")  # type: ignore[attr-defined]
    shared = {code: names for code, names in by_code.items() if len(names) > 1}
    assert shared == {}


def test_a_reused_idempotency_key_is_the_same_error_in_the_api_and_the_ledger() -> None:
    assert idempotency.IdempotencyConflictError is IdempotencyConflictError  # type: ignore[attr-defined]
    assert IdempotencyConflictError.code == "idempotency_key_reused"
    assert idempotency.IdempotencyInProgressError.code == "idempotency_in_progress"


def test_the_web_layer_answers_any_domain_error_through_one_handler() -> None:
    class Refused(DomainError):
        code = "refused_here"
        kind = "refused"

    app = Flask(__name__)
    web_errors.init_app(app)

    @app.get("/api/refuse")
    def refuse() -> str:
        raise Refused("No.", fields={"who": "Not you."})

    answer = app.test_client().get("/api/refuse")
    assert answer.status_code == 403
    assert answer.get_json() == {
        "error": "refused_here",
        "message": "No.",
        "fields": {"who": "Not you."},
    }
