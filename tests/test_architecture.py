"""The layer order of DESIGN.md is checked by import-linter (contracts in pyproject.toml).

The tests run the real ``lint-imports`` on the real tree, and on a copy of it with one
deliberate wrong-way import, so that a contract which stopped catching anything would fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.slow


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _copy_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(
        ROOT / "creditplus",
        tree / "creditplus",
        ignore=shutil.ignore_patterns("__pycache__", "locale", "static", "reference_data"),
    )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_the_layer_order() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "message"),
    [
        # The backbone importing a consumer.
        (
            "records/services.py",
            "from creditplus.lists import services as _lists",
            "creditplus.records is not allowed to import creditplus.lists",
        ),
        # Two siblings of one layer importing each other.
        (
            "sanctions/services.py",
            "from creditplus.supervision import models as _supervision",
            "creditplus.sanctions is not allowed to import creditplus.supervision",
        ),
        # The audit log knowing a domain app.
        (
            "accounts/audit.py",
            "from creditplus.subjects import models as _subjects",
            "creditplus.accounts is not allowed to import creditplus.subjects",
        ),
        # Anyone importing the public site.
        (
            "reports/views.py",
            "import creditplus.portal.views",
            "creditplus.reports is not allowed to import creditplus.portal",
        ),
    ],
)
def test_a_wrong_way_import_breaks_the_contract(
    tmp_path: Path, module: str, wrong_import: str, message: str
) -> None:
    tree = _copy_tree(tmp_path)
    target = tree / "creditplus" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{wrong_import}\n", encoding="utf-8")
    result = _lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout
    assert "Contracts: 0 kept, 1 broken." in result.stdout
