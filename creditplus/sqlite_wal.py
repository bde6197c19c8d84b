"""SQLite's WAL checkpoints off the request path, in web server processes.

By default SQLite checkpoints inside the commit that takes the WAL past 1,000 pages: with
``synchronous=NORMAL`` that commit also waits for two fsyncs. Under a steady stream of credit
checks (about nine pages each) that was one request in eighty taking 5–8 ms longer, which
alone set the 99th percentile (docs/checks-throughput.md). A web process instead checkpoints
from a background thread four times a second (PASSIVE: readers and writers carry on; at 1 s
or 10 s each checkpoint's larger write burst stalled requests longer), and its own
connections checkpoint only past ``FALLBACK_PAGES``, in case that thread ever falls behind.
Commands and workers keep SQLite's default. PostgreSQL needs none of this.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from typing import Any

from django.conf import settings
from django.db.backends.signals import connection_created

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.25
FALLBACK_PAGES = 20_000  # ~80 MB of WAL: only reached if the thread stalls
_started: set[tuple[int, str]] = set()  # (pid, file): a forked worker starts its own
_lock = threading.Lock()
stop = threading.Event()  # set: the threads end (tests)


def checkpoint_in_background() -> None:
    """Called once by the WSGI entry point: from then on, each process's first connection to
    an SQLite file starts that process's checkpoint thread (after a fork too)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        connection_created.connect(_on_connection, dispatch_uid="sqlite_wal_checkpoint")


def _on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or name == ":memory:" or "mode=memory" in name:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_PAGES}")
    with _lock:
        if (os.getpid(), name) in _started:
            return
        _started.add((os.getpid(), name))
    thread = threading.Thread(target=checkpoints, args=(name,), name="wal-checkpoint")
    thread.daemon = True  # it holds nothing between checkpoints: nothing to finish at exit
    thread.start()


def checkpoints(name: str) -> None:
    """Checkpoint the database file ``name`` every ``INTERVAL_SECONDS`` until ``stop``."""
    # Linux: a thread's nice value is its own; requests come first for the CPU.
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    db = sqlite3.connect(name, timeout=0, isolation_level=None, check_same_thread=False)
    try:
        while not stop.wait(INTERVAL_SECONDS):
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:  # e.g. busy with another process's checkpoint
                logger.debug("WAL checkpoint skipped: %s", exc)
    finally:
        db.close()
