"""Categories are ADMIN's data; supplier details are verified by a second person (SoD 5)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from approvals.consortium.catalogue import (
    add_category,
    add_supplier,
    change_supplier_details,
    set_category_active,
    verify_supplier,
)
from approvals.errors import DuplicateError, InvalidInputError, NotAllowedError, NotFoundError
from tests.support.world import World, as_


def category(world: World, who: str = "admin", **overrides: str) -> int:
    fields = {
        "code": "bond",
        "name": "Rental bond",
        "gl_code": "6-1200",
        "tax_code": "BAS Excluded",
    } | overrides
    return as_(world, who, lambda s, a: add_category(s, a, now=world.now, **fields).id)  # type: ignore[arg-type]


def supplier(world: World, who: str = "fin", **overrides: object) -> int:
    fields: dict[str, object] = {
        "name": "Harbour Appliances",
        "abn": "53 004 085 616",
        "gst_registered": True,
    }
    fields |= overrides
    return as_(world, who, lambda s, a: add_supplier(s, a, now=world.now, **fields).id)  # type: ignore[arg-type]


def test_admin_adds_categories_that_are_unique_and_never_deleted(world: World) -> None:
    category_id = category(world)
    with pytest.raises(DuplicateError):
        category(world)
    as_(world, "admin", lambda s, a: set_category_active(s, a, category_id, False, now=world.now))  # type: ignore[arg-type]
    with pytest.raises(NotAllowedError):
        category(world, "pm", code="fridge")


def test_a_category_with_bad_fields_names_each_one(world: World) -> None:
    with pytest.raises(InvalidInputError) as raised:
        category(world, code="Bond!", name="", gl_code="", tax_code="")
    assert set(raised.value.fields) == {"code", "name", "gl_code", "tax_code"}


def test_someone_else_verifies_a_suppliers_details(world: World) -> None:
    supplier_id = supplier(world, "fin")
    with pytest.raises(NotAllowedError, match="second person"):
        as_(world, "fin", lambda s, a: verify_supplier(s, a, supplier_id, now=world.now))  # type: ignore[arg-type]
    verified = as_(world, "finmgr", lambda s, a: verify_supplier(s, a, supplier_id, now=world.now))  # type: ignore[arg-type]
    assert verified.verified_by_id == world.users["finmgr"]
    changed = as_(
        world,
        "finmgr",
        lambda s, a: change_supplier_details(  # type: ignore[arg-type]
            s,
            a,
            supplier_id,
            abn="53 004 085 616",
            bsb="062-000",
            account_number="12345678",
            now=world.now,
        ),
    )
    assert changed.verified_by_id is None and changed.bsb == "062000"
    with pytest.raises(NotAllowedError):
        as_(world, "finmgr", lambda s, a: verify_supplier(s, a, supplier_id, now=world.now))  # type: ignore[arg-type]
    as_(world, "fin", lambda s, a: verify_supplier(s, a, supplier_id, now=world.now))  # type: ignore[arg-type]


def test_the_database_refuses_a_self_verified_supplier(world: World, raw_sql) -> None:  # type: ignore[no-untyped-def]
    supplier_id = supplier(world, "fin")
    with pytest.raises(IntegrityError):
        raw_sql(
            "UPDATE suppliers SET verified_by_id = changed_by_id, verified_at = changed_at "
            "WHERE id = :id",
            id=supplier_id,
        )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"abn": "51 824 753 557"}, "abn"),
        ({"abn": None, "gst_registered": True}, "abn"),
        ({"bsb": "062000"}, "bsb"),
        ({"bsb": "06200", "account_number": "12345678"}, "bsb"),
        ({"name": " "}, "name"),
    ],
)
def test_bad_supplier_details_are_refused_by_field(
    world: World, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        supplier(world, **overrides)
    assert field in raised.value.fields


def test_a_supplier_of_another_consortium_is_not_found(world: World, session_factory, now) -> None:  # type: ignore[no-untyped-def]
    from tests.support.world import build_world

    other = build_world(session_factory, now)
    supplier_id = supplier(other)
    with pytest.raises(NotFoundError):
        as_(world, "finmgr", lambda s, a: verify_supplier(s, a, supplier_id, now=world.now))  # type: ignore[arg-type]
