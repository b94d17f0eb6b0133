"""The scheduler process: APScheduler wakes it, ``reports.jobs.schedule`` says what is due.

Runs only as ``flexpool scheduler``, never inside the web app: several web workers would each
run every job. Nothing here is built at import time.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.schedulers.blocking import BlockingScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from approvals.models import Consortium
from approvals.zone import zone_of
from reports.jobs.schedule import JOBS, JobSpec, run_due
from reports.jobs.tasks import Clock, Outcome

log = logging.getLogger("flexpool.scheduler")

MISFIRE_GRACE_SECONDS = 3600  # a wake-up later than this is dropped; the next one catches up
DEFAULT_ZONE = "Australia/Sydney"


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Scheduler(BlockingScheduler):  # type: ignore[misc]
    """Tells running passes to stop between runs before it waits for them to finish."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.stopping = threading.Event()

    def shutdown(self, wait: bool = True) -> None:
        self.stopping.set()
        super().shutdown(wait)


def build_scheduler(
    factory: sessionmaker[Session],
    out_dir: Path,
    *,
    now: Clock = utc_now,
    table: tuple[JobSpec, ...] = JOBS,
) -> BlockingScheduler:
    """One wake-up per job and timezone in use, and a catch-up pass as soon as it starts.

    Cron fields are read in each timezone, so 06:00 is 06:00 where the consortium is. A
    consortium in a timezone no other uses is woken only after a restart, whose catch-up then
    runs whatever it missed.

    One worker thread: passes run one after another, so a long catch-up delays the next tick
    rather than racing it (the claims would keep that safe, but slower to read in the logs).
    """
    scheduler = _Scheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )

    def pass_for(jobs: Collection[str] | None) -> Callable[[], list[Outcome]]:
        return lambda: run_due(
            factory, out_dir, now, table=table, jobs=jobs, stopping=scheduler.stopping
        )

    def catch_up() -> None:
        outcomes = pass_for(None)()
        log.info("caught up: %d run(s); waiting for the next wake-up", len(outcomes))

    scheduler.add_job(catch_up, id="catch-up", name="catch up on missed runs")
    zones = _zones(factory)
    for spec in table:
        for zone in zones:
            scheduler.add_job(
                pass_for({spec.name}),
                CronTrigger(timezone=zone_of(zone), **spec.cron),
                id=f"{spec.name}@{zone}",
                name=f"{spec.name} ({spec.covers}; {zone})",
            )
            log.info("wake-up %s@%s: %s (%s)", spec.name, zone, dict(spec.cron), spec.covers)
    return scheduler


def _zones(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        zones = set(session.execute(select(Consortium.timezone)).scalars())
    return sorted(zones) or [DEFAULT_ZONE]


def serve(scheduler: BlockingScheduler) -> None:
    """Run until SIGTERM or SIGINT; the run in progress finishes, the rest waits for the next start.

    The handler only starts the shutdown on another thread: APScheduler's shutdown takes locks
    the interrupted main loop may be holding.
    """
    asked = threading.Event()
    stopper: list[threading.Thread] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        asked.set()
        if scheduler.running and not stopper:
            stopper.append(threading.Thread(target=scheduler.shutdown, name="shutdown"))
            stopper[0].start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if not asked.is_set():
        scheduler.start()
    for thread in stopper:
        thread.join()
    log.info("scheduler stopped")
