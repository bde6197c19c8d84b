"""Ingest (归集): one service behind the upload page, the API and `creditplus ingest`.

A batch is validated (vectorized) and written in ONE transaction: subjects, new record
versions, behavior events, rejected rows and the batch with its counts. Big files go through
in chunks of rows inside that transaction, so memory stays bounded by the chunk. A killed
ingest therefore leaves nothing behind, and running it again completes it. Re-submitting the
same rows changes nothing (they are "unchanged"); a changed row under the same natural key
becomes a new version and the old version is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import queue
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.models import Department
from creditplus.bulk import (
    fetch_frame,
    in_values,
    insert_frame,
    probe_each,
    reserve_ids,
    timestamp_text,
)
from creditplus.catalog import calendar
from creditplus.catalog.models import BehaviorRule, CatalogItem, CodeTable
from creditplus.catalog.schema import ItemSpec
from creditplus.errors import DomainError
from creditplus.records import consumers
from creditplus.records.choices import BatchSource, BatchStatus
from creditplus.records.models import IngestBatch, ReportingAuthority
from creditplus.records.readers import Table, read_table, rows_to_frame
from creditplus.records.validation import (
    ERROR_SCHEMA,
    ROW,
    RowValidator,
    columns_warning,
    condition_expr,
    natural_keys,
)
from creditplus.subjects import pii
from creditplus.subjects.services import (
    existing_subjects,
    legal_rep_people,
    link_legal_representatives,
    resolve_subjects,
    subject_keys,
    touch_subjects,
    update_registry,
)

logger = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
# A file is validated and written CHUNK_ROWS rows at a time, all in the batch's one
# transaction: memory follows the chunk, not the file (an 887,000-row file took 6.2 GiB whole).
# Two chunks are in memory at once (the next one is validated while this one is written).
CHUNK_ROWS = 50_000
# A batch of fewer rows reads few pages at random: warming them (warm_pages) would cost more
# in connections than it saves.
WARM_MIN_ROWS = 1_000
# The warm-up first reads this sample of the batch's rows twice on the batch's connection.
# The second read finds the sample's pages in memory; a first read more than WARM_COLD_RATIO
# times as long (and more than WARM_COLD_ROW_SECONDS a row) means the batch's pages are on
# disk. A fixed time alone misjudged PostgreSQL, whose statements cost more in memory
# (128 rows: 14-81 ms in memory, 123-237 ms on disk; SQLite 12-13 and 98-156 ms).
WARM_SAMPLE_ROWS = 128
WARM_COLD_RATIO = 4
WARM_COLD_ROW_SECONDS = 0.000_4
RECORD_TABLE = "records_creditrecord"
EVENT_TABLE = "records_creditevent"
ERROR_TABLE = "records_rowerror"
# What a batch may store about its rejected rows: the first MAX_STORED_REJECTED rows in full
# (their errors, and their values once, each cell cut to a share of MAX_RAW_CHARS); beyond
# that only the counts per code in the batch's stats. At most ~10,000 × 32 KB whatever the file.
MAX_STORED_REJECTED = 10_000
MAX_RAW_CHARS = 32_000
# A cell longer than this is refused whatever its field (the longest real texts, 违法事实,
# stay under 4,000 characters).
MAX_CELL_CHARS = 10_000
# SQLite: after a batch of this many rows, the write-ahead log is folded back into the
# database and truncated, instead of staying as large as the batch until some later reader.
WAL_CHECKPOINT_ROWS = 50_000


@dataclass
class IngestOptions:
    item: CatalogItem
    department: Department
    source: str = BatchSource.CLI
    file_name: str = ""
    external_id: str = ""
    actor: str = ""
    today: date | None = None
    progress: Progress | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Run the event consumers after the batch commits. A multi-file load turns this off and
    # runs them once at the end: they are cursor-based, so nothing is lost or done twice.
    run_consumers: bool = True
    # Shrink SQLite's page cache back to the default after the batch (a web process keeps its
    # connection). A multi-file load keeps it warm for the next file instead.
    release_cache: bool = True
    # SQLite's page cache during the batch, in MB (0: CREDITPLUS_SQLITE_INGEST_CACHE_MB).
    cache_mb: int = 0
    # Read the batch's random pages side by side before writing (warm_pages). A bulk load
    # turns it off: its rows are most of the database, and it builds the indexes afterwards.
    warm: bool = True


def ingest_file(content: bytes, options: IngestOptions, fmt: str | None = None) -> IngestBatch:
    """Ingest a file's bytes (CSV in UTF-8/BOM/GB18030, XLSX or JSON; detected)."""
    return _ingest_read(lambda: content, options, fmt)


def ingest_path(path: Path, options: IngestOptions) -> IngestBatch:
    """:func:`ingest_file` of a file on disk (a bulk load's), read only if its batch is not
    a replay, and its bytes let go once parsed: a file of hundreds of MB is not held beside
    its frame while it is written."""
    return _ingest_read(path.read_bytes, options, None)


def _ingest_read(read: Callable[[], bytes], options: IngestOptions, fmt: str | None) -> IngestBatch:
    _check_allowed(options)
    replay = _replayed(options)
    if replay:
        return replay
    content = read()
    digest = hashlib.sha256(content).hexdigest()
    try:
        table = read_table(content, options.file_name, fmt)
    except DomainError as exc:
        return _failed_batch(options, exc, digest)
    del content  # the only reference when read from disk (ingest_path)
    return _ingest_table(table, options, digest)


def ingest_rows(rows: list[dict[str, Any]], options: IngestOptions) -> IngestBatch:
    """Ingest JSON rows (the API's ``rows`` body)."""
    _check_allowed(options)
    replay = _replayed(options)
    if replay:
        return replay
    try:
        table = Table(rows_to_frame(rows), "json", "utf-8")
    except DomainError as exc:
        return _failed_batch(options, exc, "")
    return _ingest_table(table, options, "")


def _check_allowed(options: IngestOptions) -> None:
    if not options.item.is_active:
        raise DomainError(
            "item_inactive", _("信息事项 %(code)s 已停用") % {"code": options.item.code}, "item"
        )
    if not options.item.is_provided_by(options.department):
        raise DomainError(
            "item_not_provided",
            _("%(dept)s 不是信息事项「%(item)s」的提供部门")
            % {"dept": options.department.name, "item": options.item.name},
            "item",
            status=403,
        )


def _replayed(options: IngestOptions) -> IngestBatch | None:
    """A batch id the department already used: return that batch, change nothing."""
    if not options.external_id:
        return None
    batch = IngestBatch.objects.filter(
        department=options.department, external_id=options.external_id
    ).first()
    if batch is not None and batch.item_id != options.item.pk:
        raise DomainError(
            "batch_id_conflict",
            _("批次号 %(id)s 已用于另一信息事项") % {"id": options.external_id},
            "batch_id",
        )
    return batch


def _new_batch(options: IngestOptions, digest: str, **fields: Any) -> IngestBatch:
    return IngestBatch.objects.create(
        department=options.department,
        item=options.item,
        source=options.source,
        external_id=options.external_id,
        file_name=options.file_name[:255],
        file_sha256=digest,
        created_by=options.actor,
        **fields,
    )


def _failed_batch(options: IngestOptions, exc: DomainError, digest: str) -> IngestBatch:
    with transaction.atomic():
        batch = _new_batch(
            options,
            digest,
            status=BatchStatus.FAILED,
            error_code=exc.code,
            error_message=str(exc.message)[:500],
        )
        audit.record(
            "ingest.batch",
            obj=batch,
            purpose=_("数据归集"),
            after={**batch.counts(), "error": exc.code},
        )
    return batch


# --------------------------------------------------------------------------------------
def map_headers(table: Table, spec: ItemSpec) -> tuple[pl.DataFrame, list[str]]:
    """Rename submitted headers (Chinese labels or field codes) to field codes; report
    unknown (ignored) columns; refuse a file that lacks a required column."""
    header_map = spec.header_map
    renames: dict[str, str] = {}
    ignored: list[str] = []
    for column in table.frame.columns:
        target = header_map.get(column) or header_map.get(column.upper())
        if target is None:
            ignored.append(column)
        elif target in renames.values():
            # The same field twice, e.g. once by its label and once by its code.
            raise DomainError(
                "column_duplicated", _("列「%(col)s」重复") % {"col": column[:50]}, "file"
            )
        else:
            renames[column] = target
    if not renames:
        raise DomainError(
            "header_unknown",
            _("表头与信息事项「%(item)s」的字段不符：请使用字段中文名称或字段编码")
            % {"item": spec.name},
            "file",
        )
    missing = [f.label for f in spec.fields if f.required and f.code not in renames.values()]
    if missing:
        raise DomainError(
            "columns_missing", _("文件缺少必填列：%(cols)s") % {"cols": "、".join(missing)}, "file"
        )
    frame = table.frame.select([pl.col(src).alias(dst) for src, dst in renames.items()])
    frame = frame.with_columns(
        [
            pl.lit(None, dtype=pl.Utf8).alias(f.code)
            for f in spec.fields
            if f.code not in frame.columns
        ]
    )
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.UInt32))
    return frame, ignored


def _ingest_table(table: Table, options: IngestOptions, digest: str) -> IngestBatch:
    started = time.monotonic()
    spec = options.item.spec
    today = options.today or timezone.localdate()
    progress = options.progress or (lambda stage, done, total: None)
    submitted = table.frame.height
    try:
        frame, ignored = map_headers(table, spec)
    except DomainError as exc:
        return _failed_batch(options, exc, digest)
    tables = {t.code: t.lookup() for t in CodeTable.objects.all()}
    chunks = validated_ahead(frame, RowValidator(spec, tables, today), spec, progress)
    # The first chunk is validated before the write lock is taken: a daily batch is one chunk.
    first = next(chunks)
    warm_started = time.monotonic()
    warm_up = {"subjects": warm_pages(first.valid, options.item) if options.warm else 0}
    warm_up["seconds"] = round(time.monotonic() - warm_started, 3)
    raw = table.frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.UInt32))
    now = timezone.now()
    if connection.vendor == "sqlite":
        # Index maintenance on large tables is bound by the page cache (default 2 MB).
        with connection.cursor() as cursor:
            megabytes = options.cache_mb or settings.SQLITE_INGEST_CACHE_MB
            cursor.execute(f"PRAGMA cache_size = -{megabytes * 1024}")
    try:
        with transaction.atomic():
            batch = _new_batch(
                options,
                digest,
                file_format=table.format,
                encoding=table.encoding,
                status=BatchStatus.DONE,
            )
            counts = dict.fromkeys(("accepted", "updated", "unchanged", "rejected"), 0)
            stats: dict[str, Any] = {}
            for chunk in itertools.chain([first], chunks):
                written = _write(
                    chunk,
                    raw.slice(chunk.start, CHUNK_ROWS),
                    table.frame.columns,
                    batch,
                    options,
                    today,
                    now,
                    progress,
                    MAX_STORED_REJECTED - stats.get("rejected_stored", 0),
                )
                for name, value in written.counts.items():
                    counts[name] += value
                _add_stats(stats, written.stats)
                _add_stats(stats, chunk.stats)
            stats["ignored_columns"] = ignored
            stats["warm_up"] = warm_up
            stats["file_warnings"] = [w for w in [columns_warning(ignored)] if w]
            # The counts reconcile (a constraint) once, here: zero before, all rows after.
            IngestBatch.objects.filter(pk=batch.pk).update(
                submitted=submitted,
                **counts,
                stats=stats,
                seconds=round(time.monotonic() - started, 3),
            )
            batch.refresh_from_db()
            audit.record("ingest.batch", obj=batch, purpose=_("数据归集"), after=batch.counts())
    finally:
        sqlite = connection.vendor == "sqlite"
        if options.release_cache and sqlite and not connection.in_atomic_block:
            # Connections outlive the request (CONN_MAX_AGE): give the page cache back
            # (SQLite's default), also when the batch failed.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -2000")
    # Consumers (lists, evaluation…) read the new events after commit; a crash here loses
    # nothing, because their maintenance commands read from their own cursor again.
    if options.run_consumers:
        transaction.on_commit(consumers.run_all)
    if submitted >= WAL_CHECKPOINT_ROWS:
        checkpoint_wal()  # after the consumers, which run right away outside a transaction
    return batch


def warm_pages(valid: pl.DataFrame, item: CatalogItem) -> int:
    """Read the pages that writing ``valid`` (validated rows of ``item``) will read and write
    at random, on ``INGEST_WARM_CONNECTIONS`` connections side by side, before the batch
    takes its write lock, if they are not in memory; returns how many stored subjects' pages
    were read that way (0: not needed, or off).

    Each row of a daily batch reads its subject's registry row and legal representative and
    writes one leaf at a random place in ``one_current_version``, ``record_subject_item`` and
    ``event_subject_kind``. Where these pages are not in memory (after a bulk load, a
    restart, on a host short of memory), one connection reads them one after another, each
    at the disk's full latency; several read them concurrently, and the batch then finds them
    in memory (the OS page cache on SQLite, shared buffers on PostgreSQL). A sample of the
    rows, read twice first, tells whether they are (``WARM_COLD_RATIO``): in memory, the
    warm-up would only repeat the batch's own look-ups. It writes nothing, and a failure
    costs only its gain (docs/ingest.md)."""
    workers = settings.INGEST_WARM_CONNECTIONS
    if workers < 1 or valid.height < WARM_MIN_ROWS:
        return 0
    sample = valid.sample(min(WARM_SAMPLE_ROWS, valid.height), seed=0)
    try:
        # A savepoint inside a caller's transaction: a failed read must not abort it.
        with transaction.atomic():
            first, second = (_timed(_read_pages, sample, item) for _ in range(2))
    except Exception:  # best effort: the batch reads the same itself, and reports its errors
        logger.warning("ingest warm-up failed", exc_info=True)
        return 0
    if first < max(WARM_COLD_RATIO * second, sample.height * WARM_COLD_ROW_SECONDS):
        return 0
    size = -(-valid.height // workers)
    parts = [valid.slice(start, size) for start in range(0, valid.height, size)]
    with ThreadPoolExecutor(len(parts), thread_name_prefix="warm") as pool:
        return sum(pool.map(lambda part: _warm_part(part, item), parts))


def _timed(function: Callable[..., Any], *args: Any) -> float:
    """Seconds that ``function(*args)`` takes."""
    started = time.monotonic()
    function(*args)
    return time.monotonic() - started


def _warm_part(part: pl.DataFrame, item: CatalogItem) -> int:
    """:func:`_read_pages` on this thread's own connection, closed afterwards."""
    try:
        return _read_pages(part, item)
    except Exception:  # best effort, as the sample
        logger.warning("ingest warm-up failed", exc_info=True)
        return 0
    finally:
        connection.close()


def _read_pages(part: pl.DataFrame, item: CatalogItem) -> int:
    """Read what writing ``part`` reads and the leaves it writes at random (no more: one
    probe per subject in each subject-keyed index); returns the stored subjects found."""
    spec = item.spec
    found = existing_subjects(subject_keys(_subject_rows(part, spec)))
    people = legal_rep_people(part, spec)
    if people.height:
        existing_subjects(subject_keys(people.drop("organisation_id")))
    current_versions(part.get_column("natural_key"), item)
    ids = found.get_column("subject_id").unique().sort().to_list()
    # A new entry goes after the equal ones (its id is the largest): on SQLite, whose index
    # entries end with the id, the last of them is read; PostgreSQL reads the first.
    last = "ORDER BY id DESC " if connection.vendor == "sqlite" else ""
    probe_each(
        f"SELECT 1 FROM {RECORD_TABLE} WHERE subject_id = k.v AND item_id = %s {last}LIMIT 1",
        ids,
        [item.pk],
    )
    probe_each(f"SELECT count(*) FROM {EVENT_TABLE} WHERE subject_id = k.v", ids)
    probe_each(
        "SELECT 1 FROM subjects_subjectrelation WHERE organisation_id = k.v AND role = %s LIMIT 1",
        ids,
        ["legal_rep"],
    )
    if spec.decision_date:
        dates = part.get_column(spec.decision_date).drop_nulls().unique().sort().to_list()
        probe_each(
            f"SELECT 1 FROM {RECORD_TABLE} WHERE item_id = %s AND decision_date = k.v "
            f"{last}LIMIT 1",
            dates,
            [item.pk],
            "date",
        )
    return len(ids)


def checkpoint_wal() -> None:
    """SQLite: fold the write-ahead log into the database and truncate it (a large batch
    leaves a WAL as large as itself). Outside a transaction only; a no-op elsewhere."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@dataclass
class _Chunk:
    start: int  # offset of the chunk's first row in the file
    rows: int
    submitted: int  # rows in the whole file
    valid: pl.DataFrame  # normalized, with natural_key; no rejected row
    errors: pl.DataFrame
    warnings: pl.DataFrame
    stats: dict[str, Any]


def validated_ahead(
    frame: pl.DataFrame, validator: RowValidator, spec: ItemSpec, progress: Progress
) -> Iterator[_Chunk]:
    """The chunks of ``frame`` (:func:`_validated_chunks`), each validated in a helper thread
    while the caller writes the one before: the write mostly waits for PostgreSQL's server or
    SQLite's C code (both without the GIL), so the two overlap on two cores.

    Validation reads the database once, to find old identifiers' subjects; that read is
    handed to the caller's thread, so that it runs on the caller's connection and inside its
    transaction (the batch's own new subjects included), between two of its writes. Progress
    is reported in the caller's thread too, and the helper writes messages in the caller's
    language (Django's active language is per thread)."""
    language = translation.get_language()
    calls: queue.SimpleQueue[tuple[Future[Any], list[str], list[str]] | None] = queue.SimpleQueue()
    lookup = validator.legacy_lookup

    def in_caller(org_codes: list[str], reg_nos: list[str]) -> Any:
        answer: Future[Any] = Future()
        calls.put((answer, org_codes, reg_nos))
        return answer.result()

    validator.legacy_lookup = in_caller
    chunks = _validated_chunks(frame, validator, spec)

    def following() -> _Chunk | None:
        try:
            with translation.override(language):
                return next(chunks, None)
        finally:
            calls.put(None)

    def result(pending: Future[_Chunk | None]) -> _Chunk | None:
        while (call := calls.get()) is not None:
            answer, org_codes, reg_nos = call
            try:
                answer.set_result(lookup(org_codes, reg_nos))
            except BaseException as exc:  # raised again in the helper, then here
                answer.set_exception(exc)
        return pending.result()

    with ThreadPoolExecutor(1, thread_name_prefix="ingest-validate") as helper:
        pending: Future[_Chunk | None] | None = helper.submit(following)
        try:
            while pending is not None:
                awaited, pending = pending, None
                chunk = result(awaited)  # its end-marker read: nothing left to wait for
                if chunk is None:
                    break
                pending = helper.submit(following)
                progress("validate", chunk.start + chunk.rows, chunk.submitted)
                yield chunk
        finally:
            # A write failed, or the batch ended early: let a validation already running
            # finish (answering its read), so that nothing advances ``chunks`` after this.
            if pending is not None and not pending.cancel():
                with contextlib.suppress(Exception):
                    result(pending)
            validator.legacy_lookup = lookup


def _validated_chunks(
    frame: pl.DataFrame, validator: RowValidator, spec: ItemSpec
) -> Iterator[_Chunk]:
    """Validate ``frame`` CHUNK_ROWS rows at a time (at least one chunk, also for a file
    without rows). A row whose natural key an earlier valid row of the batch has, in this
    chunk or an earlier one, is rejected as ``duplicate_in_batch``: the first row wins."""
    submitted = frame.height
    kept = pl.DataFrame(schema={"natural_key": pl.Utf8, "_first": pl.UInt32})
    for start in range(0, max(submitted, 1), CHUNK_ROWS):
        part = frame.slice(start, CHUNK_ROWS)
        validated = validator.validate(part)
        errors = pl.concat([validated.errors, cell_errors(part, spec)])
        valid = validated.frame.filter(~pl.col(ROW).is_in(errors.get_column(ROW).implode()))
        valid = valid.with_columns(natural_keys(valid, spec))
        earlier = valid.join(kept, on="natural_key")
        repeated = valid.join(kept, on="natural_key", how="anti").filter(
            pl.col("natural_key").is_duplicated()
        )
        first = repeated.group_by("natural_key").agg(pl.col(ROW).min().alias("_first"))
        later = pl.concat(
            [
                earlier.select(ROW, "_first"),
                repeated.join(first, on="natural_key")
                .filter(pl.col(ROW) != pl.col("_first"))
                .select(ROW, "_first"),
            ]
        )
        if later.height:
            errors = pl.concat(
                [
                    errors,
                    pl.DataFrame(
                        {
                            ROW: later.get_column(ROW),
                            "field": [spec.natural_key[0]] * later.height,
                            "code": ["duplicate_in_batch"] * later.height,
                            "message": [
                                _("与本批次第 %(row)s 行业务主键重复") % {"row": r}
                                for r in later.get_column("_first").to_list()
                            ],
                        },
                        schema=ERROR_SCHEMA,
                    ),
                ]
            )
            valid = valid.filter(~pl.col(ROW).is_in(later.get_column(ROW).implode()))
        kept = pl.concat([kept, valid.select("natural_key", pl.col(ROW).alias("_first"))])
        rows = min(CHUNK_ROWS, max(submitted - start, 0))
        yield _Chunk(start, rows, submitted, valid, errors, validated.warnings, validated.stats)


def cell_errors(frame: pl.DataFrame, spec: ItemSpec) -> pl.DataFrame:
    """Cells no field may hold: a NUL character (binary garbage; PostgreSQL cannot store it)
    and a value over MAX_CELL_CHARS. One error per row and problem, naming the first field."""
    labels = {f.code: f.label for f in spec.fields if f.code in frame.columns}
    checks = (
        ("value_nul", lambda c: pl.col(c).str.contains("\x00", literal=True), _("含有 NUL 空字符")),
        (
            "value_too_large",
            lambda c: pl.col(c).str.len_chars() > MAX_CELL_CHARS,
            _("超过 %(n)s 个字符的上限") % {"n": MAX_CELL_CHARS},
        ),
    )
    problems = [pl.DataFrame(schema=ERROR_SCHEMA)]
    for code, check, text in checks:
        first = pl.coalesce(
            [pl.when(check(c).fill_null(False)).then(pl.lit(c)) for c in labels]
            or [pl.lit(None, dtype=pl.Utf8)]
        )
        hits = frame.select(ROW, first.alias("field")).filter(pl.col("field").is_not_null())
        problems.append(
            hits.select(
                ROW,
                "field",
                pl.lit(code).alias("code"),
                (
                    "「"
                    + pl.col("field").replace_strict(labels, return_dtype=pl.Utf8)
                    + f"」{text}"
                ).alias("message"),
            )
        )
    return pl.concat(problems)


def _add_stats(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Add a chunk's quality figures to the batch's: counts add up, the rest (the timeliness
    limit) is the same for every chunk."""
    for key, value in part.items():
        if isinstance(value, dict):
            _add_stats(total.setdefault(key, {}), value)
        elif isinstance(value, int) and not isinstance(value, bool) and key != "limit":
            total[key] = total.get(key, 0) + value
        else:
            total[key] = value


def record_values(valid: pl.DataFrame, spec: ItemSpec) -> pl.DataFrame:
    """Add the ``data`` column: the record's normalized values as compact JSON, personal
    fields sealed (deterministic encryption, so that equal rows still compare equal)."""
    personal = [f.code for f in spec.fields if f.personal]
    if personal:
        sealed = {}
        for code in personal:
            values = valid.get_column(code).drop_nulls().unique().to_list()
            sealed[code] = {v: pii.seal(v) for v in values}
        valid = valid.with_columns(
            [
                pl.col(c).replace_strict(sealed[c], default=None, return_dtype=pl.Utf8)
                for c in personal
            ]
        )
    data = pl.struct([f.code for f in spec.fields]).struct.json_encode()
    # Absent fields are left out instead of written as null: half the size of a typical row.
    data = data.str.replace_all(r',"[A-Za-z0-9_]+":null', "").str.replace(
        r'^\{"[A-Za-z0-9_]+":null,?', "{"
    )
    return valid.with_columns(data.alias("data"))


@dataclass
class _Written:
    counts: dict[str, int]
    stats: dict[str, Any]


def _write(
    chunk: _Chunk,
    raw: pl.DataFrame,
    columns: list[str],
    batch: IngestBatch,
    options: IngestOptions,
    today: date,
    now: datetime,
    file_progress: Progress,
    error_room: int,
) -> _Written:
    """Write one chunk of the batch (inside its transaction): subjects, new record versions,
    behavior events and rejected rows (the first ``error_room`` of them in full); ``raw`` is
    the chunk's rows as submitted."""
    item, spec = options.item, options.item.spec
    # One look-up of the chunk's keys among the current versions serves the ownership
    # check and the comparison (inside the transaction: the write builds on this read).
    current = current_versions(chunk.valid.get_column("natural_key"), item)
    valid, refused = refuse_foreign_rows(chunk.valid, item, options.department, current)
    errors, warnings = pl.concat([chunk.errors, refused]), chunk.warnings

    def progress(stage: str, done: int, total: int) -> None:
        file_progress(
            stage, chunk.start + round(done / max(total, 1) * chunk.rows), chunk.submitted
        )

    progress("subjects", 0, valid.height)
    valid, new_subjects = _with_subjects(valid, warnings, spec, now)
    progress("compare", 0, valid.height)
    fresh, changed, unchanged = compare_current(valid, item, current)
    to_write = pl.concat([fresh, changed], how="vertical")
    counts = {
        "accepted": fresh.height,
        "updated": changed.height,
        "unchanged": unchanged.height,
        "rejected": errors.get_column(ROW).n_unique(),
    }
    stats = _quality_stats(to_write, spec, errors, warnings, new_subjects, today, now)
    stored = errors.select(pl.col(ROW).unique().sort().head(max(error_room, 0)))
    stats["rejected_stored"] = stored.height
    stats["rejected_not_stored"] = counts["rejected"] - stored.height

    progress("write", 0, to_write.height)
    _supersede(changed.get_column("old_id").to_list())
    stats["events"] = _insert_versions(to_write, batch, options, today, now)
    progress("write", to_write.height, to_write.height)
    stored_errors = errors.join(stored, on=ROW, how="semi")
    insert_frame(ERROR_TABLE, _error_rows(raw, columns, stored_errors, batch, spec))
    _update_subjects(to_write, spec, now)
    return _Written(counts, stats)


def _subject_rows(valid: pl.DataFrame, spec: ItemSpec) -> pl.DataFrame:
    """The rows' subjects as :func:`resolve_subjects` takes them."""
    s = spec.subject
    return valid.select(
        ROW,
        pl.col("__kind").alias("kind"),
        (pl.col(s.uscc) if s.uscc else pl.lit(None, dtype=pl.Utf8)).alias("uscc"),
        (pl.col(s.id_type) if s.id_type else pl.lit(None, dtype=pl.Utf8)).alias("id_type"),
        (pl.col(s.id_number) if s.id_number else pl.lit(None, dtype=pl.Utf8)).alias("id_number"),
        pl.col(s.name).alias("name"),
    )


def _with_subjects(
    valid: pl.DataFrame, warnings: pl.DataFrame, spec: ItemSpec, now: datetime
) -> tuple[pl.DataFrame, int]:
    """Find or create each row's subject; add ``subject_id``, the row's ``flags`` (a name
    that differs from the registered one, its warnings) and its ``data``. Returns the rows
    and how many subjects were created."""
    s = spec.subject
    resolved, new_subjects = resolve_subjects(_subject_rows(valid, spec), now=now)
    valid = valid.join(
        resolved.select(ROW, "subject_id", "subject_name_registered"), on=ROW, how="left"
    )
    flags = (
        pl.when(pl.col("subject_name_registered") != pl.col(s.name))
        .then(pl.lit("name_mismatch"))
        .otherwise(pl.lit(""))
    )
    warned = warnings.group_by(ROW).agg(pl.col("code").unique().sort().str.join(",").alias("_warn"))
    valid = valid.join(warned, on=ROW, how="left").with_columns(
        pl.concat_str([flags, pl.col("_warn").fill_null("")], separator=",")
        .str.strip_chars(",")
        .alias("flags")
    )
    return record_values(valid, spec), new_subjects


def _supersede(old_ids: list[int]) -> None:
    """The replaced versions stop being current, and their active events are superseded."""
    _execute_in(f"UPDATE {RECORD_TABLE} SET is_current = %s WHERE id {{in}}", old_ids, [False])
    _execute_in(
        f"UPDATE {EVENT_TABLE} SET status = 'superseded' WHERE status = 'active' AND record_id {{in}}",
        old_ids,
    )


def _insert_versions(
    to_write: pl.DataFrame,
    batch: IngestBatch,
    options: IngestOptions,
    today: date,
    now: datetime,
) -> int:
    """Insert the new record versions and their behavior events; returns the event count.
    Ids are allocated up front, so that events refer to their records without reading the
    new rows back."""
    item, spec = options.item, options.item.spec
    to_write = to_write.with_columns(reserve_ids(RECORD_TABLE, to_write.height).alias("record_id"))
    insert_frame(RECORD_TABLE, _record_rows(to_write, spec, batch, options.department, now))
    events = behavior_events(to_write, spec, item, today, now)
    insert_frame(EVENT_TABLE, events)
    return events.height


def _update_subjects(to_write: pl.DataFrame, spec: ItemSpec, now: datetime) -> None:
    """What the written rows tell about their subjects: registry basics, legal
    representatives, and that they changed (for incremental evaluation)."""
    if spec.registry:
        update_registry(to_write, spec)
    link_legal_representatives(to_write, spec, now)
    touch_subjects(to_write.get_column("subject_id").unique().to_list(), now)


_CURRENT_SCHEMA = {
    "old_id": pl.Int64,
    "natural_key": pl.Utf8,
    "old_data": pl.Utf8,
    "old_version": pl.Int64,
    "owner_id": pl.Int64,
}


def current_versions(keys: pl.Series, item: CatalogItem) -> pl.DataFrame:
    """The current versions of ``item``'s records under ``keys`` (id, key, data, version and
    owning department), as ONE statement: the keys go in as one parameter (a PostgreSQL
    array; a JSON array that SQLite's ``json_each`` unpacks), not one placeholder per key in
    statements of 5,000, and each key is looked up in the unique index of current keys."""
    keys = keys.unique()
    if keys.len() == 0:
        return pl.DataFrame(schema=_CURRENT_SCHEMA)
    columns = "id AS old_id, natural_key, data AS old_data, version AS old_version"
    columns += ", department_id AS owner_id"
    if connection.vendor == "postgresql":
        # One probe of the unique index per key, whatever the statistics say. PostgreSQL
        # planned the comparison from its estimate of the item's current records, and in a
        # bulk load that lags far behind (autovacuum analyses after 10 % of the table
        # changed; a batch's own rows only an ANALYZE inside its transaction sees): an
        # estimate of one row made it compare every row with every key, minutes per chunk
        # at Pudong scale (docs/ingest.md). A LATERAL subquery with LIMIT is not flattened
        # into a join, so it runs once per key; the item as a sub-select is a value the
        # planner cannot look up in its statistics, so (item, key) — the unique index —
        # is the cheaper way in. Sorted keys probe neighbouring index pages in turn.
        sql = (
            f"SELECT r.* FROM unnest(%s::text[]) AS k(natural_key) CROSS JOIN LATERAL "
            f"(SELECT {columns} FROM {RECORD_TABLE} WHERE item_id = (SELECT %s::bigint) "
            "AND is_current AND natural_key = k.natural_key LIMIT 1) AS r"
        )
        params = [keys.sort().to_list(), item.pk]
    else:
        sql = (
            f"SELECT {columns} FROM {RECORD_TABLE} "
            # "AND is_current" verbatim, so that SQLite uses the partial unique index.
            "WHERE item_id = %s AND is_current AND natural_key IN "
            "(SELECT value FROM json_each(%s))"
        )
        params = [item.pk, json.dumps(keys.to_list(), ensure_ascii=False)]
    return fetch_frame(sql, params, schema=_CURRENT_SCHEMA)


def compare_current(
    valid: pl.DataFrame, item: CatalogItem, current: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Split rows (with ``natural_key`` and ``data``) against the stored current versions of
    their records (``current``, else read by :func:`current_versions`) into (new, changed,
    unchanged); changed and unchanged rows gain ``old_id``, ``old_data`` and
    ``old_version``. Ingest writes from it; the upload preview counts it."""
    if current is None:
        current = current_versions(valid.get_column("natural_key"), item)
    existing = current.select("old_id", "natural_key", "old_data", "old_version")
    valid = valid.join(existing, on="natural_key", how="left")
    is_new = pl.col("old_id").is_null()
    same = pl.col("old_data") == pl.col("data")
    unchanged = valid.filter(~is_new & same)
    changed = valid.filter(~is_new & ~same)
    fresh = valid.filter(is_new)
    return fresh, changed, unchanged


def refuse_foreign_rows(
    valid: pl.DataFrame,
    item: CatalogItem,
    department: Department,
    current: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split off the rows ``department`` may not write (inside the batch's transaction, so the
    owner read is the one the write builds on): a row whose deciding authority (the item's
    ``authority`` field) is neither the department nor one it reports for
    (``authority_not_allowed``), and a row whose natural key belongs to a current record of
    another department (``record_owned_by_other``, naming the owner). ``current`` is the
    keys' current versions (:func:`current_versions`), read here when not given."""
    spec = item.spec
    refused = [pl.DataFrame(schema=ERROR_SCHEMA)]
    if spec.authority and valid.height:
        label = spec.field(spec.authority).label
        allowed = [department.uscc, *ReportingAuthority.usccs_for(department)]
        foreign = valid.filter(
            pl.col(spec.authority).is_not_null() & ~pl.col(spec.authority).is_in(allowed)
        )
        refused.append(
            _row_errors(
                foreign,
                spec.authority,
                "authority_not_allowed",
                _("「%(label)s」不是%(dept)s或其可代为报送的机关的代码")
                % {"label": label, "dept": department.name},
            )
        )
        valid = valid.join(foreign, on=ROW, how="anti")
    if current is None:
        current = current_versions(valid.get_column("natural_key"), item)
    owners = current.filter(pl.col("owner_id") != department.pk).select("natural_key", "owner_id")
    if owners.height:
        names = dict(
            Department.objects.filter(
                pk__in=owners.get_column("owner_id").unique().to_list()
            ).values_list("pk", "name")
        )
        taken = valid.join(owners, on="natural_key")
        for owner_id, rows in taken.group_by("owner_id"):
            refused.append(
                _row_errors(
                    rows,
                    spec.natural_key[0],
                    "record_owned_by_other",
                    _("该业务主键的记录由%(owner)s报送，只能由该部门更正或撤销")
                    % {"owner": names.get(owner_id[0], "")},
                )
            )
        valid = valid.join(owners, on="natural_key", how="anti")
    return valid, pl.concat(refused)


def _row_errors(rows: pl.DataFrame, field: str, code: str, message: str) -> pl.DataFrame:
    return rows.select(
        ROW,
        pl.lit(field).alias("field"),
        pl.lit(code).alias("code"),
        pl.lit(message).alias("message"),
    ).cast(ERROR_SCHEMA)


def _execute_in(sql: str, ids: list[Any], params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            test, values = in_values(chunk)
            cursor.execute(sql.format(**{"in": test}), [*(params or []), *values])


def _record_rows(
    frame: pl.DataFrame, spec: ItemSpec, batch: IngestBatch, department: Department, now: datetime
) -> pl.DataFrame:
    category = spec.category_field()
    amount = next((f.code for f in spec.fields if f.type == "decimal"), None)
    end_field = spec.publicity.get("end_field")
    return frame.select(
        pl.col("record_id").alias("id"),
        pl.lit(batch.item_id).alias("item_id"),
        pl.col("subject_id"),
        pl.lit(department.pk).alias("department_id"),
        pl.lit(batch.pk).alias("batch_id"),
        pl.col(ROW).alias("row_no"),
        pl.col("natural_key"),
        (pl.col("old_version").fill_null(0) + 1).alias("version"),
        pl.lit(True).alias("is_current"),
        pl.lit("active").alias("status"),
        pl.col(spec.subject.name).str.slice(0, 200).alias("subject_name"),
        (pl.col(spec.decision_date) if spec.decision_date else pl.lit(None, dtype=pl.Utf8)).alias(
            "decision_date"
        ),
        (pl.col(end_field) if end_field else pl.lit(None, dtype=pl.Utf8)).alias("end_date"),
        (pl.col(category).fill_null("").str.slice(0, 200) if category else pl.lit("")).alias(
            "category"
        ),
        (pl.col(amount) if amount else pl.lit(None, dtype=pl.Utf8)).alias("amount"),
        pl.col("flags").str.slice(0, 200),
        pl.col("data"),
        pl.lit(timestamp_text(now)).alias("received_at"),
    )


def behavior_events(
    frame: pl.DataFrame, spec: ItemSpec, item: CatalogItem, today: date, now: datetime
) -> pl.DataFrame:
    """Apply the behavior list: the first matching rule (by priority) of each record."""
    rules = list(BehaviorRule.objects.active().filter(item=item).order_by("priority", "code"))
    schema_cols = [
        "record_id",
        "subject_id",
        "rule_id",
        "kind",
        "severity",
        "occurred_on",
        "published",
        "publish_min_until",
        "publish_until",
        "restoration_from",
        "status",
        "created_at",
    ]
    if not rules or frame.height == 0:
        return pl.DataFrame(schema=dict.fromkeys(schema_cols, pl.Utf8))
    types = {f.code: f.type for f in spec.fields}
    rule_id = pl.lit(None, dtype=pl.Int64)
    for rule in reversed(rules):  # the first rule wins, so it is applied last
        cond = pl.all_horizontal(
            [condition_expr(c, types) for c in rule.parsed_conditions] or [pl.lit(True)]
        )
        rule_id = pl.when(cond).then(pl.lit(rule.pk, dtype=pl.Int64)).otherwise(rule_id)
    matched = frame.with_columns(rule_id.alias("rule_id")).filter(pl.col("rule_id").is_not_null())
    table = pl.DataFrame(
        {
            "rule_id": [r.pk for r in rules],
            "kind": [r.kind for r in rules],
            "severity": [r.severity for r in rules],
            "rule_published": [r.published for r in rules],
            "min_m": [r.min_months for r in rules],
            "max_m": [r.max_months for r in rules],
            "rest_m": [r.restoration_after_months for r in rules],
        },
        schema_overrides={"rule_id": pl.Int64},
    )
    persons_published = bool(spec.publicity.get("persons_published", True))
    item_published = bool(spec.publicity.get("published", True))
    occurred = (
        pl.col(spec.decision_date).str.to_date() if spec.decision_date else pl.lit(today)
    ).fill_null(today)
    matched = matched.join(table, on="rule_id").with_columns(occurred.alias("occurred_on"))

    def plus_months(col: str) -> pl.Expr:
        return pl.col("occurred_on").dt.offset_by(
            pl.concat_str([pl.col(col).cast(pl.Utf8), pl.lit("mo")])
        )

    published = pl.col("rule_published") & pl.lit(item_published)
    if not persons_published:
        published = published & (pl.col("__kind") != "person")
    return matched.select(
        "record_id",
        "subject_id",
        "rule_id",
        "kind",
        "severity",
        pl.col("occurred_on").dt.strftime("%Y-%m-%d"),
        published.alias("published"),
        pl.when(pl.col("min_m") > 0)
        .then(plus_months("min_m"))
        .dt.strftime("%Y-%m-%d")
        .alias("publish_min_until"),
        pl.when(pl.col("max_m") > 0)
        .then(plus_months("max_m"))
        .dt.strftime("%Y-%m-%d")
        .alias("publish_until"),
        plus_months("rest_m").dt.strftime("%Y-%m-%d").alias("restoration_from"),
        pl.lit("active").alias("status"),
        pl.lit(timestamp_text(now)).alias("created_at"),
    )


def _error_rows(
    raw: pl.DataFrame, columns: list[str], errors: pl.DataFrame, batch: IngestBatch, spec: ItemSpec
) -> pl.DataFrame:
    """Rejected rows as submitted (for the fix-and-resubmit download), stored once per row on
    its first error, each cell cut to its share of MAX_RAW_CHARS; personal columns are sealed
    like everywhere else at rest. ``raw`` is the rows as submitted (``columns``) with their
    row numbers."""
    if errors.height == 0:
        return pl.DataFrame()
    cell = max(MAX_RAW_CHARS // max(len(columns), 1), 100)
    raw = raw.filter(pl.col(ROW).is_in(errors.get_column(ROW).unique().implode()))
    raw = raw.with_columns([pl.col(c).str.slice(0, cell) for c in columns])
    headers = spec.header_map
    personal = {f.code for f in spec.fields if f.personal}
    for column in columns:
        if (headers.get(column) or headers.get(column.upper())) in personal:
            sealed = {
                v: pii.seal(v) for v in raw.get_column(column).drop_nulls().unique().to_list()
            }
            raw = raw.with_columns(
                pl.col(column).replace_strict(sealed, default=None, return_dtype=pl.Utf8)
            )
    raw = raw.select(ROW, pl.struct(columns).struct.json_encode().alias("raw"))
    errors = errors.sort(ROW, maintain_order=True).with_columns(
        pl.int_range(pl.len()).over(ROW).alias("_nth")
    )
    return errors.join(raw, on=ROW, how="left").select(
        pl.lit(batch.pk).alias("batch_id"),
        pl.col(ROW).alias("row_no"),
        pl.col("field").fill_null(""),
        pl.col("code"),
        pl.col("message").str.slice(0, 500),
        # The row's values once, on its first error: not once per error.
        pl.when(pl.col("_nth") == 0).then(pl.col("raw")).otherwise(pl.lit("")).fill_null(""),
    )


def _quality_stats(
    frame: pl.DataFrame,
    spec: ItemSpec,
    errors: pl.DataFrame,
    warnings: pl.DataFrame,
    new_subjects: int,
    today: date,
    now: datetime,
) -> dict[str, Any]:
    """Figures for the data-quality page: completeness of optional fields, timeliness
    (working days from decision to receipt, against the 7-working-day rule), error codes."""
    stats: dict[str, Any] = {
        "rows": frame.height,
        "filled": {
            f.code: int(frame.get_column(f.code).is_not_null().sum())
            for f in spec.fields
            if not f.required
        },
        "errors": dict(errors.group_by("code").len().iter_rows()) if errors.height else {},
        "warnings": dict(warnings.group_by("code").len().iter_rows()) if warnings.height else {},
        "new_subjects": new_subjects,
    }
    if spec.decision_date and frame.height:
        import numpy as np

        decided = frame.get_column(spec.decision_date).str.to_date().drop_nulls().to_numpy()
        if len(decided):
            received = np.full(len(decided), np.datetime64(timezone.localtime(now).date(), "D"))
            lag = calendar.working_days_between_many(decided, received)
            limit = int(spec.publicity.get("deadline_working_days", 7))
            stats["timeliness"] = {
                "limit": limit,
                "timely": int((lag <= limit).sum()),
                "late": int((lag > limit).sum()),
                "lag_sum": int(lag.sum()),
            }
    return stats


# --------------------------------------------------------------------------------------
def preview_file(content: bytes, options: IngestOptions, sample: int = 10) -> dict[str, Any]:
    """What ingesting ``content`` would do, writing nothing: the counts that ingest would
    give (the same reading, validation and :func:`compare_current`) and up to ``sample``
    changed records with their changed fields. A refused file raises its DomainError."""
    spec = options.item.spec
    frame, _ignored = map_headers(read_table(content, options.file_name), spec)
    tables = {t.code: t.lookup() for t in CodeTable.objects.all()}
    validator = RowValidator(spec, tables, options.today or timezone.localdate())
    progress = options.progress or (lambda stage, done, total: None)
    counts = {"submitted": frame.height, "accepted": 0, "updated": 0, "unchanged": 0}
    counts["rejected"] = 0
    changes: list[dict[str, Any]] = []
    for chunk in validated_ahead(frame, validator, spec, progress):
        valid, refused = refuse_foreign_rows(chunk.valid, options.item, options.department)
        fresh, changed, unchanged = compare_current(record_values(valid, spec), options.item)
        counts["accepted"] += fresh.height
        counts["updated"] += changed.height
        counts["unchanged"] += unchanged.height
        counts["rejected"] += pl.concat([chunk.errors, refused]).get_column(ROW).n_unique()
        changes += _changed_fields(changed.head(max(sample - len(changes), 0)), spec)
    return {**counts, "sample": changes}


def _changed_fields(changed: pl.DataFrame, spec: ItemSpec) -> list[dict[str, Any]]:
    """Each changed row's subject and the fields whose value changes (personal fields are
    named, never shown: their values are sealed)."""
    personal = {f.code for f in spec.fields if f.personal}
    out = []
    for row in changed.iter_rows(named=True):
        old, new = json.loads(row["old_data"]), json.loads(row["data"])
        fields = [
            {
                "field": f.label,
                "old": "***" if f.code in personal else old.get(f.code),
                "new": "***" if f.code in personal else new.get(f.code),
            }
            for f in spec.fields
            if old.get(f.code) != new.get(f.code)
        ]
        name = row[spec.subject.name] or ""
        if row.get("__kind") == "person":
            name = pii.mask_name(name)
        out.append(
            {"row": row[ROW], "subject": name, "version": row["old_version"] + 1, "fields": fields}
        )
    return out
