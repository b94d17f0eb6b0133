"""The admin area: organisations, users and roles, categories, the approval policy, delegations.

Lead-agency ADMIN only; every route checks the role itself and reads only its own consortium.
Writes go through the approvals services in one transaction each; a refused form comes back
with the message next to its field and nothing written.
"""

from __future__ import annotations

# The areas register their routes on the blueprint when imported.
from web.pages.admin import (
    categories,
    delegations,
    home,
    organisations,
    policies,
    users,
)
from web.pages.admin.blueprint import blueprint

__all__ = ["blueprint", "categories", "delegations", "home", "organisations", "policies", "users"]
