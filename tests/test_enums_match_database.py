"""Every list of values the database allows (a ``CHECK (col IN (...))``) equals its Python enum.

The lists are read back from the migrated database itself (SQLite's ``sqlite_master``,
PostgreSQL's ``pg_get_constraintdef``), so a migration that forgot a new member, or an enum that
gained one the database refuses, fails here instead of at the first insert in production.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from sqlalchemy import Engine, text

from approvals.business_days import STATES as AUSTRALIAN_STATES
from approvals.gst import GstBasis
from approvals.lifecycle.amending import AMEND
from approvals.lifecycle.attachments import KINDS as ATTACHMENT_KINDS
from approvals.lifecycle.states import CHARGED_STATES, Action, RequestState
from approvals.models.clients import ClientStatus, NeedDomain, NeedStatus
from approvals.models.consortium import CapMode, OrgKind
from approvals.models.people import Role
from approvals.models.policy import PolicyStatus
from approvals.models.requests import StepStatus
from approvals.models.tokens import TokenKind
from approvals.policy.rules import Quorum
from ledger.values import AccountType, Phase, TransferKind
from reports.models import ExportKind, LineStatus, RunStatus


def _values(members: Iterable[object]) -> frozenset[str]:
    return frozenset(str(member) for member in members)


# Constraint name -> what Python says the list is.
EXPECTED: dict[str, frozenset[str]] = {
    "ck_ledger_accounts_type_known": _values(AccountType),
    "ck_ledger_transfers_kind_known": _values(TransferKind),
    "ck_ledger_transfers_phase_known": _values(Phase),
    "ck_consortia_cap_mode_known": _values(CapMode),
    "ck_consortia_gst_basis_known": _values(GstBasis),
    "ck_consortia_state_known": _values(AUSTRALIAN_STATES),
    "ck_organisations_kind_known": _values(OrgKind),
    "ck_clients_status_known": _values(ClientStatus),
    "ck_client_status_changes_status_known": _values(ClientStatus),
    "ck_memberships_role_known": _values(Role),
    "ck_needs_domain_known": _values(NeedDomain),
    "ck_needs_status_known": _values(NeedStatus),
    "ck_policy_steps_quorum_known": _values(Quorum),
    "ck_request_steps_quorum_known": _values(Quorum),
    "ck_fund_requests_state_known": _values(RequestState),
    "ck_decisions_action_known": _values(Action) | {AMEND},
    "ck_decisions_from_state_known": _values(RequestState),
    "ck_decisions_to_state_known": _values(RequestState),
    "ck_fund_requests_approved_has_reservation": _values(CHARGED_STATES),
    "ck_attachments_kind_known": _values(ATTACHMENT_KINDS),
    "ck_export_runs_status_known": _values(RunStatus),
    "ck_job_runs_status_known": _values(RunStatus),
    "ck_bank_lines_status_known": _values(LineStatus),
    "ck_approval_policies_status_known": _values(PolicyStatus),
    "ck_request_steps_status_known": _values(StepStatus),
    "ck_api_tokens_kind_known": _values(TokenKind),
    "ck_export_runs_kind_known": _values(ExportKind),
}

_LITERAL = re.compile(r"'((?:[^']|'')*)'")
_SQLITE_CHECK = re.compile(r"CONSTRAINT\s+(\w+)\s+CHECK\s*\(", re.IGNORECASE)


def literals(check_sql: str) -> frozenset[str]:
    """The quoted values of a CHECK as the database prints it (``'a'::character varying`` too)."""
    return frozenset(value.replace("''", "'") for value in _LITERAL.findall(check_sql))


def list_differences(name: str, in_database: frozenset[str], in_python: frozenset[str]) -> str:
    """``""`` when the two lists agree, else one line saying which values each side lacks."""
    if in_database == in_python:
        return ""
    only_db, only_python = sorted(in_database - in_python), sorted(in_python - in_database)
    return f"{name}: only in the database {only_db}, only in Python {only_python}"


def _balanced(sql: str, start: int) -> str:
    """The text inside the parenthesis opened just before ``start``."""
    depth, quoted = 1, False
    for at in range(start, len(sql)):
        char = sql[at]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth == 0:
                return sql[start:at]
    raise AssertionError(f"unbalanced CHECK in {sql!r}")


def database_checks(engine: Engine) -> dict[str, str]:
    """Every named CHECK constraint of the migrated schema, by name, as the database holds it."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(
                text(
                    "SELECT con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con"
                    " JOIN pg_class rel ON rel.oid = con.conrelid"
                    " JOIN pg_namespace ns ON ns.oid = rel.relnamespace"
                    " WHERE con.contype = 'c' AND ns.nspname = current_schema()"
                )
            )
            return {str(name): str(sql) for name, sql in rows}
        found: dict[str, str] = {}
        tables = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table'"))
        for (sql,) in tables:
            for match in _SQLITE_CHECK.finditer(sql or ""):
                found[match.group(1)] = _balanced(sql, match.end())
        return found


def test_every_check_list_in_the_database_equals_its_enum(engine: Engine) -> None:
    checks = database_checks(engine)
    missing = sorted(set(EXPECTED) - set(checks))
    assert missing == [], f"constraints not found in the {engine.dialect.name} schema"
    findings = [list_differences(name, literals(checks[name]), EXPECTED[name]) for name in EXPECTED]
    assert [finding for finding in findings if finding] == []


def test_every_known_list_in_the_database_is_compared(engine: Engine) -> None:
    """A new ``..._known`` CHECK must be added above, so a new enum column cannot go unchecked."""
    known = {name for name in database_checks(engine) if name.endswith("_known")}
    assert known - set(EXPECTED) == set()


@pytest.mark.parametrize(
    ("check_sql", "finding"),
    [
        (  # SQLite keeps the text as written
            "kind IN ('grant_receipt', 'allocation')",
            "ck_x: only in the database [], only in Python ['payment']",
        ),
        (  # PostgreSQL prints its own form
            "CHECK (((kind)::text = ANY ((ARRAY['grant_receipt'::character varying,"
            " 'allocation'::character varying, 'payment'::character varying,"
            " 'bank_interest'::character varying])::text[])))",
            "ck_x: only in the database ['bank_interest'], only in Python []",
        ),
        (
            "kind IN ('grant_receipt', 'allocation', 'payment')",
            "",
        ),
    ],
)
def test_a_doctored_list_is_reported(check_sql: str, finding: str) -> None:
    python = frozenset({"grant_receipt", "allocation", "payment"})
    assert list_differences("ck_x", literals(check_sql), python) == finding


def test_a_sqlite_check_is_cut_out_whole() -> None:
    sql = "CONSTRAINT ck_a CHECK ((phase IN ('a', 'b)')) = (x IS NULL)), CONSTRAINT ck_b CHECK (y)"
    match = _SQLITE_CHECK.search(sql)
    assert match is not None
    assert _balanced(sql, match.end()) == "(phase IN ('a', 'b)')) = (x IS NULL)"
