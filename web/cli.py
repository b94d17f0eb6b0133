"""The ``flexpool`` command: a Flask CLI group, so every command sees the same configuration.

Commands that change data run one unit of work (``run_in_transaction``) and commit once. Bad
input ends with a one-line message and a non-zero exit, never a traceback or a partial write.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from approvals.errors import ApprovalError
from approvals.zone import local_today, zone_of
from demo.base import CODE as DEMO_CODE
from demo.base import LOGINS as DEMO_LOGINS
from demo.consortium import database_is_empty, load_demo
from ledger.errors import DomainError
from ledger.queries import TrialBalanceLine, book_codes, get_balance, trial_balance
from ledger.values import AccountType
from ledger.verify import summarize, verify
from reports import anchors
from reports.integrity import consortium_codes, verify_consortium
from reports.models import ExportKind
from reports.runs import ExportOrder, available_kinds, file_name, parse_period, run_export
from reports.trial_balance import balances_table, trial_balance_csv, trial_balance_table
from web import create_app
from web.clock import EXTENSION as CLOCK
from web.clock import now as clock_now
from web.session import session_factory

LOCAL_TZ = zone_of("Australia/Sydney")


def _app_factory(*_args: Any) -> Flask:
    return create_app()


@click.group(
    cls=FlaskGroup, create_app=_app_factory, add_default_commands=True, add_version_option=False
)
def main() -> None:
    """flexpool: the flexible-funding pool's ledger, approvals and exports."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to reach.")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to the latest schema."""
    from migrations import upgrade

    url = current_app.config["FLEXPOOL"].database_url
    upgrade(url, revision)
    click.echo(f"Database is at revision {revision}.")


@db.command("grant-app-role")
@click.argument("role")
@click.option("--print", "print_only", is_flag=True, help="Print the SQL instead of running it.")
@with_appcontext
def db_grant_app_role(role: str, print_only: bool) -> None:
    """Let ROLE (which owns nothing) do the app's work and no more (PostgreSQL; run as owner)."""
    from sqlalchemy import text

    from ledger.db import make_engine
    from migrations.grants import grant_statements

    try:
        statements = grant_statements(role)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    if print_only:
        click.echo("".join(f"{statement};\n" for statement in statements), nl=False)
        return
    engine = make_engine(current_app.config["FLEXPOOL"].database_url)
    if engine.dialect.name != "postgresql":
        raise click.UsageError("Roles and grants are PostgreSQL's; this database is not.")
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()
    click.echo(f"Role {role} may now read and write as the app does, and no more.")


@main.group()
def ledger() -> None:
    """Inspect and check the ledger."""


@ledger.command("verify")
@click.option("--book", "book", default=None, help="Book (consortium) code; all books if omitted.")
@with_appcontext
def ledger_verify(book: str | None) -> None:
    """Recompute the ledger, the audit trail and the records beside them; compare the anchors."""
    folder = Path(current_app.config["FLEXPOOL"].exports_dir)
    try:
        key = anchors.key_from_env()
    except OSError as error:
        raise click.ClickException(f"Cannot read FLEXPOOL_CHAIN_KEY_FILE: {error}") from error
    with session_factory(current_app)() as session:
        everything = set(book_codes(session)) | set(consortium_codes(session))
        codes = [book] if book else sorted(everything)
        verdicts = {code: verify_consortium(session, code, folder, key) for code in codes}
    findings = [finding for verdict in verdicts.values() for finding in verdict.findings]
    for finding in findings:
        click.echo(str(finding))
    for code, verdict in verdicts.items():
        click.echo(f"{code}: {verdict.anchor_line()}")
    if not findings:
        click.echo(summarize(findings))
        return
    click.echo(f"Ledger verification FAILED with {len(findings)} finding(s).", err=True)
    sys.exit(1)


@ledger.command("trial-balance")
@click.option("--book", "book", default=None, help="Book (consortium) code; all books if omitted.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="End of this day (YYYY-MM-DD).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True
)
@with_appcontext
def ledger_trial_balance(book: str | None, as_of: datetime | None, fmt: str) -> None:
    """Posted debits, credits and balance per account."""
    with session_factory(current_app)() as session:
        if book is not None and not _book_exists(session, book):
            raise click.UsageError(f"There is no book {book!r}.")
        lines = trial_balance(session, book, as_of=as_of.date() if as_of else None)
    click.echo(trial_balance_csv(lines) if fmt == "csv" else trial_balance_table(lines), nl=False)


def _book_exists(session: Any, code: str) -> bool:
    return code in book_codes(session)


def _clients_folded(lines: list[TrialBalanceLine]) -> list[TrialBalanceLine]:
    """Sixty client lines say less than their total; show the total, one line."""
    clients = [line for line in lines if line.account.startswith("client:")]
    others = [line for line in lines if not line.account.startswith("client:")]
    if not clients:
        return others
    folded = TrialBalanceLine(
        clients[0].book,
        f"client:* ({len(clients)} accounts)",
        AccountType.FUND,
        sum(line.debits for line in clients),
        sum(line.credits for line in clients),
    )
    return sorted([*others, folded], key=lambda line: line.account)


@main.group()
def export() -> None:
    """Export files for the accounting system, auditors and the funder."""


@export.command("run")
@click.option(
    "--kind",
    "kind",
    required=True,
    type=click.Choice([kind.value for kind in available_kinds()]),
    help="What to export.",
)
@click.option(
    "--period", default=None, help="YYYY-MM or FY2025-26 (journal: all history if omitted)."
)
@click.option(
    "--consortium", "consortium", default=None, help="Consortium code; every one if omitted."
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write to (default: FLEXPOOL_EXPORTS_DIR).",
)
@with_appcontext
def export_run(kind: str, period: str | None, consortium: str | None, out: Path | None) -> None:
    """Write the export for each consortium and print the path of each file written."""
    chosen = ExportKind(kind)
    try:
        span = parse_period(period, chosen)
    except ApprovalError as error:
        raise click.BadParameter(error.message, param_hint="--period") from error
    factory = session_factory(current_app)
    with factory() as session:
        codes = list(book_codes(session))
    if consortium is not None:
        if consortium not in codes:
            raise click.BadParameter(
                f"There is no consortium {consortium!r}.", param_hint="--consortium"
            )
        codes = [consortium]
    folder = out or Path(current_app.config["FLEXPOOL"].exports_dir)
    failed = 0
    for code in codes:
        order = ExportOrder(code, chosen, span, folder, f"cli:{getpass.getuser()}")
        try:
            run = run_export(factory, order, now=clock_now)
        except (DomainError, OSError) as error:
            click.echo(f"{code}: FAILED: {getattr(error, 'message', error)}", err=True)
            failed += 1
            continue
        if run is not None:
            click.echo(str(folder / file_name(order)))
    if failed:
        sys.exit(1)


@main.command("demo")
@click.option("--keep-existing", is_flag=True, help="If the demo is already loaded, just show it.")
@with_appcontext
def demo(keep_existing: bool) -> None:
    """Load a realistic consortium (a year of history up to today) into an empty database."""
    today: date = local_today(LOCAL_TZ, clock_now())
    factory = session_factory(current_app)
    with factory() as session:
        empty = database_is_empty(session)
        loaded = DEMO_CODE in book_codes(session)
    if not empty and not (keep_existing and loaded):
        raise click.ClickException(
            "The database is not empty; the demo loads only into an empty database "
            "(remove instance/flexpool.db or point FLEXPOOL_DATABASE_URL at a new one)."
        )
    if empty:
        click.echo("Loading the demo consortium (a year of history)...")
        summary = load_demo(factory, today=today)
        states = ", ".join(f"{count} {state}" for state, count in summary.requests_by_state.items())
        click.echo(f"Loaded {summary.consortium}: requests {states}.\n")
    else:
        click.echo(f"Demo consortium {DEMO_CODE} is already loaded.\n")
    with factory() as session:
        lines = _clients_folded(trial_balance(session, DEMO_CODE))
        click.echo(trial_balance_table(lines))
        accounts = [line.account for line in lines if not line.account.startswith("client:")]
        click.echo(balances_table([get_balance(session, DEMO_CODE, code) for code in accounts]))
        findings = verify(session, DEMO_CODE)
    click.echo("Logins (password flexpool-demo): " + ", ".join(DEMO_LOGINS))
    verdict = "no findings." if not findings else f"{len(findings)} finding(s)!"
    click.echo(f"ledger verify: {verdict}")
    if findings:
        sys.exit(1)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the web app with gunicorn (the scheduler is its own process)."""
    from web.server import run

    click.echo(f"flexpool is at http://{host}:{port}/  (Ctrl-C stops it)")
    run(host=host, port=port, workers=workers, threads=threads)


@main.command("scheduler")
@click.option("--once", is_flag=True, help="Run what is due (missed runs included), then exit.")
@click.option(
    "--now",
    "at",
    default=None,
    metavar="TIME",
    help="With --once: act as at this past moment, e.g. 2026-11-02T06:00+11:00 (rehearsals).",
)
@with_appcontext
def scheduler(once: bool, at: str | None) -> None:
    """Run the scheduled jobs: one process, never inside the web app.

    Monthly reconciliation, the approval timers every 15 minutes, the nightly ledger check and
    the financial-year close, each once per consortium and period, however many schedulers run;
    runs missed while it was down catch up when it starts. SIGTERM or Ctrl-C stops it.
    """
    from reports.jobs.schedule import run_due
    from reports.jobs.scheduler import build_scheduler, serve

    factory = session_factory(current_app)
    out_dir = Path(current_app.config["FLEXPOOL"].exports_dir)
    if not once:
        if at is not None:
            raise click.UsageError("--now goes with --once.")
        serve(build_scheduler(factory, out_dir))
        return
    moment = _past_moment(at) if at else None
    outcomes = run_due(factory, out_dir, lambda: moment or clock_now())
    for outcome in outcomes:
        click.echo(f"{outcome.job} {outcome.key}: {outcome.status}")
    if any(outcome.status == "failed" for outcome in outcomes):
        sys.exit(1)


def _past_moment(text: str) -> datetime:
    """A moment with its offset, not in the future: jobs must never act early."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise click.BadParameter(
            "Use a time with its offset, e.g. 2026-11-02T06:00+11:00.", param_hint="--now"
        )
    if moment > clock_now():
        raise click.BadParameter("The time is in the future.", param_hint="--now")
    return moment.astimezone(UTC)


@main.group()
def bank() -> None:
    """Bank statements: import them and match their lines."""


@bank.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--consortium", "consortium", required=True, help="Consortium code.")
@with_appcontext
def bank_import(file: Path, consortium: str) -> None:
    """Import a statement CSV and match what is certain; a bad file is refused whole (exit 2)."""
    from ledger.db import run_in_transaction
    from reports.bank.statement_csv import MAX_FILE_BYTES, StatementRefusedError
    from reports.bank.statement_import import cli_importer, import_statement

    with file.open("rb") as source:
        data = source.read(MAX_FILE_BYTES + 1)  # one byte more is enough to refuse it

    def unit(session: Any) -> Any:
        importer = cli_importer(session, consortium, getpass.getuser())
        return import_statement(session, importer, file_name=file.name, data=data, now=clock_now())

    try:
        done = run_in_transaction(session_factory(current_app), unit)
    except StatementRefusedError as error:
        click.echo(f"{file}: refused, nothing was imported:", err=True)
        for finding in error.findings:
            click.echo(f"  {finding}", err=True)
        sys.exit(2)
    except DomainError as error:  # e.g. the database stayed busy (the ledger's ConcurrencyError)
        click.echo(f"{file}: {error.message}", err=True)
        sys.exit(2)
    click.echo(
        f"Imported statement #{done.statement_id}: {done.lines} line(s), "
        f"{done.matched} matched, {done.unmatched} unmatched."
    )


@main.group()
def mail() -> None:
    """E-mail of inbox notifications (needs FLEXPOOL_SMTP_HOST)."""


@mail.command("send")
@with_appcontext
def mail_send() -> None:
    """Send the notifications waiting for e-mail now."""
    from web.mail import send_pending

    config = current_app.config["FLEXPOOL"]
    if not config.smtp_host:
        raise click.ClickException("E-mail is off: set FLEXPOOL_SMTP_HOST (and _PORT, _MAIL_FROM).")
    sent = send_pending(session_factory(current_app), config, current_app.extensions[CLOCK])
    click.echo(f"Sent {sent} e-mail(s).")
