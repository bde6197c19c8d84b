"""Sorted runs on disk and their merge: how a publication orders millions of rows in
memory that follows a chunk, not the dataset.

Each compared chunk is sorted by a text sort key (``_sk``) and spilled as one Parquet run
(:class:`Runs`); :func:`merged` then reads every run a small batch at a time and yields
the rows in ``_sk`` order (a k-way merge done a batch at a time with Polars, so that no
Python object is made per row). Keys are unique, so the order is total and the output is
the same whatever the chunking.

Rows travel encoded (:func:`encoded`): each row's CSV line and JSON object, made once when
the row is compared. :func:`write_files` puts the files together from them; a row the
previous publication already wrote (a daily run's unchanged rows) carries only where its
bytes are in that publication's files, and consecutive such rows are copied as one range
(``copy_file_range``: the kernel copies, nothing is formatted again).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import polars as pl
import pyarrow.parquet as pq

from creditplus.csvfiles import csv_lines

SORT_KEY = "_sk"
# Rows of all runs held at once while merging (each run gets its share); Parquet row
# groups are this size or smaller, so that reading a batch decodes no more than it needs.
MERGE_ROWS = 100_000
MIN_BATCH = 500
ROW_GROUP = 1_000


class Runs:
    """Sorted Parquet files of one stream (a full file, a delta file) under ``directory``."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name
        self.paths: list[tuple[Path, pl.Series | None]] = []

    def add(self, frame: pl.DataFrame) -> None:
        if not frame.height:
            return
        path = self.directory / f"{self.name}-{len(self.paths):05d}.parquet"
        frame.sort(SORT_KEY).write_parquet(path, compression="lz4", row_group_size=ROW_GROUP)
        self.paths.append((path, None))

    def add_run(self, path: Path, exclude: pl.Series) -> None:
        """An existing sorted run (the previous publication's rows), without the rows whose
        ``key`` is in ``exclude``."""
        self.paths.append((path, exclude.implode()))


_RUN = "_run"  # which run a pooled row came from


class _Run:
    """A run being read a batch at a time: how far it has been read (``last``: the sort key
    of the last row read, excluded ones too; every unread row is after it) and how many of
    its rows wait in the merge's pool."""

    def __init__(self, index: int, path: Path, exclude: pl.Series | None, batch: int) -> None:
        self._batches = pq.ParquetFile(path).iter_batches(batch_size=batch)
        self._exclude = exclude
        self.index = index
        self.low = max(1, batch // 2)
        self.pending = 0
        self.last: str | None = None
        self.done = False

    def read(self) -> pl.DataFrame | None:
        """The next batch (tagged with the run), or None once the run is read."""
        batch = next(self._batches, None)
        if batch is None:
            self.done = True
            return None
        frame: pl.DataFrame = pl.from_arrow(batch)  # type: ignore[assignment]
        self.last = frame.get_column(SORT_KEY)[-1]
        if self._exclude is not None:
            frame = frame.filter(~pl.col("key").is_in(self._exclude))
        self.pending += frame.height
        return frame.with_columns(pl.lit(self.index, pl.Int32).alias(_RUN))


def merged(runs: Runs, empty: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """The rows of every run in ``_sk`` order, a frame at a time; one ``empty`` frame (the
    output's columns) when there are none.

    The rows read and not yet emitted wait in one pool. Each step tops up every run that has
    less than half a batch waiting, then emits the pool's rows up to the smallest sort key
    read so far among the runs not finished (every unread row is after it) — a few
    vectorized operations per step, and each step about half a batch of every run."""
    if not runs.paths:
        yield empty
        return
    batch = max(MIN_BATCH, MERGE_ROWS // len(runs.paths))
    readers = [_Run(n, path, exclude, batch) for n, (path, exclude) in enumerate(runs.paths)]
    pool: pl.DataFrame | None = None
    yielded = False
    while True:
        fresh = [
            f for r in readers if not r.done and r.pending < r.low if (f := r.read()) is not None
        ]
        parts = [p for p in (pool, *fresh) if p is not None and p.height]
        pool = pl.concat(parts, how="diagonal_relaxed") if parts else None
        live = [r.last for r in readers if not r.done and r.last is not None]
        if pool is None:
            if live or any(not r.done for r in readers):
                continue  # only excluded rows so far: read on
            break
        if live:
            out_mask = pl.col(SORT_KEY) <= min(live)
            out, pool = pool.filter(out_mask), pool.filter(~out_mask)
        else:
            out, pool = pool, None
        if out.height:
            for run, count in out.get_column(_RUN).value_counts().iter_rows():
                readers[run].pending -= count
            yielded = True
            yield out.drop(_RUN).sort(SORT_KEY)
    if not yielded:  # every run's rows were excluded
        yield empty


# --------------------------------------------------------------------------- encoded rows

# A run's rows: sort key, item key, and the row's bytes in each file — as text (a row made
# by this run) or as a place in the previous publication's files (``*_at``; text null).
ENCODED = {
    SORT_KEY: pl.Utf8,
    "key": pl.Utf8,
    "csv": pl.Utf8,
    "csv_at": pl.Int64,
    "csv_len": pl.Int64,
    "json": pl.Utf8,
    "json_at": pl.Int64,
    "json_len": pl.Int64,
}
KEPT = (SORT_KEY, "key", "csv_at", "csv_len", "json_at", "json_len")  # what a next run reads


def encoded(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (``_sk``, then the file's columns in order, ``key`` among them) as encoded
    rows: each row's CSV line and JSON object, as the whole file's writers would write them."""
    columns = [c for c in frame.columns if c != SORT_KEY]
    return (
        frame.select(
            SORT_KEY,
            "key",
            csv_lines(frame.select(columns)).alias("csv"),
            pl.struct(columns).struct.json_encode().alias("json"),
        )
        .with_columns(
            pl.col("csv").str.len_bytes().cast(pl.Int64).alias("csv_len"),
            pl.col("json").str.len_bytes().cast(pl.Int64).alias("json_len"),
            pl.lit(None, pl.Int64).alias("csv_at"),
            pl.lit(None, pl.Int64).alias("json_at"),
        )
        .select(list(ENCODED))
    )


class _Output:
    """One file being put together: its handle, its end, and the previous file to copy from."""

    def __init__(self, handle: IO[bytes], source: IO[bytes] | None, fmt: str) -> None:
        self.handle, self.source, self.fmt = handle, source, fmt
        self.end = handle.tell()
        self.gap = 1 if fmt == "json" else 0  # JSON objects are separated by a comma
        self.started = False  # anything written yet (the first row has no comma before it)

    def place(self, frame: pl.DataFrame) -> pl.Series:
        """Where each row of ``frame`` goes in this file (its first byte)."""
        first_gap = self.gap if self.started else 0
        span = pl.col(f"{self.fmt}_len") + self.gap
        ends = frame.select(span.cum_sum() - self.gap + first_gap + self.end).to_series()
        return (ends - frame.get_column(f"{self.fmt}_len")).alias(f"new_{self.fmt}_at")

    def write(self, frame: pl.DataFrame) -> None:
        """Write ``frame``'s rows: runs of new rows as one joined text, runs of rows lying
        next to each other in the previous file as one copied range."""
        at, length, text = pl.col(f"{self.fmt}_at"), pl.col(f"{self.fmt}_len"), pl.col(self.fmt)
        old = text.is_null()
        follows = at == at.shift(1) + length.shift(1) + self.gap
        together = (old == old.shift(1)) & (~old | follows)
        segments = (
            frame.with_columns((~together.fill_null(False)).cum_sum().alias("_seg"))
            .group_by("_seg", maintain_order=True)
            .agg(
                old.first().alias("old"),
                at.first().alias("start"),
                (at + length).last().alias("stop"),
                text.str.join("," if self.gap else ""),
            )
            .drop("_seg")
        )
        for is_old, start, stop, joined in segments.iter_rows():
            if self.started and self.gap:
                self.handle.write(b",")
            if is_old:
                _copy(self.source, self.handle, start, stop - start)
            else:
                self.handle.write(joined.encode())
            self.started = True
        self.end = self.handle.tell()


def _copy(source: IO[bytes] | None, target: IO[bytes], start: int, count: int) -> None:
    assert source is not None, "a kept row without the previous file"
    while count > 0:
        done = os.copy_file_range(source.fileno(), target.fileno(), count, start)
        if done == 0:
            raise OSError("the previous publication's file ended early")
        start, count = start + done, count - done


def write_files(
    runs: Runs,
    csv_file: IO[bytes],
    json_file: IO[bytes],
    sources: tuple[IO[bytes], IO[bytes]] | None,
    keep: Path | None,
) -> int:
    """The rows of ``runs`` in order into the CSV (after its header) and the JSON array;
    with ``keep``, each row's place in the new files goes there (Parquet) for the next run.
    The files are unbuffered: copied ranges and written text must not overtake each other.
    Returns the number of rows."""
    csv_out = _Output(csv_file, sources and sources[0], "csv")
    json_out = _Output(json_file, sources and sources[1], "json")
    json_file.write(b"[")
    json_out.end = json_file.tell()
    rows, kept = 0, None
    empty = pl.DataFrame(schema=ENCODED)
    for frame in merged(runs, empty):
        if not frame.height:
            continue
        # Only kept rows in this frame: no text columns came with it.
        missing = [pl.lit(None, t).alias(c) for c, t in ENCODED.items() if c not in frame.columns]
        frame = frame.with_columns(missing).select(list(ENCODED))
        if keep is not None:
            places = frame.select(SORT_KEY, "key", "csv_len", "json_len").with_columns(
                csv_out.place(frame).alias("csv_at"), json_out.place(frame).alias("json_at")
            )
            table = places.select(KEPT).to_arrow()
            kept = kept or pq.ParquetWriter(keep, table.schema, compression="lz4")
            kept.write_table(table, row_group_size=ROW_GROUP)
        csv_out.write(frame)
        json_out.write(frame)
        rows += frame.height
    json_file.write(b"]")
    if keep is not None:
        if kept is None:  # no rows: an empty file of the same columns
            table = empty.select(KEPT).to_arrow()
            kept = pq.ParquetWriter(keep, table.schema, compression="lz4")
        kept.close()
    return rows
