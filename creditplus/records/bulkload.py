"""Bulk load (`creditplus load DIR`, `demo_data --load`): many department files at once — a
district's initial migration, a department's backfill, the demo and the benchmark.

Every file goes through ``records.ingest`` as its own batch, with every guarantee of a daily
``ingest``: the same reading, validation and error codes, ownership checks, natural-key
comparison and versions, counts that reconcile, one audit event and one transaction per
batch, and a batch id per file (the manifest's ``batch_id``, or one derived from the file),
so that a load killed at any point leaves only whole batches and running it again skips them
("replayed") and completes the rest. What differs is around the batches:

- The secondary indexes of records and events whose keys arrive in random order
  (``DEFERRED_INDEXES``) are dropped before a large load and built once, sorted, after the
  last file, instead of being maintained row by row. "Large" is ``BULK_INDEX_MIN_ROWS`` rows
  or more (setting, default 200,000) and at least ``REBUILD_SHARE`` of the records stored:
  below that, rebuilding the existing rows costs more than maintaining the new ones. The
  unique index that makes a natural key's current version unique (ingest reads it), and the
  indexes that grow at their end (ids, transaction ids, receipt times), stay. Each dropped index's definition is stored (``DeferredIndex``) in
  the transaction that drops it, so a killed load leaves it for the next load to build. On
  PostgreSQL autovacuum is off for those tables in between (``_autovacuum``), and they are
  analysed once after the build, the events vacuumed too (``VACUUMED_AFTER_LOAD``).
- The event consumers (lists, monitoring…) run once after the indexes are back, not after
  every file: they read from their own cursors, so one run over all the new events does the
  work of one run per file.
- On PostgreSQL, with ``LOAD_WORKERS`` 2 (default 1), two files are written at once, each by
  a thread with its own connection, after the registration files (which go first, one by
  one, so that subjects get their registered names): one file's rows are built in Python
  while the server writes the other's. New subjects and legal-representative relations are
  then committed apart from the batch (``subjects.services.registry_writes_apart``), so that
  two files naming the same new person neither wait for each other nor fail. Faster, and
  about a gigabyte more memory at Pudong scale (docs/ingest.md).
- On SQLite the page cache stays warm from one file to the next, and the WAL is checkpointed
  at ``WAL_CHECKPOINT_PAGES`` instead of after every commit.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from tqdm import tqdm

from creditplus.accounts.models import Department
from creditplus.bulk import sqlite_page_cache
from creditplus.catalog.models import CatalogItem
from creditplus.errors import DomainError
from creditplus.records import consumers
from creditplus.records.choices import BatchSource
from creditplus.records.ingest import IngestOptions, ingest_path
from creditplus.records.models import DeferredIndex
from creditplus.subjects.services import registry_writes_apart

MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 10 * 1024 * 1024
MAX_FILES = 10_000
# Indexes whose keys arrive in random order (subject, decision date): each row written costs
# a random B-tree page. Built after the load by one sorted pass (~1 M rows/s) instead.
DEFERRED_INDEXES = {
    "records_creditrecord": ("record_subject_item", "record_item_date"),
    "records_creditevent": ("event_subject_kind",),
}
REBUILD_SHARE = 0.25
# SQLite's default is 1,000 pages (4 MB); 1 GiB of WAL between checkpoints during a load.
WAL_CHECKPOINT_PAGES = 262_144
COUNTS = ("submitted", "accepted", "updated", "unchanged", "rejected")
# Rows in files written side by side (LOAD_WORKERS > 1), unless one file is written alone:
# about Pudong's largest file (887,000 rows). Each file's frames are held while it is written.
SIDE_BY_SIDE_ROWS = 900_000


@dataclass
class LoadFile:
    path: Path
    item: CatalogItem
    department: Department
    rows: int  # as the manifest says (for progress and the index decision); 0 if unknown
    batch_id: str


def read_manifest(directory: Path) -> list[LoadFile]:
    """The files of ``directory``'s manifest (``demo_data --out`` writes one: ``files`` with
    ``path``, ``item``, ``department`` and optionally ``rows`` and ``batch_id``), checked:
    every path a file inside the directory, every item and department known."""
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise DomainError(
            "manifest_missing", _("目录中没有 %(name)s") % {"name": MANIFEST}, "manifest"
        )
    if manifest.stat().st_size > MAX_MANIFEST_BYTES:
        raise DomainError("manifest_invalid", _("清单文件过大"), "manifest")
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        entries = data["files"]
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise DomainError(
            "manifest_invalid", _("清单文件不是有效的 JSON，或缺少 files 列表"), "manifest"
        ) from None
    if len(entries) > MAX_FILES:
        raise DomainError(
            "manifest_invalid", _("清单最多列出 %(n)s 个文件") % {"n": MAX_FILES}, "manifest"
        )
    seed = data.get("seed")
    known = {
        "items": {i.code.upper(): i for i in CatalogItem.objects.all()},
        "departments": {d.code.upper(): d for d in Department.objects.all()},
    }
    return [_load_file(directory, entry, seed, known) for entry in entries]


def _load_file(
    directory: Path, entry: dict[str, Any], seed: Any, known: dict[str, dict[str, Any]]
) -> LoadFile:
    items, departments = known["items"], known["departments"]
    relative = str(entry.get("path", ""))
    root = directory.resolve()
    path = (root / relative).resolve()
    if not relative or not path.is_relative_to(root) or not path.is_file():
        raise DomainError(
            "manifest_path_invalid",
            _("清单中的文件不存在或不在该目录内：%(path)s") % {"path": relative[:200]},
            "manifest",
        )
    item = items.get(str(entry.get("item", "")).upper())
    if item is None:
        raise DomainError(
            "item_unknown",
            _("信息事项不存在：%(code)s") % {"code": str(entry.get("item"))[:50]},
            "item",
        )
    department = departments.get(str(entry.get("department", "")).upper())
    if department is None:
        raise DomainError(
            "department_unknown",
            _("部门不存在：%(dept)s") % {"dept": str(entry.get("department"))[:50]},
            "department",
        )
    rows = entry.get("rows", 0)
    batch_id = str(entry.get("batch_id") or _batch_id(seed, relative))[:64]
    return LoadFile(path, item, department, rows if isinstance(rows, int) else 0, batch_id)


def _batch_id(seed: Any, path: str) -> str:
    """The batch id of a manifest file without its own: derived from the demo seed (so that
    ``demo_data --load`` and ``load`` of the same files agree) or else from the path."""
    digest = hashlib.sha1(path.encode()).hexdigest()[:20]  # noqa: S324 — an id, not security
    return f"demo-{seed}-{digest}" if seed is not None else f"load-{digest}"


def load_directory(directory: Path, **kwargs: Any) -> dict[str, Any]:
    """Bulk-load every file of ``directory``'s manifest (see :func:`load_files`)."""
    return load_files(read_manifest(directory), **kwargs)


def load_files(
    files: list[LoadFile],
    *,
    actor: str = "",
    show_progress: bool = False,
    stream: IO[str] | None = None,
    defer_indexes: bool | None = None,
) -> dict[str, Any]:
    """Ingest ``files`` as one batch each, registration data first (so that subjects get
    their registered names). ``defer_indexes`` None decides by size (module docstring).
    Returns the counts summed over the files (a replayed batch, whose id an earlier run
    used, with its counts as ingest returns it), ``files``, ``replayed`` (how many),
    ``failed`` (files refused whole, with their code), ``seconds`` (everything), ``index_seconds`` and ``consumer_seconds``
    (their shares; consumers 0 when left to a surrounding transaction's commit)."""
    ordered = sorted(files, key=lambda f: (f.item.code != "DJ", str(f.path)))
    started, since = time.monotonic(), timezone.now()
    timing = {"consumer_seconds": 0.0, "index_seconds": restore_indexes()}
    rows = sum(map(_rows, ordered))
    deferred = should_defer(rows) if defer_indexes is None else defer_indexes
    if deferred:
        drop_deferred_indexes()
    totals = dict.fromkeys(COUNTS, 0)
    failed: list[dict[str, str]] = []
    replayed = 0

    def run_consumers() -> None:
        t = time.monotonic()
        consumers.run_all(consumers.BULK_BATCH)
        timing["consumer_seconds"] = time.monotonic() - t

    bar = tqdm(total=rows, unit="行", desc="归集", disable=not show_progress, file=stream)
    counted = threading.Lock()

    def load_one(f: LoadFile) -> None:
        nonlocal replayed
        batch = ingest_path(f.path, _options(f, actor))
        with counted:
            for key in COUNTS:
                totals[key] += getattr(batch, key)
            # A batch id already used (an earlier or killed run): the batch as it was.
            replayed += batch.created_at < since
            if batch.error_code:
                failed.append({"path": f.path.name, "code": batch.error_code})
            bar.update(f.rows)

    try:
        with _sqlite_load_settings():
            registration = [f for f in ordered if f.item.code == "DJ"]
            for f in registration:
                load_one(f)
            _load_side_by_side(ordered[len(registration) :], load_one, load_workers())
    finally:
        # Also when a file failed: the batches before it are committed, their events due.
        timing["index_seconds"] += restore_indexes()
        transaction.on_commit(run_consumers)
        bar.close()
    seconds = time.monotonic() - started
    return {
        "files": len(ordered),
        **totals,
        "seconds": round(seconds, 3),
        "failed": failed,
        "replayed": replayed,
        "indexes_deferred": deferred,
        "index_seconds": round(timing["index_seconds"], 3),
        "consumer_seconds": round(timing["consumer_seconds"], 3),
        "rows_per_second": round(totals["submitted"] / seconds) if seconds else 0,
    }


def load_workers() -> int:
    """How many files a load writes at once: ``CREDITPLUS_LOAD_WORKERS`` on PostgreSQL
    (default 1: two at once took the Pudong-scale load's peak memory from 2.3 to 3.0–3.4 GiB,
    over its 2.5 GiB budget), one on SQLite (one writer at a time) and inside a surrounding
    transaction (whose rows other connections cannot see)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return settings.LOAD_WORKERS


def _load_side_by_side(
    files: list[LoadFile], load_one: Callable[[LoadFile], None], workers: int
) -> None:
    """Run ``load_one`` over ``files``, ``workers`` at a time, each worker in a thread with
    its own connection: while one file's rows are built in Python the server writes the
    other's. Never two files of one item at once (their natural keys may meet, and a batch
    compares with the current versions as it reads them), and never more than
    ``SIDE_BY_SIDE_ROWS`` rows in files at once unless a file runs alone (a file's frame is
    held while it is written: two large ones would double the peak memory). The largest
    files first, so that the last to finish is a small one. After a worker's error the
    others finish their file and stop, and the error is raised."""
    if workers <= 1:
        for f in files:
            load_one(f)
        return
    waiting = sorted(files, key=_rows, reverse=True)
    busy: dict[int, int] = {}  # item → rows of its file being written
    turn = threading.Condition()
    stop = threading.Event()

    def fits(f: LoadFile) -> bool:
        rows = sum(busy.values()) + _rows(f)
        return f.item.pk not in busy and (not busy or rows <= SIDE_BY_SIDE_ROWS)

    def take() -> LoadFile | None:
        with turn:
            while waiting and not stop.is_set():
                free = next((f for f in waiting if fits(f)), None)
                if free is not None:
                    waiting.remove(free)
                    busy[free.item.pk] = _rows(free)
                    return free
                turn.wait()
            return None

    language = translation.get_language()

    def work() -> None:
        try:
            with translation.override(language), registry_writes_apart():
                while (f := take()) is not None:
                    try:
                        load_one(f)
                    except BaseException:
                        stop.set()
                        raise
                    finally:
                        with turn:
                            del busy[f.item.pk]
                            turn.notify_all()
        finally:
            connection.close()  # this thread's own

    with ThreadPoolExecutor(workers, thread_name_prefix="load") as pool:
        # Each worker in a copy of this context: the audit context (who loads) goes along.
        running = [pool.submit(contextvars.copy_context().run, work) for _ in range(workers)]
        for done in running:
            done.result()


def _rows(f: LoadFile) -> int:
    """A file's rows as the manifest says, else estimated from its size (~150 bytes a row)."""
    return f.rows or f.path.stat().st_size // 150


def _options(f: LoadFile, actor: str) -> IngestOptions:
    return IngestOptions(
        item=f.item,
        department=f.department,
        source=BatchSource.CLI,
        file_name=f.path.name,
        external_id=f.batch_id,
        actor=actor,
        run_consumers=False,
        release_cache=connection.vendor != "sqlite",
        cache_mb=settings.SQLITE_LOAD_CACHE_MB,
        warm=False,
    )


@contextlib.contextmanager
def _sqlite_load_settings() -> Iterator[None]:
    """SQLite outside a transaction: a warm page cache and rare WAL checkpoints for the
    load, SQLite's defaults again afterwards (the connection may serve requests next)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with sqlite_page_cache(settings.SQLITE_LOAD_CACHE_MB):
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_autocheckpoint = 1000")
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


# -- deferred index builds ----------------------------------------------------------------
def should_defer(rows: int) -> bool:
    """Whether a load of ``rows`` rows is large next to the records table (module docstring)."""
    if rows < settings.BULK_INDEX_MIN_ROWS:
        return False
    with connection.cursor() as cursor:
        # The highest id: the row count without counting (ids are never reused).
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM records_creditrecord")
        stored = cursor.fetchone()[0]
    return rows >= REBUILD_SHARE * stored


def index_definition(name: str) -> str | None:
    """The CREATE INDEX statement of index ``name`` as the database holds it; None if absent."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexname = %s",
                [name],
            )
        else:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name]
            )
        row = cursor.fetchone()
    return row[0] if row else None


def drop_deferred_indexes() -> list[str]:
    """Drop ``DEFERRED_INDEXES``, storing each definition in the same transaction — and on
    PostgreSQL switch autovacuum off for their tables in it too (see :func:`_autovacuum`)."""
    dropped = []
    with transaction.atomic(), connection.cursor() as cursor:
        for table, names in DEFERRED_INDEXES.items():
            for name in names:
                definition = index_definition(name)
                if definition is None:
                    continue  # dropped by an earlier load: its definition is stored already
                DeferredIndex.objects.create(name=name, table=table, definition=definition)
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                dropped.append(name)
            if any(n in dropped for n in names):
                _autovacuum(table, on=False)
    return dropped


def restore_indexes(progress: Callable[[str], None] | None = None) -> float:
    """Build every index a bulk load dropped (this one's, or a killed one's), one
    transaction each; the transaction that builds a table's last one switches its autovacuum
    back on, and the table is analysed after it, the events also vacuumed (a kill after the
    switch and before the analysis leaves it to autovacuum). Returns the seconds it took."""
    started = time.monotonic()
    restored = []
    for deferred in DeferredIndex.objects.order_by("pk"):
        if progress:
            progress(deferred.name)
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # A sorted build in memory rather than in temporary files.
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            if index_definition(deferred.name) is None:
                cursor.execute(deferred.definition)
            deferred.delete()
            if not DeferredIndex.objects.filter(table=deferred.table).exists():
                _autovacuum(deferred.table, on=True)
                restored.append(deferred.table)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in restored:
                cursor.execute(f"{_analysis(table)} {connection.ops.quote_name(table)}")
    return time.monotonic() - started


# Tables a bulk load leaves vacuumed, not only analysed: the list triggers count events from
# the covering index alone (`event_subject_kind`), which PostgreSQL does only for pages its
# visibility map marks all-visible, and only VACUUM sets that. Records are read with their
# rows anyway, and vacuuming them (the largest table) is left to autovacuum.
VACUUMED_AFTER_LOAD = ("records_creditevent",)


def _analysis(table: str) -> str:
    """The statement that leaves ``table`` ready to read after a load. VACUUM cannot run in a
    transaction: inside a caller's (a test's) the table is analysed only."""
    if table in VACUUMED_AFTER_LOAD and connection.get_autocommit():
        return "VACUUM (ANALYZE)"
    return "ANALYZE"


def _autovacuum(table: str, *, on: bool) -> None:
    """PostgreSQL: autovacuum of ``table`` off while a bulk load writes it, back to the
    server's setting after. Left on, it vacuums and analyses the growing table again and
    again during the load (for minutes each time, on the cores the load uses). The vacuum is
    postponed, not saved: after the index builds the events are vacuumed at once (it sets the
    visibility map that index-only reads use: ``VACUUMED_AFTER_LOAD``) and the records
    analysed (fresh statistics for the planner), their vacuum left to autovacuum. Switched
    off in the transaction that drops the table's indexes and back on in the one that builds
    the last of them, so a killed load leaves both for the next ``creditplus load`` (or
    ``load --restore-indexes``) to restore; the health report warns meanwhile."""
    if connection.vendor != "postgresql":
        return
    quoted = connection.ops.quote_name(table)
    change = "RESET (autovacuum_enabled)" if on else "SET (autovacuum_enabled = off)"
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quoted} {change}")
