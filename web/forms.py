"""Reading form fields into typed values, collecting one message per bad field.

Views read everything first, then either call a service or re-render the form with the
messages next to their fields; nothing is written while any field is wrong. CSRF is checked
for every POST by Flask-WTF before a view runs.
"""

from __future__ import annotations

from datetime import date

from werkzeug.datastructures import MultiDict

from approvals.errors import InvalidInputError
from ledger.dates import parse_day
from ledger.errors import InvalidAmountError
from ledger.money import parse_cents

MAX_TEXT = 5_000


class FormReader:
    def __init__(self, form: MultiDict[str, str]) -> None:
        self.form = form
        self.errors: dict[str, str] = {}

    def raw(self, name: str) -> str:
        return (self.form.get(name) or "").strip()

    def text(self, name: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
        value = self.raw(name)
        if required and not value:
            self.errors[name] = "Required."
        elif len(value) > limit:
            self.errors[name] = f"At most {limit} characters."
        return value

    def optional_text(self, name: str, *, limit: int = MAX_TEXT) -> str | None:
        return self.text(name, required=False, limit=limit) or None

    def money(self, name: str, *, allow_zero: bool = False, required: bool = True) -> int:
        value = self.raw(name)
        if not value and not required:
            return 0
        try:
            return parse_cents(value, allow_zero=allow_zero, field="The amount")
        except (InvalidAmountError, ValueError) as error:
            self.errors[name] = str(error)
            return 0

    def identifier(self, name: str, *, required: bool = True) -> int | None:
        value = self.raw(name)
        if not value and not required:
            return None
        if not value.isascii() or not value.isdigit() or len(value) > 18:
            self.errors[name] = "Choose one from the list."
            return None
        return int(value)

    def day(self, name: str, *, required: bool = True) -> date | None:
        value = self.raw(name)
        if not value and not required:
            return None
        try:
            return parse_day(value)
        except ValueError:
            self.errors[name] = "A date like 2026-07-31."
            return None

    def flag(self, name: str) -> bool:
        return self.raw(name) in {"1", "on", "yes", "true"}

    def choice(self, name: str, choices: set[str] | list[str]) -> str:
        value = self.raw(name)
        if value not in choices:
            self.errors[name] = "Choose one from the list."
        return value

    def check(self) -> None:
        """Raise one error naming every bad field, before anything is written."""
        if self.errors:
            raise InvalidInputError(
                "Some fields need attention: " + ", ".join(sorted(self.errors)) + ".",
                fields=dict(self.errors),
            )
