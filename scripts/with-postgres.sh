#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster on a loopback port:
# initialise it in a temporary directory, export DATABASE_URL, run "$@", stop and remove it.
set -euo pipefail

pgbin=""
for dir in /usr/lib/postgresql/*/bin; do
  ver=$(basename "$(dirname "$dir")")
  if [ -x "$dir/initdb" ] && [ "${ver%%.*}" -ge 15 ] 2>/dev/null; then pgbin="$dir"; fi
done
[ -n "$pgbin" ] || { echo "PostgreSQL 15+ server not found (run scripts/ensure-system-deps.sh postgres)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/creditplus-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  # initdb refuses to run as root: the cluster belongs to the postgres system user.
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  chown postgres "$tmp"
  as_pg=(runuser -u postgres --)
fi

cleanup() {
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
# Durability is pointless for a throwaway cluster; speed is not. PG_SERVER_OPTIONS adds
# server settings (e.g. "-c shared_buffers=4GB" for a benchmark at Pudong scale).
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w \
  -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${PG_SERVER_OPTIONS:-}" \
  start >/dev/null
echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"

"$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres creditplus
export DATABASE_URL="postgres://postgres@127.0.0.1:$port/creditplus"
# The same server through its Unix socket (a benchmark may compare the two).
export PG_SOCKET_DIR="$tmp"
"$@"
