"""The Spark benchmark keeps working: at a tiny size, both engines score the synthetic
snapshot and agree on every subject. (Figures come from full-size runs; nothing is timed.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.server import ROOT

pytestmark = pytest.mark.slow


def test_the_spark_benchmark_runs_and_both_engines_agree(tmp_path):
    shutil.which("java") or pytest.fail("Java is missing: scripts/ensure-system-deps.sh java")
    out = subprocess.run(
        [sys.executable, "bench/spark.py", "--subjects", "1000", "--out", str(tmp_path / "s")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, out.stdout
    result = json.loads(lines[0].removeprefix("RESULT "))
    assert result["subjects"] == 1000 and result["events"] > 1000 * 20
    for engine in ("spark", "polars"):
        figures = result["engines"][engine]
        assert figures["evaluated"] == 1000, figures
        assert figures["cpu_seconds"] > 0 and figures["peak_rss_mib"] > 0
    spark, polars = (result["engines"][e]["grades"] for e in ("spark", "polars"))
    assert {g: spark.get(g, 0) for g in "ABCD"} == {g: polars.get(g, 0) for g in "ABCD"}
    assert result["compare"] == {"subjects": 1000, "mismatches": 0}
