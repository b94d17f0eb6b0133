"""The admin area: organisations, users and roles, categories, the approval policy, delegations.

Lead-agency ADMIN only; every route checks the role itself and reads only its own consortium.
Writes go through the approvals services in one transaction each; a refused form comes back
with the message next to its field and nothing written.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

# The areas register their routes on the blueprint above when imported.
from web.pages.admin import (  # noqa: E402
    categories,
    delegations,
    home,
    organisations,
    policies,
    users,
)

__all__ = ["blueprint", "categories", "delegations", "home", "organisations", "policies", "users"]
