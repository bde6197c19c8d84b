"""The consumer benchmark keeps working: run it at a tiny size on the database under test.
(Its figures go in docs/consumers.md from full-size runs; nothing here is timed.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.server import ROOT

pytestmark = pytest.mark.slow


def test_the_consumer_benchmark_runs_and_reports(tmp_path):
    db = "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    out = subprocess.run(
        [
            sys.executable,
            "bench/consumers.py",
            "--subjects",
            "60",
            "--db",
            db,
            "--work",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
        env={**os.environ, "CREDITPLUS_VAR_DIR": str(tmp_path)},
    )
    [result] = [
        json.loads(line[7:]) for line in out.stdout.splitlines() if line.startswith("RESULT ")
    ]
    assert result["database"] == ("postgresql" if db == "postgres" else "sqlite")
    assert result["lists"]["events"] == result["events"] > 0
    assert result["monitoring"]["events"] == result["events"]
    assert result["written"]["entries"] > 0
    assert set(result["digest"]) == {"entries", "transitions", "cases", "tasks", "alerts"}
