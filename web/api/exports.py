"""Exports (docs/exports.md#exports-and-their-runs): list the consortium's runs, run one now,
download a finished file.

The same functions as the exports page (``reports.export_service``): finance (FIN, FIN_MGR of
the lead agency) runs; finance and the auditor list and download; a download is re-checked
against its checksum and audited. Another consortium's run is a 404.

Running is a ``write_apart``: the runner records the run in transactions of its own, so the
call validates and claims its Idempotency-Key first, runs the export with no transaction open,
then keeps the answer for a retry. That answer is 201 with the run when it is done, or, when the
exporter refused (e.g. the Xero pre-flight found rows it cannot book), the refusal in the usual
error shape and status (422 bad data, 409 conflict): the run is listed as failed with the
reason, and a retry with the same key replays the refusal rather than failing a second run. A
file that could not be written is a 503 and keeps nothing under the key, so a retry runs again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, current_app, send_file, url_for
from sqlalchemy.orm import Session
from werkzeug.exceptions import ServiceUnavailable

from approvals.consortium.actors import Actor
from approvals.errors import ConflictError
from ledger.errors import DomainError
from reports.export_service import (
    RUNNERS,
    newest_runs,
    order_now,
    take_download,
)
from reports.models import ExportRun, RunStatus
from reports.runs import ExportOrder, media_types, run_export
from web.api.core import in_unit, int_cursor, page, read, route, write_apart
from web.api.schemas.base import PageArgs, page_of
from web.api.schemas.exports import ExportRunSchema, NewExportSchema
from web.clock import now
from web.errors import status_of
from web.session import session_factory


def _folder() -> Path:
    return Path(current_app.config["FLEXPOOL"].exports_dir)


def _linked(item: dict[str, Any]) -> dict[str, Any]:
    """A dumped run with where to download it, once there is a file."""
    done = item["status"] == RunStatus.DONE.value
    item["download"] = url_for("api.export_download", run_id=item["id"]) if done else None
    return item


@route(
    "/exports",
    "GET",
    endpoint="exports",
    tag="exports",
    query=PageArgs,
    summary="Export runs of my consortium, newest first (finance, auditor).",
    response=page_of(ExportRunSchema),
)
def exports() -> Response:
    def work(session: Session, who: Actor, args: dict[str, Any]) -> dict[str, Any]:
        limit = args["limit"]
        runs = newest_runs(session, who, before=int_cursor(args), limit=limit)
        result = page(runs, limit, lambda r: r.id, ExportRunSchema)
        result["items"] = [_linked(item) for item in result["items"]]
        return result

    return read(work, PageArgs)


@route(
    "/exports",
    "POST",
    endpoint="run_export",
    tag="exports",
    body=NewExportSchema,
    response=ExportRunSchema,
    status=201,
    errors=(401, 403, 404, 409, 422, 503),
    summary="Run an export now (FIN, FIN_MGR): 201 with the finished run; an exporter's "
    "refusal is answered 422 or 409 and the run is listed as failed with its reason.",
)
def run_now() -> Response:
    def prepare(session: Session, who: Actor, data: dict[str, Any]) -> ExportOrder:
        return order_now(session, who, data["kind"], data["period"], _folder())

    return write_apart(
        prepare,
        _run,
        NewExportSchema,
        guard=lambda _, who: who.require_lead(*RUNNERS, doing="run exports"),
    )


def _run(order: ExportOrder) -> tuple[int, dict[str, Any]]:
    """The runner records a failed run itself; here it only becomes an answer."""
    try:
        done = run_export(session_factory(current_app), order, now=now)
    except OSError as error:
        current_app.logger.exception("export failed")
        raise ServiceUnavailable(
            "The export could not be written; it is listed as failed. Try again later."
        ) from error
    except DomainError as error:  # the exporter's pre-flight refused
        message = f"The export was refused and is listed as failed: {error.message}"
        return status_of(error), {"error": error.code, "message": message, "fields": error.fields}
    if done is None:  # only a scheduled run is ever skipped; this one is manual
        raise ConflictError("This export has already run.")
    return 201, _dumped(done)


def _dumped(run: ExportRun) -> dict[str, Any]:
    dumped: dict[str, Any] = ExportRunSchema().dump(run)
    return _linked(dumped)


@route(
    "/exports/<int:run_id>/download",
    "GET",
    endpoint="export_download",
    tag="exports",
    files=tuple(media_types()),
    summary="A finished export's file (finance, auditor), re-checked against its SHA-256 "
    "(409 if it no longer matches); each download is audited.",
)
def download(run_id: int) -> Response:
    file = in_unit(lambda s, who, _: take_download(s, who, run_id, _folder(), now=now()))
    return send_file(
        file.path,
        as_attachment=True,
        download_name=file.name,
        mimetype=file.media_type,
        max_age=0,
    )
