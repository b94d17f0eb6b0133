"""Documents on requests: typed by content, limited in size, stored once, read only in scope."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from approvals.errors import InvalidInputError, NotAllowedError, NotFoundError
from approvals.lifecycle.attachments import (
    MAX_BYTES,
    add_attachment,
    clean_filename,
    read_attachment,
    sniff,
)
from approvals.models import AuditEvent
from tests.support.world import Desk, as_

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + b"\x00" * 32


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "documents"


def attach(
    desk: Desk,
    store: Path,
    who: str = "sf1",
    data: bytes = PNG,
    name: str = "quote.png",
    kind: str = "quote",
) -> int:
    request_id = desk.new()
    return as_(
        desk.world,
        who,
        lambda s, a: (
            add_attachment(
                s,
                a,
                request_id,
                kind=kind,
                filename=name,
                data=data,
                store=store,
                now=desk.world.now,
            ).id
        ),
    )


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PNG, "image/png"),
        (PDF, "application/pdf"),
        (HEIC, "image/heic"),
        (b"\xff\xd8\xff\xe0" + b"0" * 20, "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_the_type_comes_from_the_bytes(data: bytes, kind: str) -> None:
    assert sniff(data) == kind


def test_an_sf_attaches_a_photo_that_the_tl_and_finance_can_read(desk: Desk, store: Path) -> None:
    attachment_id = attach(desk, store)
    for who in ("tl1", "fin", "auditor"):
        found, data = as_(
            desk.world,
            who,
            lambda s, a: read_attachment(s, a, attachment_id, store=store, now=desk.world.now),
        )
        assert data == PNG and found.content_type == "image/png"
    with desk.world.factory() as session:
        reads = (
            session.execute(
                select(AuditEvent.actor_id).where(AuditEvent.action == "attachment.viewed")
            )
            .scalars()
            .all()
        )
    assert desk.world.users["fin"] in reads


def test_another_ngo_cannot_read_or_attach(desk: Desk, store: Path) -> None:
    attachment_id = attach(desk, store)
    with pytest.raises(NotFoundError):
        as_(
            desk.world,
            "sf2",
            lambda s, a: read_attachment(s, a, attachment_id, store=store, now=desk.world.now),
        )
    with pytest.raises(NotFoundError):
        attach(desk, store, who="sf2")
    with pytest.raises(NotAllowedError):
        attach(desk, store, who="pm")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"MZ\x90\x00 this is a program", "PDF or a photo"),
        (b"", "empty"),
        (b"%PDF-" + b"0" * MAX_BYTES, "At most 10 MB"),
    ],
)
def test_a_file_that_is_not_a_document_is_refused_whatever_its_name(
    desk: Desk, store: Path, data: bytes, problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        attach(desk, store, data=data, name="invoice.pdf")
    assert not store.exists() or not any(path.is_file() for path in store.rglob("*"))


def test_a_tampered_stored_file_is_withheld(desk: Desk, store: Path) -> None:
    attachment_id = attach(desk, store)
    (stored,) = [path for path in store.rglob("*") if path.is_file()]
    stored.write_bytes(PNG + b"tampered")
    with pytest.raises(NotFoundError, match="does not match"):
        as_(
            desk.world,
            "tl1",
            lambda s, a: read_attachment(s, a, attachment_id, store=store, now=desk.world.now),
        )


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\quote.pdf", "quote.pdf"),
        ("  ", "attachment"),
        ("rent <bond>.pdf", "rent _bond_.pdf"),
    ],
)
def test_filenames_are_made_safe(name: str, clean: str) -> None:
    assert clean_filename(name) == clean
