#!/usr/bin/env bash
# The PostgreSQL mode of the benchmark, in one command:
#
#   bench/run-postgres.sh DATA_FOLDER [BINARY]
#
# DATA_FOLDER holds the five CSV files (bench/run.sh generates them under
# bench/data/N/); BINARY defaults to target/release/cqrs-admin. It starts a
# throwaway server (scripts/pg-throwaway.sh), then times, in the same run:
#   1. psql `\copy` of the five files into plain text tables (the peer);
#   2. cqrs-admin importing the five files, checking every row;
#   3. `audit --format csv` of the store.
# Whole processes, wall clock, one run each; the server is stopped at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${1:?usage: bench/run-postgres.sh DATA_FOLDER [BINARY]}
bin=${2:-$root/target/release/cqrs-admin}
export TMPDIR=${TMPDIR:-/tmp}/cqrs-admin-bench-pg
mkdir -p "$TMPDIR"
eval "$("$root/scripts/pg-throwaway.sh")"
trap '"$root/scripts/pg-throwaway.sh" --stop' EXIT
psql_bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1)")/psql
[ -x "$psql_bin" ] || psql_bin=psql
export PGOPTIONS="-c client_min_messages=warning"
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

"$psql_bin" "$CQRS_ADMIN_DB" -q -c "CREATE SCHEMA peer" -c "SET search_path = peer" >/dev/null
start=$(now)
for f in organisations accounts permissions directory activity; do
    header=$(head -1 "$data/$f.csv")
    cols=$(echo "$header" | sed 's/,/ text, /g; s/$/ text/')
    "$psql_bin" "$CQRS_ADMIN_DB" -q -c "CREATE TABLE peer.$f ($cols)" \
        -c "\\copy peer.$f FROM '$data/$f.csv' WITH (FORMAT csv, HEADER true)" >/dev/null
done
peer=$(secs "$start" "$(now)")
"$psql_bin" "$CQRS_ADMIN_DB" -q -c "DROP SCHEMA peer CASCADE" >/dev/null

start=$(now)
for f in organisations accounts permissions directory activity; do
    "$bin" import "$f" "$data/$f.csv" >/dev/null 2>>"$TMPDIR/stderr.log"
done
ours=$(secs "$start" "$(now)")
start=$(now)
"$bin" audit --format csv >/dev/null 2>>"$TMPDIR/stderr.log"
audit=$(secs "$start" "$(now)")
printf 'psql \\copy of the five files: %.2f s\ncqrs-admin import of the five files: %.2f s (%.2f x)\naudit --format csv: %.2f s\n' \
    "$peer" "$ours" "$(echo "$ours / $peer" | bc -l)" "$audit"
