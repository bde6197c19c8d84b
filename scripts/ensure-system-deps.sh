#!/usr/bin/env bash
# Install the Debian/Ubuntu packages creditplus needs, or say exactly what to run.
# Usage: scripts/ensure-system-deps.sh [postgres] [chromium] [fonts] [pango] [gettext] [java] [wrk]
set -euo pipefail

missing=()
for need in "$@"; do
  case "$need" in
    postgres)
      # PostgreSQL 15+ server binaries (initdb, pg_ctl) for the throwaway test cluster.
      found=""
      for dir in /usr/lib/postgresql/*/bin; do
        ver=$(basename "$(dirname "$dir")")
        if [ -x "$dir/initdb" ] && [ "${ver%%.*}" -ge 15 ] 2>/dev/null; then found=1; fi
      done
      [ -n "$found" ] || missing+=(postgresql postgresql-contrib)
      ;;
    chromium)
      [ -x /usr/bin/chromium ] || missing+=(chromium)
      ;;
    fonts)
      if ! fc-list :lang=zh 2>/dev/null | grep -qi 'noto'; then missing+=(fonts-noto-cjk fontconfig); fi
      ;;
    pango)
      # Pango renders the PDF credit reports (WeasyPrint).
      ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
      ;;
    gettext)
      command -v msgfmt >/dev/null || missing+=(gettext)
      ;;
    java)
      # Java 17 for PySpark (the Spark engine's tests run Spark in local mode).
      { command -v java >/dev/null && java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; } \
        || missing+=(openjdk-17-jre-headless)
      ;;
    wrk)
      # Debian's wrk drives the HTTP benchmarks (bench/checks.py) and their smoke tests.
      command -v wrk >/dev/null || missing+=(wrk)
      ;;
    *) echo "unknown requirement: $need" >&2; exit 2 ;;
  esac
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages. Please run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
