"""Sorted runs on disk and their merge: how a publication orders millions of rows in
memory that follows a chunk, not the dataset.

Each compared chunk is sorted by a text sort key (``_sk``) and spilled as one Parquet run
(:class:`Runs`); :func:`merged` then reads every run a small batch at a time and yields
the rows in ``_sk`` order (a k-way merge done a batch at a time with Polars, so that no
Python object is made per row). Keys are unique, so the order is total and the output is
the same whatever the chunking.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

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


class _Run:
    def __init__(self, path: Path, exclude: pl.Series | None, batch: int) -> None:
        self._batches = pq.ParquetFile(path).iter_batches(batch_size=batch)
        self._exclude = exclude
        self.buffer: pl.DataFrame | None = None

    def fill(self) -> bool:
        """Read the next batch if the buffer is empty; False once nothing is left."""
        while self.buffer is None or not self.buffer.height:
            batch = next(self._batches, None)
            if batch is None:
                self.buffer = None
                return False
            self.buffer = pl.from_arrow(batch)  # type: ignore[assignment]
            if self._exclude is not None:
                self.buffer = self.buffer.filter(~pl.col("key").is_in(self._exclude))
        return True

    def take(self, bound: str | None) -> pl.DataFrame:
        """The buffered rows up to ``bound`` (all of them without one)."""
        assert self.buffer is not None
        if bound is None:
            part, self.buffer = self.buffer, None
            return part
        cut = self.buffer.get_column(SORT_KEY).search_sorted(bound, side="right")
        part, self.buffer = self.buffer.slice(0, cut), self.buffer.slice(cut)
        return part


def merged(runs: Runs, empty: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """The rows of every run in ``_sk`` order, a frame at a time; one ``empty`` frame (the
    output's columns) when there are none."""
    if not runs.paths:
        yield empty
        return
    yielded = False
    batch = max(MIN_BATCH, MERGE_ROWS // len(runs.paths))
    open_runs = [r for r in (_Run(p, x, batch) for p, x in runs.paths) if r.fill()]
    while open_runs:
        # Every row still unread is after the last buffered row of its run: what is at or
        # before the smallest of those can go out now.
        bounds = [r.buffer.get_column(SORT_KEY)[-1] for r in open_runs if r.buffer is not None]
        bound = min(bounds)
        parts = [r.take(bound) for r in open_runs]
        out = pl.concat([p for p in parts if p.height], how="vertical").sort(SORT_KEY)
        yielded = True
        yield out
        open_runs = [r for r in open_runs if r.fill()]
    if not yielded:  # every run's rows were excluded
        yield empty
