"""A bulk load writes files side by side (PostgreSQL): never two files of one item at once,
never more than ``SIDE_BY_SIDE_ROWS`` rows in files at once unless a file runs alone, every
file exactly once, and a failing file stops the load with its error. The scheduler runs real
threads over a loader that records what runs when; what a side-by-side load stores is
compared with `ingest` in tests/records/test_bulkload.py (PostgreSQL runs it side by side)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from creditplus.records.bulkload import SIDE_BY_SIDE_ROWS, LoadFile, _load_side_by_side


def _file(item: int, rows: int) -> LoadFile:
    return LoadFile(Path(f"/data/{item}-{rows}.csv"), SimpleNamespace(pk=item), None, rows, "")


class Recorder:
    """A loader that holds each file a moment and notes what ran beside it."""

    def __init__(self, fail_on: LoadFile | None = None) -> None:
        self.running: list[LoadFile] = []
        self.started: list[LoadFile] = []
        self.loaded: list[LoadFile] = []
        self.most_at_once = 0
        self.lock = threading.Lock()
        self.fail_on = fail_on

    def __call__(self, f: LoadFile) -> None:
        with self.lock:
            items = [r.item.pk for r in self.running]
            assert f.item.pk not in items, "two files of one item at once"
            self.running.append(f)
            self.started.append(f)
            rows = sum(r.rows for r in self.running)
            assert len(self.running) == 1 or rows <= SIDE_BY_SIDE_ROWS, "too many rows at once"
            self.most_at_once = max(self.most_at_once, len(self.running))
        time.sleep(0.02)
        with self.lock:
            self.running.remove(f)
            self.loaded.append(f)
        if f is self.fail_on:
            raise RuntimeError("file refused")


def test_files_run_two_at_a_time_never_two_of_one_item():
    files = [_file(item, 10_000 + 1_000 * n) for n, item in enumerate([1, 1, 1, 2, 2, 3, 4, 4])]
    loader = Recorder()
    _load_side_by_side(files, loader, workers=2)
    assert sorted(map(id, loader.loaded)) == sorted(map(id, files))  # each once
    assert loader.most_at_once == 2
    assert loader.started[0].rows == max(f.rows for f in files)  # the largest first


def test_a_large_file_runs_only_beside_small_ones():
    big, large = _file(1, 880_000), _file(2, 800_000)
    small = [_file(3 + n, 10_000) for n in range(6)]
    loader = Recorder()
    _load_side_by_side([big, large, *small], loader, workers=2)
    assert len(loader.loaded) == 8
    # The two large files never overlapped (the recorder asserts the row budget).
    assert loader.most_at_once == 2


def test_one_worker_loads_in_the_given_order():
    files = [_file(1, 5), _file(2, 500), _file(1, 50)]
    loader = Recorder()
    _load_side_by_side(files, loader, workers=1)
    assert loader.loaded == files


def test_a_failing_file_stops_the_load_with_its_error():
    files = [_file(n, 1_000 - n) for n in range(12)]
    loader = Recorder(fail_on=files[1])
    with pytest.raises(RuntimeError, match="file refused"):
        _load_side_by_side(files, loader, workers=2)
    # The other worker finished the file it had and took no more.
    assert 2 <= len(loader.loaded) <= 3
