"""Quotes, invoices and receipts: bytes kept outside the database, typed by their content.

What a browser claims a file is, and what its name says, are not trusted: the first bytes are.
Files are stored once per content (named by their SHA-256, written atomically) in a directory
the deployment chooses, and read back only by people who may see the request, with the read
written to the audit trail. A stored file whose bytes no longer match its hash is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from approvals import audit
from approvals.consortium.actors import Actor
from approvals.errors import InvalidInputError, NotAllowedError, NotFoundError
from approvals.lifecycle.requests import can_see
from approvals.models import Attachment, FundRequest, Role

MAX_BYTES = 10 * 1024 * 1024  # a phone photo of a quote is 2-5 MB
KINDS = ("quote", "invoice", "receipt", "other")
_HEIF_BRANDS = {b"heic", b"heix", b"heif", b"mif1", b"msf1", b"hevc"}
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def sniff(data: bytes) -> str | None:
    """The content type the bytes themselves declare, for the types flexpool accepts."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic"
    return None


def clean_filename(name: str) -> str:
    base = Path((name or "").replace("\\", "/")).name.strip()
    base = _UNSAFE.sub("_", base)[:200].strip("._ ")
    return base or "attachment"


def _path(store: Path, digest: str) -> Path:
    return store / digest[:2] / digest[2:4] / digest


def _write(store: Path, digest: str, data: bytes) -> None:
    target = _path(store, digest)
    if target.exists():
        return  # same bytes already stored
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add_attachment(
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    kind: str,
    filename: str,
    data: bytes,
    store: Path,
    now: datetime,
) -> Attachment:
    request = session.get(FundRequest, request_id)
    if request is None or not can_see(actor, request):
        raise NotFoundError("There is no such request.")
    staff = actor.has(Role.SF, request.organisation_id) or actor.has(
        Role.TL, request.organisation_id
    )
    if not (staff or actor.has_lead(Role.FIN) or actor.has_lead(Role.FIN_MGR)):
        raise NotAllowedError("Only the NGO's staff or finance may attach documents to a request.")
    problems: dict[str, str] = {}
    if kind not in KINDS:
        problems["kind"] = f"One of {', '.join(KINDS)}."
    if not data:
        problems["file"] = "The file is empty."
    elif len(data) > MAX_BYTES:
        problems["file"] = (
            f"At most {MAX_BYTES // (1024 * 1024)} MB; take the photo at a lower size."
        )
    content_type = sniff(data) if data else None
    if data and content_type is None:
        problems["file"] = "Attach a PDF or a photo (JPEG, PNG, WebP or HEIC)."
    if problems:
        raise InvalidInputError(
            "The document was not attached: " + " ".join(problems.values()), fields=problems
        )
    digest = hashlib.sha256(data).hexdigest()
    _write(store, digest, data)
    attachment = Attachment(
        request_id=request.id,
        kind=kind,
        filename=clean_filename(filename),
        content_type=content_type or "",
        size_bytes=len(data),
        sha256=digest,
        uploaded_by_id=actor.user_id,
        uploaded_at=now,
    )
    session.add(attachment)
    session.flush()
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="attachment.added",
        subject_type="request",
        subject_id=request.id,
        now=now,
        attachment=attachment.id,
        kind=kind,
    )
    return attachment


def read_attachment(
    session: Session, actor: Actor, attachment_id: int, *, store: Path, now: datetime
) -> tuple[Attachment, bytes]:
    attachment = session.get(Attachment, attachment_id)
    request = session.get(FundRequest, attachment.request_id) if attachment is not None else None
    if attachment is None or request is None or not can_see(actor, request):
        raise NotFoundError("There is no such document.")
    try:
        data = _path(store, attachment.sha256).read_bytes()
    except FileNotFoundError as error:
        raise NotFoundError("The document's file is missing from storage.") from error
    if hashlib.sha256(data).hexdigest() != attachment.sha256:
        raise NotFoundError("The stored document does not match what was uploaded; it is withheld.")
    audit.record(
        session,
        consortium_id=actor.consortium_id,
        actor_id=actor.user_id,
        action="attachment.viewed",
        subject_type="request",
        subject_id=request.id,
        now=now,
        attachment=attachment.id,
    )
    return attachment, data
