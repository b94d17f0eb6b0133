"""What can go wrong in approvals, in the words of the person who hit it.

Under the same base as ``ledger.errors`` (``DomainError``): a stable ``code``, a ``kind`` that
``web/errors.py`` maps to HTTP (``invalid`` 422, ``conflict`` 409, ``refused`` 403, ``not_found``
404), a message and field errors.
"""

from __future__ import annotations

from ledger.errors import DomainError


class ApprovalError(DomainError):
    code = "approval_error"
    kind = "conflict"


class InvalidInputError(ApprovalError, ValueError):
    """Bad input; ``fields`` names each offending field with its own message."""

    code = "invalid_input"
    kind = "invalid"


class NotFoundError(ApprovalError):
    code = "not_found"
    kind = "not_found"


class NotAllowedError(ApprovalError):
    """The actor may not do this (role, scope or segregation of duties)."""

    code = "not_allowed"
    kind = "refused"


class InvalidTransitionError(ApprovalError):
    code = "invalid_transition"
    kind = "conflict"


class ConflictError(ApprovalError):
    """What was asked for does not fit the thing's state (an export that never finished)."""

    code = "conflict"
    kind = "conflict"


class DuplicateError(ApprovalError):
    code = "duplicate"
    kind = "conflict"


class CapExceededError(ApprovalError):
    code = "cap_exceeded"
    kind = "conflict"
