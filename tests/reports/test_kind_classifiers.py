"""Every classifier over transfer kinds has a rule for every kind, and refuses one it lacks.

A new kind (bank interest, say) must be placed in each report by a person: until it is, these
tests fail, and at run time the classifier raises instead of filing it under a default.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy.dialects import sqlite

from approvals.models import NeedDomain
from ledger.values import TransferKind, UnmappedKindError, rule_for
from reports.accounting.lines import _LABELS, GL_ROLES, GST, POOL, _role
from reports.acquittal.domains import LABELS as DOMAIN_LABELS
from reports.acquittal.rows import FLOW_LINES, Flows
from reports.bank.targets import TRANSACTION_LABELS, _moves_bank_alone, _transaction_label

CLASSIFIERS = {"accounting": GL_ROLES, "acquittal": FLOW_LINES, "bank": TRANSACTION_LABELS}
COUNTERPARTS = (POOL, GST, "org:NGO1", "client:C-0001")


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_every_classifier_has_a_rule_for_every_kind_and_no_other(name: str) -> None:
    assert set(CLASSIFIERS[name]) == set(TransferKind)


@pytest.mark.parametrize("kind", list(TransferKind))
def test_every_kind_walks_through_the_accounting_classifier(kind: TransferKind) -> None:
    for counterpart in COUNTERPARTS:
        for into_bank in (True, False):
            role = _role(counterpart, kind.value, into_bank)
            assert role is None or role in _LABELS, (counterpart, into_bank)


@pytest.mark.parametrize("kind", list(TransferKind))
def test_every_kind_walks_through_the_acquittal_classifier(kind: TransferKind) -> None:
    into_funds, out_of_funds = rule_for(FLOW_LINES, kind.value, "The acquittal")
    assert into_funds in {"received", "refunds", "other"}
    assert out_of_funds in {"payments", "returned", "other"}
    assert {into_funds, out_of_funds} <= set(Flows.__dataclass_fields__)


def test_the_bank_matcher_offers_exactly_the_kinds_it_can_name() -> None:
    """The SQL filter and the label table say the same thing about which kinds are offered."""
    sql = str(
        _moves_bank_alone(1, 2).compile(
            dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
        )
    )
    offered = set(re.findall(r"'([a-z_]+)'", sql)) & {kind.value for kind in TransferKind}
    assert offered == {kind.value for kind, label in TRANSACTION_LABELS.items() if label}
    for kind in offered:
        assert _transaction_label(kind)
    with pytest.raises(UnmappedKindError, match="never matched to a bank line alone"):
        _transaction_label(TransferKind.ADJUSTMENT.value)


def test_every_need_domain_has_its_acquittal_label() -> None:
    assert set(DOMAIN_LABELS) == set(NeedDomain)


@pytest.mark.parametrize(
    ("kind", "counterpart", "into_bank", "role"),
    [
        (TransferKind.GRANT_RECEIPT, POOL, True, "grant"),
        (TransferKind.RETURN_TO_FUNDER, POOL, False, "return"),
        (TransferKind.REFUND, GST, True, "gst"),
        (TransferKind.REVERSAL, POOL, False, "grant"),  # a grant receipt undone
        (TransferKind.REVERSAL, POOL, True, "return"),  # a return undone
        (TransferKind.REVERSAL, GST, False, "gst"),  # a GST refund undone
        # These used to fall through to grant income or GST paid:
        (TransferKind.ADJUSTMENT, POOL, True, None),
        (TransferKind.ADJUSTMENT, POOL, False, None),
        (TransferKind.ADJUSTMENT, GST, True, None),
        (TransferKind.PAYMENT, POOL, False, None),
        (TransferKind.GRANT_RECEIPT, GST, True, None),
        (TransferKind.GRANT_RECEIPT, "org:NGO1", True, None),
    ],
)
def test_the_accounting_roles_of_the_bank_movements(
    kind: TransferKind, counterpart: str, into_bank: bool, role: str | None
) -> None:
    assert _role(counterpart, kind.value, into_bank) == role


def test_an_unknown_kind_is_refused_by_name_not_filed_as_grant_income() -> None:
    with pytest.raises(UnmappedKindError, match="Xero/MYOB classifier.*'bank_interest'"):
        _role(POOL, "bank_interest", True)


def test_a_table_missing_a_member_refuses_that_member() -> None:
    doctored = {kind: "x" for kind in TransferKind if kind is not TransferKind.ADJUSTMENT}
    assert rule_for(doctored, "payment", "A doctored table") == "x"
    with pytest.raises(UnmappedKindError, match="A doctored table .* 'adjustment'"):
        rule_for(doctored, "adjustment", "A doctored table")
