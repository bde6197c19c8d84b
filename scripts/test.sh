#!/usr/bin/env bash
# The whole suite: lint, format, import layers (pyproject.toml), migrations check, then
# pytest on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
export CREDITPLUS_ENV=development
unset DATABASE_URL

echo "== ruff"
"$bin/ruff" check .
"$bin/ruff" format --check .

echo "== import layers"
"$bin/lint-imports"

echo "== migrations"
var=$(mktemp -d /tmp/creditplus-test.XXXXXX)
trap 'rm -rf "$var"' EXIT
CREDITPLUS_VAR_DIR="$var" "$bin/creditplus" makemigrations --check --dry-run >/dev/null \
  || { echo "Model changes without migrations: run 'creditplus makemigrations'" >&2; exit 1; }

echo "== pytest on SQLite"
CREDITPLUS_VAR_DIR="$var" "$bin/pytest" -n auto --hypothesis-profile=ci "$@"

echo "== pytest on PostgreSQL"
CREDITPLUS_VAR_DIR="$var" scripts/with-postgres.sh "$bin/pytest" -n auto --hypothesis-profile=ci "$@"
