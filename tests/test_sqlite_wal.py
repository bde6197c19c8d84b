"""Web processes checkpoint SQLite's WAL from a background thread (creditplus/sqlite_wal.py),
so that no request pays for a checkpoint: the thread really moves the WAL into the database
file, and a web process's connections leave checkpoints to it."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from creditplus import sqlite_wal


@pytest.fixture
def checkpointer(monkeypatch):
    monkeypatch.setattr(sqlite_wal, "INTERVAL_SECONDS", 0.05)
    monkeypatch.setattr(sqlite_wal, "stop", threading.Event())
    monkeypatch.setattr(sqlite_wal, "_started", set())
    yield sqlite_wal
    sqlite_wal.stop.set()
    connection_created.disconnect(dispatch_uid="sqlite_wal_checkpoint")


def test_the_thread_moves_the_wal_into_the_database_file(tmp_path, checkpointer):
    path = tmp_path / "wal.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")  # nothing else checkpoints
    db.execute("CREATE TABLE t (x TEXT)")
    db.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,) for _ in range(2000)])
    assert path.stat().st_size < 100_000  # the rows are in the WAL only
    thread = threading.Thread(target=checkpointer.checkpoints, args=(str(path),))
    thread.start()
    deadline = time.monotonic() + 10
    while path.stat().st_size < 2_000_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    checkpointer.stop.set()
    thread.join(5)
    assert path.stat().st_size >= 2_000_000 and not thread.is_alive()
    assert db.execute("SELECT count(*) FROM t").fetchone() == (2000,)


@pytest.mark.django_db
def test_a_web_process_connection_leaves_checkpoints_to_the_thread(checkpointer):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    checkpointer.checkpoint_in_background()
    connection_created.send(sender=type(connection), connection=connection)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == checkpointer.FALLBACK_PAGES
        cursor.execute("PRAGMA wal_autocheckpoint = 1000")  # as the other tests expect
    assert [t for t in threading.enumerate() if t.name == "wal-checkpoint"]
    connection_created.send(sender=type(connection), connection=connection)
    assert len(checkpointer._started) == 1  # one thread per process and file
