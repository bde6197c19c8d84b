"""Settings come from typed environment variables; production refuses development defaults."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from creditplus.env import env_bool, env_int, env_list, env_secret


def test_env_helpers_parse_and_reject(monkeypatch, tmp_path):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "12")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env_bool("X_BOOL", False) is True
    assert env_int("X_INT", 0) == 12
    assert env_list("X_LIST", []) == ["a", "b", "c"]
    assert env_secret("X_SECRET", "default") == "s3cret"
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL", False)
    monkeypatch.setenv("X_INT", "1")
    with pytest.raises(ImproperlyConfigured, match="at least 5"):
        env_int("X_INT", 10, minimum=5)
    monkeypatch.setenv("X_INT", "9")
    with pytest.raises(ImproperlyConfigured, match="at most 4"):
        env_int("X_INT", 1, minimum=1, maximum=4)


def run_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CREDITPLUS_", "SECRET_KEY", "DEBUG"))
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import creditplus.settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'])",
        ],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_development_secrets():
    result = run_settings({"CREDITPLUS_ENV": "production", "ALLOWED_HOSTS": "credit.example.cn"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set to a real secret" in result.stderr


def test_production_starts_with_real_secrets(tmp_path):
    result = run_settings(
        {
            "CREDITPLUS_ENV": "production",
            "ALLOWED_HOSTS": "credit.example.cn",
            "SECRET_KEY": "k" * 50,
            "CREDITPLUS_PII_KEY": "p" * 44,
            "CREDITPLUS_AUDIT_KEY": "a" * 40,
            "CREDITPLUS_VAR_DIR": str(tmp_path),
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


def test_sqlite_runs_in_wal_mode(db):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


# Settings drift: each variable read once, in settings.py, documented in the README, used.

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "creditplus" / "settings.py"


def _environment_reads() -> dict[str, str]:
    """Setting name -> environment variable, for every ``NAME = env_*("VAR", …)`` in settings.py."""
    reads = {}
    for node in ast.walk(ast.parse(SETTINGS_FILE.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Name) and func.id.startswith("env_"):
                variable = node.value.args[0].value
                reads[node.targets[0].id] = variable
    return reads


def _environment_variables() -> set[str]:
    """Every variable any ``env_*("VAR", …)`` call in settings.py reads."""
    tree = ast.parse(SETTINGS_FILE.read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.startswith("env_")
    }


def _readme_variables() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
    }


def test_every_environment_variable_is_in_the_readme_table():
    variables = _environment_variables()
    assert {"CREDITPLUS_TRUSTED_PROXIES", "CREDITPLUS_RATE_SEARCH_PER_MINUTE"} <= variables
    assert variables - _readme_variables() == set()


def test_every_setting_of_our_own_is_used_outside_settings():
    from django.conf import global_settings

    ours = [name for name in _environment_reads() if not hasattr(global_settings, name)]
    assert "CREDITPLUS_ALERTS_PER_DAY" in ours
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (ROOT / "creditplus").rglob("*.py")
        if path != SETTINGS_FILE and "migrations" not in path.parts
    )
    settings_code = SETTINGS_FILE.read_text(encoding="utf-8")
    unused = [
        name
        for name in ours
        if f"settings.{name}" not in code and settings_code.count(name) < 2  # read in settings.py
    ]
    assert unused == []


def test_no_module_repeats_a_settings_default():
    """``getattr(settings, NAME, default)`` keeps a second default that drifts from settings.py."""
    repeated = []
    for path in (ROOT / "creditplus").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
                and len(node.args) == 3
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id == "settings"
            ):
                repeated.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert repeated == []


def test_trusted_proxies_are_read_as_a_list():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import creditplus.settings as s; print(s.CREDITPLUS_TRUSTED_PROXIES)",
        ],
        env={**os.environ, "CREDITPLUS_TRUSTED_PROXIES": " 10.0.0.1, ,10.0.0.2 "},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['10.0.0.1', '10.0.0.2']"
