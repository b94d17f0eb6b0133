"""Australian Business Numbers: the mod-89 checksum, via python-stdnum.

A valid checksum does not mean the ABN is registered; flexpool says "checksum valid, not looked
up" and never calls out to the register.
"""

from __future__ import annotations

from stdnum.au import abn as stdnum_abn
from stdnum.exceptions import ValidationError

from approvals.errors import InvalidInputError


def normalise_abn(text: str, *, field: str = "abn") -> str:
    """The 11 digits of a valid ABN typed with or without spaces; raises with a reason."""
    if not text or not text.strip():
        raise InvalidInputError("An ABN is required.", fields={field: "An ABN has 11 digits."})
    try:
        return str(stdnum_abn.validate(text))
    except ValidationError as error:
        reason = {
            "InvalidLength": "An ABN has 11 digits.",
            "InvalidFormat": "An ABN has only digits (spaces are fine).",
            "InvalidChecksum": "That ABN fails its checksum; check for a typo.",
        }.get(type(error).__name__, "That is not a valid ABN.")
        raise InvalidInputError(f"{reason} ({text!r})", fields={field: reason}) from error


def display_abn(digits: str) -> str:
    """``51824753556`` → ``51 824 753 556``."""
    return str(stdnum_abn.format(digits))
