"""Event consumers never skip events of a transaction that commits after a later one
(issue 16, finding 3): two real ingests overlap on a committed PostgreSQL database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.server import ROOT, throwaway_database

pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite serialises writers (BEGIN IMMEDIATE holds the only write lock from the "
    "first write to commit), so event ids always follow commit order there",
)
def test_overlapping_ingests_lose_no_event(tmp_path):
    with throwaway_database(tmp_path) as url:
        env = {**os.environ, "DATABASE_URL": url, "CREDITPLUS_VAR_DIR": str(tmp_path)}

        def manage(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, *args],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=600,
            )

        for step in (
            ["-m", "creditplus", "migrate", "--noinput", "-v0"],
            ["-m", "creditplus", "load_reference"],
        ):
            assert manage(*step).returncode == 0
        out = manage("-m", "tests.records.concurrent_ingests")
        assert out.returncode == 0, out.stderr[-3000:]
        result = json.loads(out.stdout.strip().splitlines()[-1])
    # A's first chunk holds lower ids than B's events but committed after them.
    assert len(result["events"]) == 5
    assert sorted(result["consumed"]) == result["events"]
