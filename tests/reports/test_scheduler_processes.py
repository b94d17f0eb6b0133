"""The scheduler as real processes: two at once run each due item once; a signal stops one cleanly.

No test waits for a clock: ``--once --now`` runs what was due at a given moment, and the
long-running process is stopped as soon as it says it has caught up.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.db import make_engine, make_session_factory
from migrations import upgrade
from reports import anchors
from reports.jobs.schedule import Due, due_runs
from reports.jobs.tasks import RECONCILIATION_JOB, TIMERS_JOB, VERIFY_JOB, YEAR_CLOSE_JOB
from reports.models import ExportKind, ExportRun, JobRun
from reports.runs import EXPORTERS
from tests.support.databases import own_postgres_database
from tests.support.world import World, build_world, fund

FLEXPOOL = str(Path(sys.executable).with_name("flexpool"))
DEADLINE = 120  # seconds before a stuck process is killed (a failure, never a wait)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own: the processes see every consortium."""
    with own_postgres_database(f"sched_{os.getpid()}") as database:
        upgrade(database)
        yield database


def funded_world(database: str, now: datetime, request: pytest.FixtureRequest) -> World:
    """A consortium a little over a year old, so every job has something due."""
    engine = make_engine(database)
    request.addfinalizer(engine.dispose)
    world = build_world(make_session_factory(engine), now - timedelta(days=400))
    fund(world, 3_000)
    return world


def environment(database: str, exports: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FLEXPOOL_DATABASE_URL": database,
        "FLEXPOOL_EXPORTS_DIR": str(exports),
        "FLEXPOOL_SECRET_KEY": "test-only",
    }


def expected_exports(due: list[Due]) -> set[tuple[str, str]]:
    """(kind, period) of every file the due items write, the year close's acquittal included."""
    wanted = {(str(d.kind), d.label) for d in due if d.kind is not None}
    if ExportKind.ACQUITTAL in EXPORTERS:
        wanted |= {(ExportKind.ACQUITTAL.value, d.label) for d in due if d.job == YEAR_CLOSE_JOB}
    return wanted


@pytest.mark.postgres
def test_two_scheduler_processes_at_once_run_each_due_item_exactly_once(
    postgres_database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    moment = datetime.now(UTC)
    factory = funded_world(postgres_database, moment, request).factory
    with factory() as session:
        due = due_runs(session, moment)
    assert {d.job for d in due} == {RECONCILIATION_JOB, TIMERS_JOB, VERIFY_JOB, YEAR_CLOSE_JOB}
    exports = tmp_path / "exports"
    command = [FLEXPOOL, "scheduler", "--once", "--now", moment.isoformat()]
    env = environment(postgres_database, exports)
    processes = [
        subprocess.Popen(  # noqa: S603 - our own command, no shell
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        results = [process.communicate(timeout=DEADLINE) for process in processes]
    finally:
        for process in processes:  # only a stuck one is still running here
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert [p.returncode for p in processes] == [0, 0], [err[-2000:] for _out, err in results]

    done = Counter(
        line.rsplit(": ", 1)[0].split(" ", 1)[1]
        for out, _err in results
        for line in out.splitlines()
        if line.endswith(": done")
    )
    assert done == Counter({d.key: 1 for d in due})  # every item done, each by one process only
    with factory() as session:
        runs = session.execute(select(ExportRun).where(ExportRun.scheduled.is_(True))).scalars()
        files = Counter((run.kind, run.period, run.status, run.file_name) for run in runs)
        jobs = Counter(session.execute(select(JobRun.key, JobRun.status)).all())
    assert {(kind, period) for kind, period, _s, _f in files} == expected_exports(due)
    assert set(files.values()) == {1} and {status for _k, _p, status, _f in files} == {"done"}
    assert jobs == Counter({(d.key, "done"): 1 for d in due if d.kind is None})
    written = sorted(p.name for p in exports.iterdir() if p.name != anchors.FILE_NAME)
    assert written == sorted(str(f[3]) for f in files)
    assert (exports / anchors.FILE_NAME).exists()  # the nightly verify anchored its heads


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_scheduler_catches_up_when_it_starts_and_stops_cleanly_on_a_signal(
    sqlite_template: Path, tmp_path: Path, stop: signal.Signals, request: pytest.FixtureRequest
) -> None:
    database = tmp_path / "flexpool.db"
    shutil.copy(sqlite_template, database)
    world = funded_world(f"sqlite:///{database}", datetime.now(UTC), request)
    with subprocess.Popen(  # noqa: S603 - our own command, no shell
        [FLEXPOOL, "scheduler"],
        cwd=tmp_path,
        env=environment(f"sqlite:///{database}", tmp_path / "exports"),
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        watchdog = threading.Timer(DEADLINE, process.kill)  # a hung scheduler fails, never hangs
        watchdog.start()
        try:
            assert process.stderr is not None
            seen = []
            for line in process.stderr:
                seen.append(line)
                if "caught up:" in line:
                    break
            process.send_signal(stop)
            rest = process.stderr.read()
            process.wait()
        finally:
            watchdog.cancel()
    assert process.returncode == 0, "".join(seen) + rest
    assert "caught up:" in seen[-1] and "scheduler stopped" in rest
    with world.factory() as session:
        verified = session.execute(select(JobRun.status).where(JobRun.job == VERIFY_JOB)).scalars()
        assert list(verified) == ["done"]
