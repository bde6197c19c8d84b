"""Loading a directory of department files (demo data, benchmarks) through the normal
ingest path, registration data first so that subjects get their registered names.

The event consumers (lists, monitoring…) run once after the last file rather than after
every file: they read from their own cursors, so one run over all the new events does the
same work as one run per file, without each run's fixed costs (a few queries per list type,
bulk writes of a few rows). A load killed before that run leaves the events to the next
ingest or maintenance run, as a crash between a batch and its consumers always did.

On SQLite the page cache stays warm from one file to the next, and the WAL is checkpointed
(copied into the database file) once it reaches ``WAL_CHECKPOINT_PAGES`` instead of after
every commit: each batch rewrites many of the same index pages, and a checkpoint per batch
wrote them all again and synced the file each time. Every batch still commits on its own."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from tqdm import tqdm

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.records import consumers
from creditplus.records.choices import BatchSource
from creditplus.records.ingest import IngestOptions, ingest_file

# SQLite's default is 1,000 pages (4 MB); 1 GiB of WAL between checkpoints during a load.
WAL_CHECKPOINT_PAGES = 262_144


def load_demo_files(
    out_dir: Path,
    files: list[dict[str, Any]],
    *,
    seed: int,
    actor: str = "",
    show_progress: bool = False,
    stream: IO[str] | None = None,
) -> dict[str, Any]:
    """Ingest every file of a demo manifest; each file is one batch whose batch id is derived
    from the seed and the file, so loading twice ingests nothing twice. The event consumers
    run once at the end (after commit); ``seconds`` includes them and ``consumer_seconds``
    is their share (0 when they are left to the surrounding transaction's commit)."""
    items = {i.code: i for i in CatalogItem.objects.all()}
    departments = {d.code: d for d in Department.objects.all()}
    ordered = sorted(files, key=lambda f: (f["item"] != "DJ", f["path"]))
    totals = dict.fromkeys(("submitted", "accepted", "updated", "unchanged", "rejected"), 0)
    started = time.monotonic()
    bar = tqdm(
        total=sum(f["rows"] for f in ordered),
        unit="行",
        desc="归集",
        disable=not show_progress,
        file=stream,
    )
    timing = {"consumer_seconds": 0.0}

    def run_consumers() -> None:
        t = time.monotonic()
        consumers.run_all()
        timing["consumer_seconds"] = time.monotonic() - t

    sqlite = connection.vendor == "sqlite" and not connection.in_atomic_block
    if sqlite:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = -{settings.SQLITE_INGEST_CACHE_MB * 1024}")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
    try:
        for f in ordered:
            batch = ingest_file(
                (out_dir / f["path"]).read_bytes(),
                IngestOptions(
                    item=items[f["item"]],
                    department=departments[f["department"]],
                    source=BatchSource.CLI,
                    file_name=Path(f["path"]).name,
                    external_id=_batch_id(seed, f["path"]),
                    actor=actor,
                    run_consumers=False,
                    release_cache=not sqlite,
                ),
            )
            for key in totals:
                totals[key] += getattr(batch, key)
            bar.update(f["rows"])
    finally:
        # Also when a file failed: the batches before it are committed and their events
        # are due. Immediately outside a transaction (the SQLite settings above still in
        # force); inside one, after it commits, like each batch's own run.
        transaction.on_commit(run_consumers)
        if sqlite:
            # Back to SQLite's defaults: the connection may serve requests next.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_autocheckpoint = 1000")
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                cursor.execute("PRAGMA cache_size = -2000")
    bar.close()
    seconds = time.monotonic() - started
    return {
        **totals,
        "files": len(ordered),
        "seconds": seconds,
        "consumer_seconds": timing["consumer_seconds"],
        "rows_per_second": totals["submitted"] / seconds if seconds else 0.0,
    }


def _batch_id(seed: int, path: str) -> str:
    return f"demo-{seed}-{hashlib.sha1(path.encode()).hexdigest()[:20]}"  # noqa: S324 — an id, not security
