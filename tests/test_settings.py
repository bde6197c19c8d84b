"""Settings come from typed environment variables; production refuses development defaults."""

from __future__ import annotations

import os
import subprocess
import sys

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
