from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def opendata_dir(settings, tmp_path) -> Path:
    """Files go to a temporary VAR_DIR: ``<tmp>/opendata/<date>/``."""
    settings.VAR_DIR = tmp_path
    return tmp_path / "opendata"
