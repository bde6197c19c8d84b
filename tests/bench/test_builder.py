"""The benchmarks' data builder (bench/builder.py): a build cached by (subjects, seed) and a
fresh working copy of it for each caller, at a tiny size on SQLite."""

from __future__ import annotations

import os
import sqlite3
import sys

import pytest

from tests.server import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from builder import pudong_database  # bench/ is a directory of scripts, not a package

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="builds its own SQLite database; covered by the SQLite run",
    ),
]


def _count(url: str, table: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_a_cached_build_gives_each_caller_a_fresh_copy(tmp_path):
    first = pudong_database("sqlite", tmp_path, subjects=300, plan_subjects=300)
    build = first["build"]
    assert build["cached"] is False and first["subjects"] == build["subjects"] == 300
    assert first["records"] > 40 * 300 and 0 < first["events"] < first["records"]
    assert build["persons"] > 0 and build["list_entries"] > 0
    assert _count(first["url"], "records_creditrecord") == first["records"]
    assert _count(first["url"], "subjects_subject") == 300 + build["persons"]
    # the copy is the caller's to change: the cache is not
    with sqlite3.connect(first["url"].removeprefix("sqlite:///")) as db:
        db.execute("DELETE FROM records_creditevent")
    second = pudong_database("sqlite", tmp_path, subjects=300, plan_subjects=300)
    assert second["build"]["cached"] is True and second["today"] == first["today"]
    assert _count(second["url"], "records_creditevent") == first["events"]
    # a cached build is for one date: another one needs a rebuild
    with pytest.raises(SystemExit, match="rebuild"):
        pudong_database("sqlite", tmp_path, subjects=300, today="2020-01-01")
