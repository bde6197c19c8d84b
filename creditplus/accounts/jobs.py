"""Scheduled jobs (定时任务): one run at a time, and a record of every run.

Each scheduled command runs under :func:`exclusive`, so that two overlapping runs (a slow
run and the next cron tick, or two hosts) cannot both act, and records a :class:`JobRun`,
which the health report (``creditplus doctor``) reads to tell a stopped job from one that
keeps up. The lock belongs to the process: it is released however the process ends, so a
killed run never blocks the next one.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from creditplus.accounts.models import JobRun

logger = logging.getLogger("creditplus.jobs")
# Runs are kept this long; the health report needs only the latest ones.
KEEP_RUNS = timedelta(days=90)


@contextmanager
def exclusive(name: str) -> Iterator[bool]:
    """Yield True while this process alone runs job ``name``, False if another run holds it.

    PostgreSQL: a session advisory lock on a connection of its own (a command may close or
    reset Django's connection while it works). SQLite lives on one host: an flock on a file
    beside the database."""
    if connection.vendor == "postgresql":
        with _advisory_lock(name) as held:
            yield held
        return
    locks = settings.VAR_DIR / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def advisory_key(database: str, name: str) -> int:
    """The advisory lock of job ``name`` in ``database``. Advisory locks are the server's, not
    a database's: without the database in the key, two databases on one server (two sites,
    or parallel test runs) skipped each other's runs of the same job."""
    digest = hashlib.sha256(f"creditplus.job.{database}.{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") - (1 << 63)  # PostgreSQL's bigint is signed


@contextmanager
def _advisory_lock(name: str) -> Iterator[bool]:
    key = advisory_key(str(connection.settings_dict["NAME"]), name)
    own = connections.create_connection("default")
    try:
        with own.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            held = bool(cursor.fetchone()[0])
        yield held
    finally:
        own.close()  # ends the session, and with it the lock


class RunLog:
    """What a run did, filled in by the command while it works."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started_at = timezone.now()
        self._clock = time.monotonic()
        self.summary = ""
        self.figures: dict[str, Any] = {}

    def finish(self, error: BaseException | None = None) -> JobRun:
        """Store the run and log one line: duration, what it did, the error if any."""
        seconds = round(time.monotonic() - self._clock, 3)
        message = "" if error is None else f"{type(error).__name__}: {error}"[:500]
        run = JobRun.objects.create(
            name=self.name,
            started_at=self.started_at,
            seconds=seconds,
            ok=error is None,
            summary=self.summary[:500],
            error=message,
            figures=self.figures,
        )
        JobRun.objects.filter(name=self.name, started_at__lt=self.started_at - KEEP_RUNS).delete()
        level = logging.INFO if error is None else logging.ERROR
        logger.log(
            level,
            "job=%s status=%s seconds=%.3f summary=%r error=%r",
            self.name,
            "ok" if error is None else "failed",
            seconds,
            run.summary,
            message,
        )
        return run


def last_runs() -> dict[str, dict[str, JobRun | None]]:
    """For every job that has run: its latest run and its latest successful run."""
    # No ordering: DISTINCT would otherwise take in the time it orders by (a row per run).
    names = JobRun.objects.order_by().values_list("name", flat=True).distinct()
    result: dict[str, dict[str, JobRun | None]] = {}
    for name in names:
        runs = JobRun.objects.filter(name=name)
        result[name] = {"last": runs.first(), "last_ok": runs.filter(ok=True).first()}
    return result
