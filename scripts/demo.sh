#!/usr/bin/env bash
# Prepare the SQLite demo database and run the server (the body of `make demo`).
# CREDITPLUS_DEMO_ADDR changes the address (default 127.0.0.1:8000).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
addr="${CREDITPLUS_DEMO_ADDR:-127.0.0.1:8000}"
# The demo shows what users see: the site's own error pages, not Django's debug pages.
# `DEBUG=1 make demo` turns debugging on.
export DEBUG="${DEBUG:-0}"

"$bin/creditplus" migrate --noinput -v0
"$bin/creditplus" load_reference
# A small district: 2,000 market subjects and their records from all departments, ingested
# through the normal path (generated once, then reused; loading twice ingests nothing twice).
"$bin/creditplus" demo_data --subjects "${CREDITPLUS_DEMO_SUBJECTS:-2000}" --load
"$bin/creditplus" demo_accounts
"$bin/creditplus" lists_demo
"$bin/creditplus" lists_maintain
# Scores and grades of every market subject; the candidate model beside it, for the comparison.
"$bin/creditplus" evaluate --all
"$bin/creditplus" evaluate --all --model CPE-2027-DRAFT
"$bin/creditplus" supervision_demo
# Open data files of today (bulk downloads and deltas under /opendata/).
"$bin/creditplus" opendata_publish
# 政务诚信: the previous and current quarter computed, the demo assessor's scores entered.
"$bin/creditplus" integrity_demo
# 信用张江: the enterprise demo account's self-assessment, the demo bank's other-assessment,
# a report grant to the bank and its first reading, a financing matchmaking list.
"$bin/creditplus" assessments_demo
# The home page's statistics (cron every 10 minutes in production).
"$bin/creditplus" portal_statistics
echo "信用浦东（演示）: http://$addr/   工作台: http://$addr/backoffice/   English: http://$addr/en/"
# The background worker: uploaded files (page and API) are ingested by it, not by the web
# request. It runs beside the server and stops with it.
"$bin/creditplus" db_worker --no-reload --interval 1 &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
"$bin/creditplus" runserver --noreload "$addr"
