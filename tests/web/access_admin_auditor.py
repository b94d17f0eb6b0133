"""Who may use each page of the admin and auditor areas (everyone else gets 403 or 404).

URL parameters are named ``user_id``, ``category_id``, ``policy_id``, ``delegation_id`` (ints)
and ``account`` (a ledger account code such as ``pool``), so a central matrix can fill them.
"""

from __future__ import annotations

ADMINS = {"admin@lead.demo"}
AUDITORS = {"auditor@lead.demo", "finmgr@lead.demo"}

ADMIN_ENDPOINTS = (
    "admin.home",
    "admin.organisations",
    "admin.add_organisation",
    "admin.users",
    "admin.add_user",
    "admin.user",
    "admin.add_role",
    "admin.user_active",
    "admin.categories",
    "admin.new_category",
    "admin.category_active",
    "admin.policies",
    "admin.save_policy",
    "admin.policy",
    "admin.publish_policy",
    "admin.delegations",
    "admin.add_delegation",
    "admin.revoke_delegation",
)
AUDITOR_ENDPOINTS = (
    "auditor.home",
    "auditor.ledger",
    "auditor.account",
    "auditor.ledger_verify",
    "auditor.audit_log",
    "auditor.audit_verify",
)

ACCESS: dict[str, set[str]] = {
    **{endpoint: set(ADMINS) for endpoint in ADMIN_ENDPOINTS},
    **{endpoint: set(AUDITORS) for endpoint in AUDITOR_ENDPOINTS},
}
