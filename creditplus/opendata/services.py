"""Open data publication (数据开放): daily full files and delta files of the public datasets.

:func:`publish` reads every dataset's public rows (:mod:`creditplus.opendata.datasets`),
compares them with what the previous publication said (the :class:`PublishedItem` state),
and writes under ``VAR_DIR/opendata/<date>/``: ``<dataset>.csv``/``.json`` (everything
public that day), ``<dataset>-delta.csv``/``.json`` (added, changed and removed since the
previous publication) and ``manifest.json`` (files, row counts, SHA-256).

Memory follows a chunk, not the dataset: rows are compared a chunk at a time and spilled
as sorted runs that are merged into the files (see "the comparison" below). A daily run
reads only the records that changed since the previous publication, whose rows it keeps.

Atomic and re-runnable: the files are written to a temporary directory; the state and the
:class:`Publication` row are written in one transaction, at whose end the directory is
renamed into place. A run that dies on the way leaves the previous files and state as they
were. Re-running the latest date starts again from the state before that date (the
``prev_*`` columns of the items it touched), so the same data gives byte-identical files.
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.bulk import chunked, fetch_frame, insert_frame, sqlite_page_cache
from creditplus.csvfiles import write_frame
from creditplus.errors import DomainError
from creditplus.files import sha256_of
from creditplus.opendata.choices import Change, PublicationStatus
from creditplus.opendata.datasets import (
    CHANGE,
    DATASETS,
    FIRST_SEEN,
    KEY,
    LAST_CHANGED,
    Column,
    Dataset,
    Progress,
    no_rows,
    public_ids,
    records_by_id,
)
from creditplus.opendata.models import Publication, PublishedItem
from creditplus.opendata.runs import SORT_KEY, Runs, encoded, write_files

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# The only names a publication's directory holds; downloads accept nothing else.
FILE_NAME = re.compile(r"^(?:[a-z]+(?:-delta)?\.(?:csv|json)|manifest\.json)$")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}

STATE_TABLE = PublishedItem._meta.db_table
STATE_VALUES = (
    "digest",
    "first_seen",
    "last_changed",
    "removed_on",
    "prev_digest",
    "prev_last_changed",
    "prev_removed_on",
)
STATE_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "key": pl.Utf8,
    "digest": pl.Utf8,
    "first_seen": pl.Date,
    "last_changed": pl.Date,
    "removed_on": pl.Date,
    "prev_digest": pl.Utf8,
    "prev_last_changed": pl.Date,
    "prev_removed_on": pl.Date,
}
CHANGE_ORDER = {Change.ADDED.value: 0, Change.CHANGED.value: 1, Change.REMOVED.value: 2}


def opendata_root() -> Path:
    return Path(settings.VAR_DIR) / "opendata"


def publication_dir(day: date) -> Path:
    return opendata_root() / day.isoformat()


def file_path(publication: Publication, name: str) -> Path | None:
    """The path of a file that ``publication``'s manifest lists (or of the manifest itself);
    None for any other name, so that a download can never reach another file."""
    if not FILE_NAME.fullmatch(name):
        return None
    if name != MANIFEST and publication.file(name) is None:
        return None
    path = publication_dir(publication.date) / name
    return path if path.is_file() else None


def file_url(day: date, name: str) -> str:
    """The download path of a file (no language prefix: the files are the same in any)."""
    with translation.override(settings.LANGUAGE_CODE):
        return reverse("opendata:file", args=[day.isoformat(), name])


def content_type(name: str) -> str:
    return CONTENT_TYPES[name.rsplit(".", 1)[1]]


@dataclass
class DatasetResult:
    name: str
    title: str
    rows: int
    added: int
    changed: int
    removed: int

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
        }


@dataclass
class PublishResult:
    publication: Publication
    directory: Path
    datasets: list[DatasetResult]

    def summary(self) -> str:
        pub = self.publication
        since = f"（对比 {pub.previous:%Y-%m-%d}）" if pub.previous else "（首次发布）"
        parts = "；".join(
            f"{d.title} {d.rows:,} 条，新增 {d.added:,}、变更 {d.changed:,}、移出 {d.removed:,}"
            for d in self.datasets
        )
        return (
            f"数据开放 {pub.date:%Y-%m-%d}{since}：{parts}。"
            f"文件目录 {self.directory}，用时 {pub.seconds:.1f} 秒"
        )


class _Plan:
    """One dataset's publication on its way: the sorted runs of its full and delta files
    and the state rows to write, spilled to disk chunk by chunk, and its counts."""

    def __init__(self, dataset: Dataset, columns: tuple[Column, ...], work: Path) -> None:
        self.dataset = dataset
        self.columns = columns
        self.work = work
        self.snapshot = Runs(work, f"{dataset.name}-full")
        self.delta = Runs(work, f"{dataset.name}-delta")
        self.state: list[tuple[Path, Path]] = []
        self.rows = 0
        self.changes: dict[str, int] = {}
        # The rows kept for the next run (records only): ids and keys, and the full file's
        # rows in order (written with the file).
        self.keep = work / "rows" / dataset.name if dataset.item_code else None
        self.kept_ids = 0
        self.source: tuple[Path, Path] | None = None  # the previous full files (daily run)

    def keep_ids(self, ids: pl.DataFrame, always: bool = False) -> None:
        if self.keep is None or not (ids.height or always):
            return
        self.keep.mkdir(parents=True, exist_ok=True)
        ids.select("_id", "key").write_parquet(self.keep / f"ids-{self.kept_ids:05d}.parquet")
        self.kept_ids += 1

    def spill_state(self, stale_ids: pl.Series, state_rows: pl.DataFrame) -> None:
        if not (stale_ids.len() or state_rows.height):
            return
        n = len(self.state)
        paths = (
            self.work / f"{self.dataset.name}-stale-{n:05d}.parquet",
            self.work / f"{self.dataset.name}-state-{n:05d}.parquet",
        )
        stale_ids.rename("id").to_frame().write_parquet(paths[0])
        state_rows.write_parquet(paths[1])
        self.state.append(paths)

    @property
    def result(self) -> DatasetResult:
        return DatasetResult(
            name=self.dataset.name,
            title=str(self.dataset.title),
            rows=self.rows,
            added=self.changes.get(Change.ADDED.value, 0),
            changed=self.changes.get(Change.CHANGED.value, 0),
            removed=self.changes.get(Change.REMOVED.value, 0),
        )


def publish(day: date | None = None, progress: Progress | None = None) -> PublishResult:
    """Publish the open data files of ``day`` (default: today). See the module docstring."""
    today = timezone.localdate()
    day = day or today
    if day > today:
        raise DomainError("opendata_future", _("不能发布未来日期的开放数据"), "date")
    root = opendata_root()
    root.mkdir(parents=True, exist_ok=True)
    with _exclusive(root):
        for leftover in [*root.glob(".tmp-*"), *root.glob(".old-*"), *root.glob(".work-*")]:
            shutil.rmtree(leftover, ignore_errors=True)  # from a run that was killed
        try:
            # The state's (dataset, key) index: millions of lookups and inserts at Pudong.
            with sqlite_page_cache(settings.SQLITE_INGEST_CACHE_MB):
                return _publish(day, root, progress)
        except DomainError:
            raise
        except Exception as exc:
            _record_failure(day, exc)
            raise
        finally:
            shutil.rmtree(_tmp_dir(root, day), ignore_errors=True)  # gone unless it failed
            shutil.rmtree(_work_dir(root, day), ignore_errors=True)


@contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """One publication at a time on this host: the state is read, then written."""
    with open(root / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DomainError(
                "opendata_busy", _("另一个开放数据发布任务正在运行，请稍后再试"), status=409
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tmp_dir(root: Path, day: date) -> Path:
    return root / f".tmp-{day.isoformat()}"


def _work_dir(root: Path, day: date) -> Path:
    """Where a run spills its sorted runs and state rows (never moved into place)."""
    return root / f".work-{day.isoformat()}"


def _publish(day: date, root: Path, progress: Progress | None) -> PublishResult:
    started = time.monotonic()
    done = Publication.objects.done()
    latest = done.order_by("-date").values_list("date", flat=True).first()
    if latest and day < latest:
        raise DomainError(
            "opendata_date_passed",
            _("已发布 %(latest)s 的开放数据，不能再发布更早的日期") % {"latest": latest},
            "date",
        )
    previous = done.filter(date__lt=day).order_by("-date").first()
    tmp, work = _tmp_dir(root, day), _work_dir(root, day)
    tmp.mkdir()
    work.mkdir()
    plans, files = [], []
    # File headers and labels are Chinese, whatever language the caller is using.
    with translation.override(settings.LANGUAGE_CODE):
        for dataset in DATASETS:
            plan = _plan(dataset, day, work, previous, progress)
            plans.append(plan)
            files += _write_files(tmp, plan)
            if progress:
                progress("write", len(plans), len(DATASETS))
    results = [p.result for p in plans]
    counts = {r.name: r.counts() for r in results}
    existing = done.filter(date=day).first()
    if existing and existing.files == files and existing.previous == (previous and previous.date):
        generated_at = existing.generated_at  # same files again: the same manifest, byte for byte
    else:
        generated_at = timezone.now()
    _write_manifest(tmp / MANIFEST, day, previous, generated_at, plans, files)

    final = publication_dir(day)
    old = root / f".old-{day.isoformat()}"
    moved = swapped = False
    try:
        with transaction.atomic():
            # The lock covers one host only: refuse if another publication committed since
            # the state was read (it would be the wrong starting point).
            if done.order_by("-date").values_list("date", flat=True).first() != latest:
                raise DomainError(
                    "opendata_busy", _("开放数据已被另一任务发布，请重试"), status=409
                )
            for plan in plans:
                _write_state(plan)
            publication, _created = Publication.objects.update_or_create(
                date=day,
                defaults={
                    "previous": previous.date if previous else None,
                    "status": PublicationStatus.DONE,
                    "counts": counts,
                    "files": files,
                    "generated_at": generated_at,
                    "seconds": round(time.monotonic() - started, 3),
                    "error": "",
                },
            )
            audit.record(
                "opendata.publish", obj=publication, purpose="数据开放每日发布", after=counts
            )
            # Last, so that nothing after it can fail before the commit.
            if final.exists():
                final.rename(old)
                moved = True
            tmp.rename(final)
            swapped = True
            transaction.on_commit(lambda: shutil.rmtree(old, ignore_errors=True))
    except BaseException:
        # The transaction rolled back: put the previous files back in place.
        if swapped:
            final.rename(tmp)
        if moved:
            old.rename(final)
        raise
    _keep_rows(work, day)
    prune_full_files(settings.CREDITPLUS_OPENDATA_KEEP_FULL)
    return PublishResult(publication, final, results)


def prune_full_files(keep: int) -> int:
    """Delete the full files of all but the ``keep`` latest publications (the next delta
    reads the latest one); their deltas and manifests stay. Returns how many were pruned."""
    pruned = 0
    for publication in Publication.objects.done().order_by("-date")[keep:]:
        full = publication.files_of("snapshot")
        if not full:
            continue
        for entry in full:
            (publication_dir(publication.date) / entry["name"]).unlink(missing_ok=True)
        publication.files = [f for f in publication.files if f not in full]
        publication.save(update_fields=["files"])
        pruned += 1
    return pruned


def _record_failure(day: date, exc: BaseException) -> None:
    """Note an unexpected failure, unless the date already has a good publication."""
    try:
        if not Publication.objects.done().filter(date=day).exists():
            Publication.objects.update_or_create(
                date=day,
                defaults={"status": PublicationStatus.FAILED, "error": repr(exc)[:2000]},
            )
    except Exception:
        logger.exception("could not record the failed open data publication of %s", day)


# --------------------------------------------------------------------------- the comparison
#
# A dataset is compared a chunk of current rows at a time (:meth:`Dataset.chunks`) with the
# stored state of the same keys; then the state rows that no chunk matched (removed items)
# are compared, a chunk at a time too. Every compared chunk spills its part of the full
# file, of the delta file and of the state to write as sorted runs on disk, which are merged
# into the files (:mod:`creditplus.opendata.runs`): memory follows the chunk.

STATE_CHUNK = 50_000
# The previous publication's rows of a 双公示 dataset, kept under VAR_DIR/opendata/.rows/
# <date>/<dataset>/ for the next run: ids-*.parquet (record id and key of each public
# record), full.parquet (each row of the full files in order: where its bytes are in the
# CSV and the JSON file, which the next run copies) and meta.json. Another version
# (of this layout or of how rows are built) makes the next run read everything again.
ROWS_VERSION = 2  # 2: full.parquet holds where each row's bytes are in the full files
FULL_ROWS = "full.parquet"
KEEP_ROWS = 2  # the latest publication's, and the one before for a re-run of the latest


def _rows_root() -> Path:
    return opendata_root() / ".rows"


def _cached_rows(previous: Publication | None, dataset: Dataset, codes: list[str]) -> Path | None:
    """The previous publication's kept rows of ``dataset``, if they are exactly those of
    its full file (its SHA-256) with the same columns; else None (read everything)."""
    if previous is None or not dataset.item_code:
        return None
    directory = _rows_root() / previous.date.isoformat() / dataset.name
    entry = previous.file(f"{dataset.name}.csv")
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    expected = {
        "version": ROWS_VERSION,
        "sha256": entry and entry["sha256"],
        "codes": codes,
        "schema": _records_schema(),
    }
    if meta != expected or _full_files(previous, dataset) is None:
        return None
    return directory


def _full_files(publication: Publication, dataset: Dataset) -> tuple[Path, Path] | None:
    """``publication``'s full CSV and JSON files of ``dataset``, if both are still there."""
    csv_path = file_path(publication, f"{dataset.name}.csv")
    json_path = file_path(publication, f"{dataset.name}.json")
    return (csv_path, json_path) if csv_path and json_path else None


def _records_schema() -> str:
    """The latest applied migration of the records: one that rewrites records in place
    (keys, data) makes the kept rows stale, so the next run reads everything."""
    return (
        MigrationRecorder.Migration.objects.filter(app="records")
        .order_by("-applied", "-id")
        .values_list("name", flat=True)
        .first()
        or ""
    )


def _keep_rows(work: Path, day: date) -> None:
    """Put the rows of the committed publication in place for the next run, and drop the
    older ones. After the commit: if this does not happen the next run reads everything."""
    kept = work / "rows"
    target = _rows_root() / day.isoformat()
    shutil.rmtree(target, ignore_errors=True)
    if kept.is_dir():
        target.parent.mkdir(exist_ok=True)
        kept.rename(target)
    latest = {
        d.isoformat()
        for d in Publication.objects.done()
        .order_by("-date")
        .values_list("date", flat=True)[:KEEP_ROWS]
    }
    for old in _rows_root().glob("*"):
        if old.name not in latest:
            shutil.rmtree(old, ignore_errors=True)


def _state_sql(where: str) -> str:
    names = ", ".join(connection.ops.quote_name(c) for c in STATE_SCHEMA)
    return f"SELECT {names} FROM {connection.ops.quote_name(STATE_TABLE)} WHERE {where}"


def _state_of(dataset: str, keys: pl.Series) -> pl.DataFrame:
    """The stored state rows of ``keys`` (by the (dataset, key) index)."""
    parts = [pl.DataFrame(schema=STATE_SCHEMA)]
    for batch in chunked(keys.to_list(), 5000):
        marks = ", ".join(["%s"] * len(batch))
        sql = _state_sql(f"dataset = %s AND {connection.ops.quote_name('key')} IN ({marks})")
        parts.append(fetch_frame(sql, [dataset, *batch], STATE_SCHEMA))
    return pl.concat(parts, how="vertical")


def _state_pages(dataset: str) -> Iterator[pl.DataFrame]:
    """Every stored state row of ``dataset``, in pages by key (the same index)."""
    key = connection.ops.quote_name("key")
    last = ""
    while True:
        sql = _state_sql(f"dataset = %s AND {key} > %s ORDER BY {key} LIMIT {STATE_CHUNK}")
        page = fetch_frame(sql, [dataset, last], STATE_SCHEMA)
        if page.height:
            yield page
        if page.height < STATE_CHUNK:
            return
        last = page.get_column("key")[-1]


def _baseline(state: pl.DataFrame, day: date) -> pl.DataFrame:
    """The state before ``day``: items that a run for ``day`` already touched (a re-run)
    go back to their previous values, and those it added are not there yet."""
    touched = ((pl.col("last_changed") == day) | (pl.col("removed_on") == day)).fill_null(False)
    born = touched & (pl.col("first_seen") == day)
    return state.filter(~born).select(
        "key",
        "first_seen",
        *[
            pl.when(touched).then(pl.col(f"prev_{c}")).otherwise(pl.col(c)).alias(f"b_{c}")
            for c in ("digest", "last_changed", "removed_on")
        ],
    )


def _is_new() -> pl.Expr:
    """Items added or changed by this publication (after :func:`_target`)."""
    return pl.col("change").is_in([Change.ADDED.value, Change.CHANGED.value]).fill_null(False)


def _target(
    current: pl.DataFrame, baseline: pl.DataFrame, state: pl.DataFrame, day: date
) -> pl.DataFrame:
    """Every item's state after ``day``'s publication: its change, digest and dates, and what
    it was before this publication touched it (``prev_*``)."""
    present = pl.col("digest").is_not_null()
    was_live = pl.col("b_digest").is_not_null() & pl.col("b_removed_on").is_null()
    change = (
        pl.when(present & ~was_live)
        .then(pl.lit(Change.ADDED.value))
        .when(present & (pl.col("digest") != pl.col("b_digest")))
        .then(pl.lit(Change.CHANGED.value))
        .when(~present & was_live)
        .then(pl.lit(Change.REMOVED.value))
        .otherwise(pl.lit(None, dtype=pl.Utf8))
    )
    touched_now = pl.col("change").is_not_null()
    existing = state.select("id", "key", *[pl.col(c).alias(f"s_{c}") for c in STATE_VALUES])
    return (
        current.select("key", "digest")
        .join(baseline, on="key", how="full", coalesce=True)
        .with_columns(change.alias("change"))
        .with_columns(
            pl.when(pl.col("b_digest").is_null())
            .then(pl.lit(day))
            .otherwise(pl.col("first_seen"))
            .alias("first_seen"),
            pl.when(present).then(pl.col("digest")).otherwise(pl.col("b_digest")).alias("digest"),
            pl.when(_is_new())
            .then(pl.lit(day))
            .otherwise(pl.col("b_last_changed"))
            .alias("last_changed"),
            pl.when(pl.col("change") == Change.REMOVED.value)
            .then(pl.lit(day))
            .when(present)
            .then(pl.lit(None, dtype=pl.Date))
            .otherwise(pl.col("b_removed_on"))
            .alias("removed_on"),
        )
        .join(existing, on="key", how="left")
        .with_columns(
            # What the item was before this publication touched it (kept as it is when the
            # publication leaves the item alone).
            pl.when(touched_now)
            .then(pl.col("b_digest").fill_null(""))
            .otherwise(pl.col("s_prev_digest").fill_null(""))
            .alias("prev_digest"),
            *[
                pl.when(touched_now)
                .then(pl.col(f"b_{c}"))
                .otherwise(pl.col(f"s_prev_{c}"))
                .alias(f"prev_{c}")
                for c in ("last_changed", "removed_on")
            ],
        )
    )


def _state_changes(
    dataset: Dataset, state: pl.DataFrame, target: pl.DataFrame
) -> tuple[pl.Series, pl.DataFrame]:
    """The stored state rows to delete (changed or gone) and the rows to write instead."""
    differs = pl.col("id").is_null() | pl.any_horizontal(
        [pl.col(c).ne_missing(pl.col(f"s_{c}")) for c in STATE_VALUES]
    )
    rewritten = target.filter(differs)
    gone = state.join(target.select("key"), on="key", how="anti")
    stale_ids = pl.concat(
        [rewritten.get_column("id").drop_nulls(), gone.get_column("id")], how="vertical"
    )
    state_rows = rewritten.select(
        pl.lit(dataset.name).alias("dataset"),
        "key",
        *[
            pl.col(c).cast(pl.Utf8) if STATE_SCHEMA[c] == pl.Date else pl.col(c)
            for c in STATE_VALUES
        ],
    )
    return stale_ids, state_rows


def _snapshot_key() -> pl.Expr:
    """The full file's order as text: newest ``_sort`` date first (none last), then key."""
    days = pl.col("_sort").cast(pl.Int32)
    newest_first = (pl.lit(1_000_000) - days).cast(pl.Utf8).str.zfill(7).fill_null("9999999")
    return (newest_first + pl.col(KEY.code)).alias(SORT_KEY)


def _delta_key() -> pl.Expr:
    """The delta file's order as text: added, changed, removed, then key."""
    ranks = {change: str(rank) for change, rank in CHANGE_ORDER.items()}
    rank = pl.col(CHANGE.code).replace_strict(ranks, return_dtype=pl.Utf8)
    return (rank + pl.col(KEY.code)).alias(SORT_KEY)


def _spill_chunk(
    plan: _Plan, current: pl.DataFrame, state: pl.DataFrame, day: date, codes: list[str]
) -> None:
    """Compare one chunk and spill its parts of the files and of the state to write."""
    target = _target(current, _baseline(state, day), state, day)
    stale_ids, state_rows = _state_changes(plan.dataset, state, target)
    plan.spill_state(stale_ids, state_rows)
    dates = target.select(
        "key",
        "change",
        pl.col("first_seen").cast(pl.Utf8),
        pl.col("last_changed").cast(pl.Utf8),
    )
    snapshot = current.join(dates, on="key", how="left").select(
        _snapshot_key(), KEY.code, FIRST_SEEN.code, LAST_CHANGED.code, *codes
    )
    plan.snapshot.add(encoded(snapshot))
    delta_columns = [CHANGE.code, KEY.code, FIRST_SEEN.code, LAST_CHANGED.code, *codes]
    live_changes = current.join(dates.filter(_is_new()), on="key", how="inner")
    # A removed item (publicity ended, restored, retracted, taken off its list) is named by
    # its key and dates only: repeating its content would keep publishing what must no
    # longer be public.
    removed = dates.filter(pl.col("change") == Change.REMOVED.value).with_columns(
        pl.lit(None, dtype=pl.Utf8).alias(c) for c in codes
    )
    delta = pl.concat(
        [live_changes.select(delta_columns), removed.select(delta_columns)], how="vertical"
    )
    plan.delta.add(encoded(delta.select(_delta_key(), *delta_columns)))
    for change, count in delta.get_column(CHANGE.code).value_counts().iter_rows():
        plan.changes[change] = plan.changes.get(change, 0) + count


def _plan(
    dataset: Dataset, day: date, work: Path, previous: Publication | None, progress: Progress | None
) -> _Plan:
    """Compare ``dataset`` as of ``day`` with its stored state: the sorted runs of its files
    and the state rows to replace, spilled under ``work``. With the previous publication's
    rows at hand, only what changed since is read and compared."""
    plan = _Plan(dataset, dataset.columns(), work)
    codes = [c.code for c in plan.columns]
    cached = _cached_rows(previous, dataset, codes)
    if cached is None:
        _compare_all(plan, day, codes, progress)
    else:
        assert previous is not None
        plan.source = _full_files(previous, dataset)  # the kept rows' bytes
        rerun = Publication.objects.done().filter(date=day).exists()
        _compare_changes(plan, day, codes, cached, rerun)
    return plan


def _compare_all(plan: _Plan, day: date, codes: list[str], progress: Progress | None) -> None:
    """Every current row, chunk by chunk, then the stored items no chunk matched."""
    name = plan.dataset.name
    matched, nothing = [], pl.DataFrame()
    for current in plan.dataset.chunks(day, progress):
        plan.keep_ids(current)
        state = _state_of(name, current.get_column("key"))
        matched.append(state.get_column("id"))
        _spill_chunk(plan, current, state, day, codes)
        nothing = current.clear()
    # What no current row matched: removed now, or earlier.
    seen = pl.concat(matched, how="vertical").implode()
    for page in _state_pages(name):
        left = page.filter(~pl.col("id").is_in(seen))
        if left.height:
            _spill_chunk(plan, nothing, left, day, codes)


def _compare_changes(plan: _Plan, day: date, codes: list[str], cached: Path, rerun: bool) -> None:
    """Only the items whose public record is not the one the previous publication read
    (added, new versions, no longer public — whatever the reason: retracted, restored,
    expired) and, on a re-run, those the earlier run of the day touched; every other row of
    the full file is the previous one's, unchanged."""
    dataset, item = plan.dataset, plan.dataset.item_code
    now = public_ids(item, day)
    present = now.implode()
    before = pl.scan_parquet(cached / "ids-*.parquet")
    touched = _touched_keys(dataset.name, day) if rerun else pl.Series("key", [], pl.Utf8)
    again = (
        before.filter(pl.col("_id").is_in(present) & pl.col("key").is_in(touched.implode()))
        .select("_id")
        .collect()
        .get_column("_id")
    )
    known = before.select("_id").collect().get_column("_id").implode()
    read = pl.concat([now.filter(~now.is_in(known)), again], how="vertical")
    for part in sorted(cached.glob("ids-*.parquet")):
        ids = pl.read_parquet(part)
        plan.keep_ids(
            ids.filter(pl.col("_id").is_in(present) & ~pl.col("_id").is_in(again.implode()))
        )
    seen = [pl.Series("key", [], pl.Utf8)]
    for current in records_by_id(item, read):
        plan.keep_ids(current)
        seen.append(current.get_column("key"))
        _spill_chunk(plan, current, _state_of(dataset.name, current.get_column("key")), day, codes)
    gone = before.filter(~pl.col("_id").is_in(present)).select("key").collect().get_column("key")
    done = pl.concat(seen, how="vertical")
    rest = pl.concat([gone, touched], how="vertical").unique()
    rest = rest.filter(~rest.is_in(done.implode()))
    for offset in range(0, rest.len(), STATE_CHUNK):
        gone_now = _state_of(dataset.name, rest.slice(offset, STATE_CHUNK))
        _spill_chunk(plan, no_rows(item), gone_now, day, codes)
    plan.snapshot.add_run(cached / FULL_ROWS, pl.concat([done, rest], how="vertical"))


def _touched_keys(dataset: str, day: date) -> pl.Series:
    """The items that an earlier run of ``day`` changed (a re-run starts again from before)."""
    sql = (
        f"SELECT {connection.ops.quote_name('key')} FROM {connection.ops.quote_name(STATE_TABLE)}"
        " WHERE dataset = %s AND (last_changed = %s OR removed_on = %s)"
    )
    return fetch_frame(sql, [dataset, day, day], {"key": pl.Utf8}).get_column("key")


# --------------------------------------------------------------------------- writing


def _write_state(plan: _Plan) -> None:
    for ids_path, rows_path in plan.state:
        ids = pl.read_parquet(ids_path).get_column("id").to_list()
        for batch in chunked(ids, 5000):
            PublishedItem.objects.filter(pk__in=batch).delete()
        insert_frame(STATE_TABLE, pl.read_parquet(rows_path))


def _write_files(directory: Path, plan: _Plan) -> list[dict[str, Any]]:
    meta = (KEY, FIRST_SEEN, LAST_CHANGED)
    name = plan.dataset.name
    full = (*meta, *plan.columns)
    delta = (CHANGE, *meta, *plan.columns)
    keep = None
    if plan.keep:
        plan.keep.mkdir(parents=True, exist_ok=True)
        if not plan.kept_ids:  # an empty dataset: an empty list of ids
            plan.keep_ids(pl.DataFrame(schema={"_id": pl.Int64, "key": pl.Utf8}), always=True)
        keep = plan.keep / FULL_ROWS
    files = [
        *_write_pair(directory, name, name, "snapshot", plan.snapshot, full, keep, plan.source),
        *_write_pair(directory, f"{name}-delta", name, "delta", plan.delta, delta),
    ]
    plan.rows = files[0]["rows"]
    if plan.keep:
        # What the next run checks before it builds on these rows: they are this file's.
        rows_meta = {
            "version": ROWS_VERSION,
            "sha256": files[0]["sha256"],
            "codes": [c.code for c in plan.columns],
            "schema": _records_schema(),
        }
        (plan.keep / "meta.json").write_text(json.dumps(rows_meta), encoding="utf-8")
    return files


def _write_pair(
    directory: Path,
    stem: str,
    dataset: str,
    kind: str,
    runs: Runs,
    columns: tuple[Column, ...],
    keep: Path | None = None,
    source: tuple[Path, Path] | None = None,
) -> list[dict[str, Any]]:
    """``<stem>.csv`` (UTF-8 with a BOM so that spreadsheet software reads the Chinese; the
    header says both label and code, e.g. ``行政相对人名称[XK_XDR_MC]``) and ``<stem>.json``
    (an array of objects keyed by field code), from the merged runs' encoded rows, the kept
    ones copied from ``source`` (the previous full files); with ``keep``, where each row
    went goes there for the next run."""
    csv_path, json_path = directory / f"{stem}.csv", directory / f"{stem}.json"
    header = pl.DataFrame(schema={f"{c.label}[{c.code}]": pl.Utf8 for c in columns})
    with ExitStack() as files:
        csv_file = files.enter_context(open(csv_path, "wb", buffering=0))
        json_file = files.enter_context(open(json_path, "wb", buffering=0))
        sources = source and tuple(files.enter_context(open(p, "rb")) for p in source)
        write_frame(csv_file, header)  # the BOM and the header line
        rows = write_files(runs, csv_file, json_file, sources, keep)  # type: ignore[arg-type]
    return [
        {
            "name": path.name,
            "dataset": dataset,
            "kind": kind,
            "format": fmt,
            "rows": rows,
            "bytes": path.stat().st_size,
            "sha256": sha256_of(path),
        }
        for path, fmt in ((csv_path, "csv"), (json_path, "json"))
    ]


def _write_manifest(
    path: Path,
    day: date,
    previous: Publication | None,
    generated_at: Any,
    plans: list[_Plan],
    files: list[dict[str, Any]],
) -> None:
    manifest = {
        "publisher": str(settings.PLATFORM_NAME),
        "date": day.isoformat(),
        "previous": previous.date.isoformat() if previous else None,
        "generated_at": timezone.localtime(generated_at).isoformat(timespec="seconds"),
        "datasets": [
            {
                "name": p.dataset.name,
                "title": str(p.dataset.title),
                "description": str(p.dataset.description),
                **p.result.counts(),
                "columns": [
                    {"code": c.code, "label": c.label}
                    for c in (KEY, FIRST_SEEN, LAST_CHANGED, *p.columns)
                ],
            }
            for p in plans
        ],
        "files": files,
    }
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- reading


def latest_publication() -> Publication | None:
    return Publication.objects.done().order_by("-date").first()


def dataset_guide() -> list[dict[str, Any]]:
    """The datasets and their columns, for the index page and the API."""
    return [
        {
            "name": d.name,
            "title": str(d.title),
            "description": str(d.description),
            "columns": [KEY, FIRST_SEEN, LAST_CHANGED, *d.columns()],
        }
        for d in DATASETS
    ]
