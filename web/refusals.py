"""One way for a page to show a refusal: the form again, its fields marked, nothing written.

A page runs its unit of work through :func:`attempt`; a domain refusal (any
``DomainError``) comes back as a :class:`Refusal` instead of an error page, and
:func:`render_form` draws the form with the messages beside their fields and answers with the
status ``web.errors`` gives that kind of error (docs/architecture.md#errors).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import render_template
from sqlalchemy.orm import Session

from approvals.consortium.actors import Actor
from ledger.errors import DomainError
from web.errors import status_of
from web.forms import FormReader
from web.session import as_actor

T = TypeVar("T")


@dataclass(frozen=True)
class Refusal:
    """Why nothing was written: a message above the form and one beside each field named."""

    message: str
    fields: Mapping[str, str] = field(default_factory=dict)
    status: int = 422


def refusal(error: DomainError) -> Refusal:
    """The refusal a page shows for ``error``; one naming no field is shown beside the form."""
    return Refusal(error.message, dict(error.fields) or {"form": error.message}, status_of(error))


def attempt(work: Callable[[Session, Actor], T], form: FormReader | None = None) -> T | Refusal:
    """Check ``form`` (every bad field at once), then run ``work`` as one unit of work."""
    try:
        if form is not None:
            form.check()
        return as_actor(work)
    except DomainError as error:
        return refusal(error)


def render_form(template: str, refused: Refusal | None, **context: Any) -> tuple[str, int]:
    """The page with its form: blank (200), or with ``refused``'s messages and status."""
    if refused is None:
        return render_template(template, errors={}, message=None, **context), 200
    return render_template(
        template, errors=dict(refused.fields), message=refused.message, **context
    ), refused.status
