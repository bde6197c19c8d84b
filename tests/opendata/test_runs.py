"""The k-way merge of sorted runs (creditplus/opendata/runs.py): every row once, in order,
in a number of steps that follows the rows, not the rows times the runs."""

from __future__ import annotations

import random

import polars as pl

from creditplus.opendata import runs
from creditplus.opendata.runs import SORT_KEY, Runs, merged


def test_runs_over_the_whole_key_space_merge_in_few_steps(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "MERGE_ROWS", 2_000)  # 20 runs: batches of 100 rows
    rng = random.Random(7)
    keys = [f"{n:06d}" for n in rng.sample(range(10**6), 20_000)]
    stream = Runs(tmp_path, "full")
    for part in range(20):  # each run holds keys from all over the key space, as chunks do
        chunk = keys[part::20]
        stream.add(pl.DataFrame({SORT_KEY: chunk, "key": chunk}))
    frames = list(merged(stream, pl.DataFrame(schema={SORT_KEY: pl.Utf8, "key": pl.Utf8})))
    out = pl.concat(frames).get_column("key").to_list()
    assert out == sorted(keys)
    # ~half a batch of every run per step: ~20,000 / (20 × 50) = 20 steps (it was ~200).
    assert len(frames) <= 40


def test_kept_rows_are_left_out_by_key(tmp_path):
    stream = Runs(tmp_path, "full")
    stream.add(pl.DataFrame({SORT_KEY: ["a", "c"], "key": ["a", "c"]}))
    stream.add(pl.DataFrame({SORT_KEY: ["b", "d"], "key": ["b", "d"]}))
    old = tmp_path / "old.parquet"
    pl.DataFrame({SORT_KEY: ["a0", "c0", "e"], "key": ["a0", "c0", "e"]}).write_parquet(old)
    stream.add_run(old, pl.Series(["c0"]))
    empty = pl.DataFrame(schema={SORT_KEY: pl.Utf8, "key": pl.Utf8})
    assert pl.concat(merged(stream, empty))["key"].to_list() == ["a", "a0", "b", "c", "d", "e"]
