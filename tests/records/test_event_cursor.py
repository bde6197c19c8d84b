"""Event consumers never skip events of a transaction that commits after a later one
(issue 16, finding 3), nor select one twice: two real ingests overlap on a committed
PostgreSQL database."""

from __future__ import annotations

import json
import os

import pytest

from tests.server import run_python, throwaway_database

pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite serialises writers (BEGIN IMMEDIATE holds the only write lock from the "
    "first write to commit), so event ids always follow commit order there",
)
def test_overlapping_ingests_lose_no_event(tmp_path):
    with throwaway_database(tmp_path) as url:
        env = {**os.environ, "DATABASE_URL": url, "CREDITPLUS_VAR_DIR": str(tmp_path)}

        run_python(env, "-m", "creditplus", "migrate", "--noinput", "-v0")
        run_python(env, "-m", "creditplus", "load_reference")
        out = run_python(env, "-m", "tests.records.concurrent_ingests")
        result = json.loads(out.strip().splitlines()[-1])
    # A's first chunk holds lower ids than B's events but committed after them.
    assert len(result["events"]) == 5
    assert sorted(result["consumed"]) == result["events"]
    # Windows of three events select each event once (by id range alone, B's would be twice).
    assert sorted(result["selected"]) == result["events"]
