"""The benchmarks' shared helpers (bench/harness.py) that read the host: whether the kernel
takes idle page cache back, which the daily-batch figures depend on."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.server import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from harness import proactive_reclaim  # bench/ is a directory of scripts, not a package


def _kdamond(root: Path, n: int, state: str, actions: list[str]) -> None:
    kdamond = root / str(n)
    kdamond.mkdir(parents=True)
    (kdamond / "state").write_text(f"{state}\n")
    for i, action in enumerate(actions):
        scheme = kdamond / "contexts" / "0" / "schemes" / str(i)
        scheme.mkdir(parents=True)
        (scheme / "action").write_text(f"{action}\n")


def test_a_running_pageout_scheme_is_reported_on(tmp_path):
    _kdamond(tmp_path, 0, "off", ["pageout"])
    _kdamond(tmp_path, 1, "on", ["stat", "pageout"])
    assert proactive_reclaim(tmp_path) == "on"


def test_a_stopped_pageout_scheme_is_reported_off(tmp_path):
    _kdamond(tmp_path, 0, "off", ["pageout"])
    _kdamond(tmp_path, 1, "on", ["stat"])  # monitoring only: takes nothing back
    assert proactive_reclaim(tmp_path) == "off"


def test_without_damon_or_pageout_there_is_none(tmp_path):
    assert proactive_reclaim(tmp_path / "absent") == "none"
    _kdamond(tmp_path, 0, "on", ["lru_prio"])
    assert proactive_reclaim(tmp_path) == "none"
