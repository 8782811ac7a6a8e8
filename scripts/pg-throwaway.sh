#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for trying cqrs-admin on a shared store:
#
#   eval "$(scripts/pg-throwaway.sh)"     # prints, and so sets, CQRS_ADMIN_DB
#   cqrs-admin import organisations fixtures/organisations.csv
#   ...
#   scripts/pg-throwaway.sh --stop        # stops it and removes its folder
#
# The server lives in one temporary folder, listens only on a Unix socket in
# that folder (no TCP port, nothing reachable from another machine), and its
# one database `cqrs` is owned by the login `cqrs` with a random password kept
# in a private password file (PGPASSFILE), never on a command line. Run as
# root, the server runs as the unprivileged user `postgres`, as PostgreSQL
# requires. Needs PostgreSQL 15 or later (initdb, pg_ctl, psql); set
# CQRS_ADMIN_PG_BIN to their folder if they are not found.
set -euo pipefail

state=${TMPDIR:-/tmp}/cqrs-admin-pg-throwaway
die() { echo "pg-throwaway: $*" >&2; exit 1; }

as_server() { # run a server-side command as the server's user
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = --stop ]; then
    [ -d "$state" ] || die "no throwaway server is running (no $state)"
    bin=$(cat "$state/bin")
    as_server "$bin/pg_ctl" -D "$state/data" -m fast stop >/dev/null || true
    rm -rf "$state"
    echo "pg-throwaway: stopped and removed $state" >&2
    exit 0
fi

bin=${CQRS_ADMIN_PG_BIN:-}
if [ -z "$bin" ]; then
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$bin" ] || bin=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
fi
[ -x "$bin/initdb" ] || die "PostgreSQL's initdb was not found: install PostgreSQL 15 or later (Debian: apt-get install postgresql-15), or set CQRS_ADMIN_PG_BIN"
[ -e "$state" ] && die "a throwaway server seems to be running already ($state): stop it with $0 --stop"

mkdir -m 0700 "$state"
echo "$bin" >"$state/bin"
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$password" >"$state/pwfile"
[ "$(id -u)" = 0 ] && chown -R postgres "$state"
as_server "$bin/initdb" -D "$state/data" -U cqrs --auth=scram-sha-256 \
    --pwfile="$state/pwfile" -E UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1 ||
    die "initdb failed: see $state/initdb.log"
rm -f "$state/pwfile"
as_server "$bin/pg_ctl" -D "$state/data" -l "$state/server.log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$state'" start >/dev/null ||
    die "the server did not start: see $state/server.log"
# The password file of whoever ran this script (libpq's format, owner-only).
passfile=$state/pgpass
printf '%s:*:*:cqrs:%s\n' "$state" "$password" >"$passfile"
chmod 600 "$passfile"
[ "$(id -u)" = 0 ] && chown "$(id -u)" "$passfile"
PGPASSFILE=$passfile "$bin/psql" -h "$state" -U cqrs -d postgres -qAtc "CREATE DATABASE cqrs OWNER cqrs" >/dev/null
socket=$(printf '%s' "$state" | sed 's#/#%2F#g')
echo "export PGPASSFILE='$passfile'"
echo "export CQRS_ADMIN_DB='postgresql://cqrs@$socket/cqrs'"
echo "pg-throwaway: a server for trying cqrs-admin is running in $state; stop it with $0 --stop" >&2
