"""Approvals: consortia, organisations, people, clients, categories, suppliers, policies,
fund requests with their chains, decisions, payments, attachments, audit trail and inbox.

Written by hand on top of autogenerate: the case-insensitive e-mail index (autogenerate does not
see functional indexes) and the append-only triggers on decisions and audit events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consortia",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=3), nullable=False),
        sa.Column(
            "timezone", sa.String(length=64), server_default="Australia/Sydney", nullable=False
        ),
        sa.Column(
            "gst_basis", sa.String(length=20), server_default="claims_credits", nullable=False
        ),
        sa.Column("client_fy_cap_cents", sa.Integer(), server_default="500000", nullable=False),
        sa.Column("cap_mode", sa.String(length=4), server_default="stop", nullable=False),
        sa.Column("approval_expiry_days", sa.Integer(), server_default="30", nullable=False),
        sa.Column("needed_by_grace_days", sa.Integer(), server_default="14", nullable=False),
        sa.Column(
            "payment_tolerance_basis_points", sa.Integer(), server_default="500", nullable=False
        ),
        sa.Column(
            "payment_tolerance_min_cents", sa.Integer(), server_default="2000", nullable=False
        ),
        sa.Column("duplicate_window_days", sa.Integer(), server_default="14", nullable=False),
        sa.Column("draft_archive_days", sa.Integer(), server_default="90", nullable=False),
        sa.Column("created_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cap_mode IN ('stop','warn')", name=op.f("ck_consortia_cap_mode_known")),
        sa.CheckConstraint(
            "gst_basis IN ('claims_credits','no_credits')",
            name=op.f("ck_consortia_gst_basis_known"),
        ),
        sa.CheckConstraint(
            "state IN ('ACT','NSW','NT','QLD','SA','TAS','VIC','WA')",
            name=op.f("ck_consortia_state_known"),
        ),
        sa.CheckConstraint(
            "client_fy_cap_cents > 0 AND approval_expiry_days > 0 AND needed_by_grace_days >= 0 AND payment_tolerance_basis_points >= 0 AND payment_tolerance_min_cents >= 0 AND duplicate_window_days >= 0 AND draft_archive_days > 0",
            name=op.f("ck_consortia_settings_sane"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consortia")),
        sa.UniqueConstraint("code", name=op.f("uq_consortia_code")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
    op.create_table(
        "approval_policies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "published_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("published_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft','published','retired')",
            name=op.f("ck_approval_policies_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["consortium_id"],
            ["consortia.id"],
            name=op.f("fk_approval_policies_consortium_id_consortia"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_approval_policies_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["users.id"],
            name=op.f("fk_approval_policies_published_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_policies")),
        sa.UniqueConstraint(
            "consortium_id", "version", name=op.f("uq_approval_policies_consortium_id_version")
        ),
    )
    with op.batch_alter_table("approval_policies", schema=None) as batch_op:
        batch_op.create_index(
            "uq_approval_policies_published",
            ["consortium_id"],
            unique=True,
            postgresql_where=sa.text("status = 'published'"),
            sqlite_where=sa.text("status = 'published'"),
        )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["consortium_id"],
            ["consortia.id"],
            name=op.f("fk_audit_events_consortium_id_consortia"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint(
            "consortium_id", "sequence", name=op.f("uq_audit_events_consortium_id_sequence")
        ),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_events_subject", ["subject_type", "subject_id"], unique=False
        )

    op.create_table(
        "audit_heads",
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["consortium_id"], ["consortia.id"], name=op.f("fk_audit_heads_consortium_id_consortia")
        ),
        sa.PrimaryKeyConstraint("consortium_id", name=op.f("pk_audit_heads")),
    )
    op.create_table(
        "categories",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("gl_code", sa.String(length=20), nullable=False),
        sa.Column("tax_code", sa.String(length=40), nullable=False),
        sa.Column("client_fy_cap_cents", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.CheckConstraint(
            "client_fy_cap_cents IS NULL OR client_fy_cap_cents > 0",
            name=op.f("ck_categories_cap_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["consortium_id"], ["consortia.id"], name=op.f("fk_categories_consortium_id_consortia")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("consortium_id", "code", name=op.f("uq_categories_consortium_id_code")),
    )
    op.create_table(
        "delegations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "from_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "to_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_delegations_dates_ordered")),
        sa.CheckConstraint("from_user_id <> to_user_id", name=op.f("ck_delegations_not_self")),
        sa.ForeignKeyConstraint(
            ["consortium_id"], ["consortia.id"], name=op.f("fk_delegations_consortium_id_consortia")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_delegations_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["from_user_id"], ["users.id"], name=op.f("fk_delegations_from_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["to_user_id"], ["users.id"], name=op.f("fk_delegations_to_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
    )
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delegations_from_user_id"), ["from_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_delegations_to_user_id"), ["to_user_id"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("abn", sa.String(length=11), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('lead','partner')", name=op.f("ck_organisations_kind_known")),
        sa.CheckConstraint(
            "abn IS NULL OR length(abn) = 11", name=op.f("ck_organisations_abn_digits")
        ),
        sa.ForeignKeyConstraint(
            ["consortium_id"],
            ["consortia.id"],
            name=op.f("fk_organisations_consortium_id_consortia"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint(
            "consortium_id", "code", name=op.f("uq_organisations_consortium_id_code")
        ),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(
            "uq_organisations_one_lead",
            ["consortium_id"],
            unique=True,
            postgresql_where=sa.text("kind = 'lead'"),
            sqlite_where=sa.text("kind = 'lead'"),
        )

    op.create_table(
        "suppliers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("abn", sa.String(length=11), nullable=True),
        sa.Column("gst_registered", sa.Boolean(), nullable=False),
        sa.Column("bsb", sa.String(length=6), nullable=True),
        sa.Column("account_number", sa.String(length=10), nullable=True),
        sa.Column(
            "changed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("changed_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "verified_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("verified_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(verified_by_id IS NULL) = (verified_at IS NULL)",
            name=op.f("ck_suppliers_verified_together"),
        ),
        sa.CheckConstraint("abn IS NULL OR length(abn) = 11", name=op.f("ck_suppliers_abn_digits")),
        sa.CheckConstraint(
            "verified_by_id IS NULL OR verified_by_id <> changed_by_id",
            name=op.f("ck_suppliers_second_person_verifies"),
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"], ["users.id"], name=op.f("fk_suppliers_changed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["consortium_id"], ["consortia.id"], name=op.f("fk_suppliers_consortium_id_consortia")
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"], ["users.id"], name=op.f("fk_suppliers_verified_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
    )
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suppliers_consortium_id"), ["consortium_id"], unique=False
        )

    op.create_table(
        "clients",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("initials", sa.String(length=3), nullable=False),
        sa.Column(
            "organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "support_facilitator_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('referred','active','inactive','exited')",
            name=op.f("ck_clients_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["consortium_id"], ["consortia.id"], name=op.f("fk_clients_consortium_id_consortia")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_clients_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["support_facilitator_id"],
            ["users.id"],
            name=op.f("fk_clients_support_facilitator_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("consortium_id", "code", name=op.f("uq_clients_consortium_id_code")),
    )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clients_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_clients_support_facilitator_id"),
            ["support_facilitator_id"],
            unique=False,
        )

    op.create_table(
        "memberships",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "role IN ('SF','TL','PM','FIN','FIN_MGR','CEO','ADMIN','AUDITOR')",
            name=op.f("ck_memberships_role_known"),
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_memberships_dates_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_memberships_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint(
            "user_id",
            "organisation_id",
            "role",
            "valid_from",
            name=op.f("uq_memberships_user_id_organisation_id_role_valid_from"),
        ),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_memberships_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_memberships_user_id"), ["user_id"], unique=False)

    op.create_table(
        "policy_rules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "policy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("is_fallback", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("organisation_codes", sa.JSON(), nullable=True),
        sa.Column("category_codes", sa.JSON(), nullable=True),
        sa.Column("min_cents", sa.BigInteger(), nullable=True),
        sa.Column("max_cents", sa.BigInteger(), nullable=True),
        sa.Column("client_fy_total_above_cents", sa.BigInteger(), nullable=True),
        sa.Column("supplier_unverified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint(
            "min_cents IS NULL OR max_cents IS NULL OR min_cents <= max_cents",
            name=op.f("ck_policy_rules_band_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["approval_policies.id"],
            name=op.f("fk_policy_rules_policy_id_approval_policies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_rules")),
        sa.UniqueConstraint(
            "policy_id", "position", name=op.f("uq_policy_rules_policy_id_position")
        ),
    )
    with op.batch_alter_table("policy_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_rules_policy_id"), ["policy_id"], unique=False)

    op.create_table(
        "client_status_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "client_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("from_status", sa.String(length=10), nullable=True),
        sa.Column("to_status", sa.String(length=10), nullable=False),
        sa.Column(
            "changed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("changed_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "to_status IN ('referred','active','inactive','exited')",
            name=op.f("ck_client_status_changes_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_client_status_changes_changed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_client_status_changes_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_status_changes")),
    )
    with op.batch_alter_table("client_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_status_changes_client_id"), ["client_id"], unique=False
        )

    op.create_table(
        "needs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "client_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("domain", sa.String(length=24), nullable=False),
        sa.Column("goal", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "domain IN ('housing','physical_health','social_connection','transport','education_employment','daily_living')",
            name=op.f("ck_needs_domain_known"),
        ),
        sa.CheckConstraint("status IN ('open','met','closed')", name=op.f("ck_needs_status_known")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_needs_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_needs")),
    )
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_needs_client_id"), ["client_id"], unique=False)

    op.create_table(
        "policy_steps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("approvers", sa.JSON(), nullable=False),
        sa.Column("quorum", sa.String(length=8), nullable=False),
        sa.Column("quorum_n", sa.Integer(), nullable=True),
        sa.Column("sla_business_days", sa.Integer(), nullable=False),
        sa.Column("escalate_to", sa.String(length=60), nullable=True),
        sa.CheckConstraint(
            "(quorum = 'n_of_m') = (quorum_n IS NOT NULL)", name=op.f("ck_policy_steps_n_given")
        ),
        sa.CheckConstraint(
            "quorum IN ('any','all','n_of_m')", name=op.f("ck_policy_steps_quorum_known")
        ),
        sa.CheckConstraint(
            "quorum_n IS NULL OR quorum_n >= 1", name=op.f("ck_policy_steps_n_positive")
        ),
        sa.CheckConstraint("sla_business_days >= 1", name=op.f("ck_policy_steps_sla_positive")),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["policy_rules.id"], name=op.f("fk_policy_steps_rule_id_policy_rules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_steps")),
        sa.UniqueConstraint("rule_id", "position", name=op.f("uq_policy_steps_rule_id_position")),
    )
    with op.batch_alter_table("policy_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_steps_rule_id"), ["rule_id"], unique=False)

    op.create_table(
        "fund_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "consortium_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "client_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("need_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "category_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "requester_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "supplier_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("gst_cents", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("no_other_channel", sa.String(length=1000), nullable=False),
        sa.Column("needed_by", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("round", sa.Integer(), server_default="0", nullable=False),
        sa.Column("current_step", sa.Integer(), nullable=True),
        sa.Column("approved_cents", sa.BigInteger(), nullable=True),
        sa.Column("paid_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reservation_id", sa.BigInteger(), nullable=True),
        sa.Column("approved_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("carried_over", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft','pending','info_requested','returned','approved','part_paid','paid','rejected','withdrawn','cancelled','expired')",
            name=op.f("ck_fund_requests_state_known"),
        ),
        sa.CheckConstraint(
            "state NOT IN ('approved','part_paid','paid') OR (approved_at IS NOT NULL AND approved_cents IS NOT NULL AND reservation_id IS NOT NULL)",
            name=op.f("ck_fund_requests_approved_has_reservation"),
        ),
        sa.CheckConstraint(
            "amount_cents > 0 AND gst_cents >= 0 AND gst_cents < amount_cents",
            name=op.f("ck_fund_requests_amounts"),
        ),
        sa.CheckConstraint(
            "approved_cents IS NULL OR approved_cents > 0",
            name=op.f("ck_fund_requests_approved_positive"),
        ),
        sa.CheckConstraint("paid_cents >= 0", name=op.f("ck_fund_requests_paid_non_negative")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_fund_requests_category_id_categories")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_fund_requests_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["consortium_id"],
            ["consortia.id"],
            name=op.f("fk_fund_requests_consortium_id_consortia"),
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_fund_requests_need_id_needs")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_fund_requests_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["users.id"], name=op.f("fk_fund_requests_requester_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_fund_requests_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_requests")),
        sa.UniqueConstraint(
            "consortium_id", "number", name=op.f("uq_fund_requests_consortium_id_number")
        ),
    )
    with op.batch_alter_table("fund_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_requests_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_fund_requests_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_fund_requests_requester_id"), ["requester_id"], unique=False
        )
        batch_op.create_index("ix_fund_requests_state", ["consortium_id", "state"], unique=False)

    op.create_table(
        "attachments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "uploaded_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("uploaded_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('quote','invoice','receipt','other')", name=op.f("ck_attachments_kind_known")
        ),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_attachments_size_positive")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["fund_requests.id"],
            name=op.f("fk_attachments_request_id_fund_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_attachments_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_request_id"), ["request_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["fund_requests.id"],
            name=op.f("fk_notifications_request_id_fund_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_inbox", ["user_id", "read_at", "id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "supplier_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("invoice_number", sa.String(length=40), nullable=False),
        sa.Column("inc_gst_cents", sa.BigInteger(), nullable=False),
        sa.Column("gst_cents", sa.BigInteger(), nullable=False),
        sa.Column("charged_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("ledger_transaction_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "recorded_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("recorded_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("charged_cents > 0", name=op.f("ck_payments_charged_positive")),
        sa.CheckConstraint(
            "inc_gst_cents > 0 AND gst_cents >= 0 AND gst_cents < inc_gst_cents",
            name=op.f("ck_payments_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_payments_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["fund_requests.id"], name=op.f("fk_payments_request_id_fund_requests")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_payments_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint(
            "supplier_id", "invoice_number", name=op.f("uq_payments_supplier_id_invoice_number")
        ),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_request_id"), ["request_id"], unique=False)

    op.create_table(
        "request_exceptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column(
            "recorded_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_request_exceptions_recorded_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["fund_requests.id"],
            name=op.f("fk_request_exceptions_request_id_fund_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_exceptions")),
    )
    with op.batch_alter_table("request_exceptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_exceptions_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "request_steps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("approvers", sa.JSON(), nullable=False),
        sa.Column("quorum", sa.String(length=8), nullable=False),
        sa.Column("quorum_n", sa.Integer(), nullable=True),
        sa.Column("sla_business_days", sa.Integer(), nullable=False),
        sa.Column("escalate_to", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("activated_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("paused_business_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reminded_half_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_breach_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "quorum IN ('any','all','n_of_m')", name=op.f("ck_request_steps_quorum_known")
        ),
        sa.CheckConstraint(
            "status IN ('waiting','active','done','cancelled')",
            name=op.f("ck_request_steps_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["fund_requests.id"],
            name=op.f("fk_request_steps_request_id_fund_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_steps")),
        sa.UniqueConstraint(
            "request_id",
            "round",
            "position",
            name=op.f("uq_request_steps_request_id_round_position"),
        ),
    )
    with op.batch_alter_table("request_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_steps_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("step_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "on_behalf_of_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_decisions_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["on_behalf_of_id"], ["users.id"], name=op.f("fk_decisions_on_behalf_of_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["fund_requests.id"], name=op.f("fk_decisions_request_id_fund_requests")
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["request_steps.id"], name=op.f("fk_decisions_step_id_request_steps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_request_id"), ["request_id"], unique=False)

    op.create_table(
        "refunds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("ledger_transaction_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "recorded_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("recorded_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_refunds_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_payment_id"), ["payment_id"], unique=False)

    op.create_table(
        "step_approvers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("step_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["step_id"], ["request_steps.id"], name=op.f("fk_step_approvers_step_id_request_steps")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_step_approvers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_approvers")),
        sa.UniqueConstraint("step_id", "user_id", name=op.f("uq_step_approvers_step_id_user_id")),
    )
    with op.batch_alter_table("step_approvers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_step_approvers_step_id"), ["step_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_step_approvers_user_id"), ["user_id"], unique=False)

    create_append_only_triggers()


def downgrade() -> None:
    drop_append_only_triggers()
    op.drop_index("uq_users_email_lower", table_name="users")
    with op.batch_alter_table("step_approvers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_step_approvers_user_id"))
        batch_op.drop_index(batch_op.f("ix_step_approvers_step_id"))

    op.drop_table("step_approvers")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_payment_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_request_id"))

    op.drop_table("decisions")
    with op.batch_alter_table("request_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_steps_request_id"))

    op.drop_table("request_steps")
    with op.batch_alter_table("request_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_exceptions_request_id"))

    op.drop_table("request_exceptions")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_request_id"))

    op.drop_table("payments")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_inbox")

    op.drop_table("notifications")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_request_id"))

    op.drop_table("attachments")
    with op.batch_alter_table("fund_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_fund_requests_state")
        batch_op.drop_index(batch_op.f("ix_fund_requests_requester_id"))
        batch_op.drop_index(batch_op.f("ix_fund_requests_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_fund_requests_client_id"))

    op.drop_table("fund_requests")
    with op.batch_alter_table("policy_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_steps_rule_id"))

    op.drop_table("policy_steps")
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_needs_client_id"))

    op.drop_table("needs")
    with op.batch_alter_table("client_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_status_changes_client_id"))

    op.drop_table("client_status_changes")
    with op.batch_alter_table("policy_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_rules_policy_id"))

    op.drop_table("policy_rules")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_user_id"))
        batch_op.drop_index(batch_op.f("ix_memberships_organisation_id"))

    op.drop_table("memberships")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clients_support_facilitator_id"))
        batch_op.drop_index(batch_op.f("ix_clients_organisation_id"))

    op.drop_table("clients")
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppliers_consortium_id"))

    op.drop_table("suppliers")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_organisations_one_lead",
            postgresql_where=sa.text("kind = 'lead'"),
            sqlite_where=sa.text("kind = 'lead'"),
        )

    op.drop_table("organisations")
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delegations_to_user_id"))
        batch_op.drop_index(batch_op.f("ix_delegations_from_user_id"))

    op.drop_table("delegations")
    op.drop_table("categories")
    op.drop_table("audit_heads")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_subject")

    op.drop_table("audit_events")
    with op.batch_alter_table("approval_policies", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_approval_policies_published",
            postgresql_where=sa.text("status = 'published'"),
            sqlite_where=sa.text("status = 'published'"),
        )

    op.drop_table("approval_policies")
    op.drop_table("users")
    op.drop_table("consortia")


APPEND_ONLY = ("decisions", "audit_events")


def create_append_only_triggers() -> None:
    """INVARIANT: the record of who decided what, and the audit trail, are never rewritten."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        if postgres:  # ledger_refuse_change() comes from revision 0001
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
            continue
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
            )


def drop_append_only_triggers() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        if postgres:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            continue
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER {table}_no_{operation}")
