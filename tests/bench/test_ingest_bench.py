"""The ingest benchmark keeps working: run it at a tiny size on the database under test.
(Its figures are recorded in the README from full-size runs; nothing here is timed.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.server import ROOT

pytestmark = pytest.mark.slow


def test_the_ingest_benchmark_runs_and_reports(tmp_path):
    db = "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    out = subprocess.run(
        [
            sys.executable,
            "bench/ingest.py",
            *("--subjects", "60", "--reference-subjects", "30"),
            *("--db", db, "--work", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    results = [
        json.loads(line[7:]) for line in out.stdout.splitlines() if line.startswith("RESULT ")
    ]
    vendor = {"sqlite": "sqlite", "postgres": "postgresql"}[db]
    assert [(r["database"], r["path"]) for r in results] == [(vendor, "bulk")]
    (result,) = results
    assert result["rows"] == result["accepted"] + result["updated"] + result["rejected"] > 0
    # The stage table: every stage timed, its shares printed, the load split off.
    assert set(result["stages"]) == {"generate", "load", "consumers", "evaluate --all"}
    assert all(v >= 0 for v in result["stages"].values()) and result["stages"]["generate"] > 0
    for stage in result["stages"]:
        assert any(
            line.strip().startswith(stage) and "%" in line for line in out.stdout.splitlines()
        )
    assert result["rows_per_second"] > 0 and result["bare_insert_rows_per_second"] > 0
    assert result["ratio_to_bare_insert"] > 0
    assert result["events"] > 0 and result["consumer_events_per_second"] > 0
    # The daily batch into the loaded and into the reference database, in the same run.
    assert result["daily_batch_rows"] > 0 and result["daily_batch_accepted"] > 0
    assert result["reference_subjects"] == 30 and result["reference_daily_batch_seconds"] > 0
    assert result["daily_ratio_to_reference"] > 0
    # And the same rows again under new numbers, hot, in both databases.
    assert result["daily_batch_hot_seconds"] > 0 and result["reference_daily_batch_hot_seconds"] > 0
    assert result["daily_hot_ratio_to_reference"] > 0
    # Whether the warm-up read each batch's pages ahead (subjects read), and for how long.
    for warm_up in (result["daily_batch_warm_up"], result["reference_daily_batch_warm_up"]):
        assert set(warm_up) == {"subjects", "seconds"} and warm_up["seconds"] >= 0
    # Whether the host takes idle page cache back (a batch after a quiet minute reads the disk).
    assert result["proactive_reclaim"] in {"on", "off", "none"}
    # What memory keeps a daily batch hot: each random-key index's size, all of them there.
    sizes = result["random_key_index_mib"]
    assert set(sizes) == {
        "one_current_version",
        "record_subject_item",
        "record_item_date",
        "event_subject_kind",
    }
    assert all(size > 0 for size in sizes.values())
    # The load's peak memory, and apart from it the peak with the benchmark's own steps.
    assert 0 < result["peak_rss_mib"] <= result["peak_rss_mib_with_benchmark_steps"]
    # Which stage set it: the resident memory sampled per stage.
    by_stage = result["peak_rss_mib_by_stage"]
    assert set(by_stage) == {"files", "indexes", "consumers", "evaluate"}
    assert 0 < by_stage["files"] <= result["peak_rss_mib"]
