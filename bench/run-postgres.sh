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
#   3. `audit --format csv` of the store;
#   4. `report --format csv` (from the rows the audit kept), `signin ADDRESS`
#      and `history ACCOUNT_ID` for a practice user and a region user, the
#      same ADDRESS and users as bench/run.sh asks about (lib.sh's
#      pick_probes, on an sqlite3 import of the files, not timed);
#   5. `plan` of every confident match, then `replace --plan` of it (the
#      rate: planned rows a second of the replace alone);
#   6. on a second copy of the store (imported again after the replace),
#      8 area operators, each the operator of one commissioner, each
#      planning and replacing its own area's plan, all 8 at once (the total
#      rate: rows replaced by all of them over the wall time of the 8).
# Whole processes, wall clock and user+sys CPU of our processes, one run
# each; the server is stopped at the end. BENCH_STEPS=import limits it to
# steps 1-3, BENCH_STEPS=replace to steps 1-3 and 5 (for A/B runs of
# `replace --plan`: run it for each binary in turn). Needs the sqlite3
# shell (installed if missing) for step 4's probes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
data=${1:?usage: bench/run-postgres.sh DATA_FOLDER [BINARY]}
bin=${2:-$root/target/release/cqrs-admin}
export TMPDIR=${TMPDIR:-/tmp}/cqrs-admin-bench-pg
mkdir -p "$TMPDIR"
if [ "${BENCH_STEPS:-all}" = all ]; then
    # Step 4's probes, picked as bench/run.sh picks them (not timed).
    need_sqlite3
    rm -f "$TMPDIR/peer.db"
    peer_import_script "$data" | sqlite3 "$TMPDIR/peer.db"
    pick_probes "$TMPDIR/peer.db"
    rm -f "$TMPDIR/peer.db"
fi
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
[ "${BENCH_STEPS:-all}" = import ] && exit 0

timed() { # timed LABEL CMD...: one run, wall clock and user+sys CPU
    local label=$1 start
    shift
    start=$(now)
    /usr/bin/time -f '%U %S' -o "$TMPDIR/cpu" "$@" >/dev/null 2>>"$TMPDIR/stderr.log"
    printf '%s: %.2f s (user+sys %.2f s)\n' "$label" "$(secs "$start" "$(now)")" \
        "$(tr ' ' + <"$TMPDIR/cpu" | bc)"
}
# Step 4: the quick reads, on the store as the audit left it (its report kept).
if [ "${BENCH_STEPS:-all}" = all ]; then
    timed "report --format csv" "$bin" report --format csv
    timed "signin ADDRESS" "$bin" signin "$ADDRESS"
    timed "history (a practice user)" "$bin" history "$PRACTICE_USER"
    if [ -n "$REGION_USER" ]; then
        timed "history (a region user)" "$bin" history "$REGION_USER"
    fi
fi

today=2026-12-01
plan=$TMPDIR/plan.csv
# Plans left by an earlier run would be refused without --force.
rm -f "$plan" "$TMPDIR"/plan-*.csv "$TMPDIR"/outside-*
start=$(now)
"$bin" --today "$today" plan --out "$plan" >/dev/null 2>>"$TMPDIR/stderr.log"
planned=$(secs "$start" "$(now)")
rows=$(($(wc -l <"$plan") - 1))
start=$(now)
/usr/bin/time -f '%U %S' -o "$TMPDIR/cpu" "$bin" --today "$today" replace --plan "$plan" --yes \
    >/dev/null 2>>"$TMPDIR/stderr.log"
replaced=$(secs "$start" "$(now)")
printf 'plan: %.2f s (%d rows)\nreplace --plan: %.2f s, %.0f a second (user+sys %s s)\n' \
    "$planned" "$rows" "$replaced" "$(echo "$rows / $replaced" | bc -l)" "$(tr ' ' + <"$TMPDIR/cpu" | bc)"
[ "${BENCH_STEPS:-all}" = replace ] && exit 0

# Step 6: a fresh database with the same files, 8 area operators.
"$psql_bin" "$CQRS_ADMIN_DB" -q -c "CREATE DATABASE areas OWNER cqrs" >/dev/null
owner_db=${CQRS_ADMIN_DB%/cqrs}/areas
for f in organisations accounts permissions directory activity; do
    "$bin" --db "$owner_db" import "$f" "$data/$f.csv" >/dev/null 2>>"$TMPDIR/stderr.log"
done
state=$(dirname "$PGPASSFILE")
commissioners=$(awk -F, '$3 == "commissioner" { print $1 }' "$data/organisations.csv" | sort | head -8)
i=0
for org in $commissioners; do
    i=$((i + 1))
    password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
    "$psql_bin" "$CQRS_ADMIN_DB" -q -c "CREATE ROLE area$i LOGIN PASSWORD '$password'" >/dev/null
    printf '%s:*:*:area%s:%s\n' "$state" "$i" "$password" >>"$PGPASSFILE"
    "$bin" --db "$owner_db" operators add "area$i" --org "$org" >/dev/null 2>>"$TMPDIR/stderr.log"
    "$bin" --db "${owner_db/cqrs@/area$i@}" --today "$today" plan --out "$TMPDIR/plan-$i.csv" \
        >/dev/null 2>>"$TMPDIR/stderr.log"
    # An area's plan also names accounts with roles outside the area, which
    # its replace refuses (changing nothing), naming each: left out here.
    if ! "$bin" --db "${owner_db/cqrs@/area$i@}" --today "$today" replace \
        --plan "$TMPDIR/plan-$i.csv" --yes >/dev/null 2>"$TMPDIR/refused-$i.err"; then
        sed -n 's/^  \([^:]*\): it holds roles outside your area.*/\1,/p' "$TMPDIR/refused-$i.err" \
            >"$TMPDIR/outside-$i"
        grep -v -F -f "$TMPDIR/outside-$i" "$TMPDIR/plan-$i.csv" >"$TMPDIR/plan-$i.in" || true
        mv "$TMPDIR/plan-$i.in" "$TMPDIR/plan-$i.csv"
    fi
done
total=0
for j in $(seq 1 "$i"); do total=$((total + $(wc -l <"$TMPDIR/plan-$j.csv") - 1)); done
start=$(now)
pids=()
for j in $(seq 1 "$i"); do
    /usr/bin/time -f '%U %S' -o "$TMPDIR/cpu-$j" "$bin" --db "${owner_db/cqrs@/area$j@}" \
        --today "$today" replace --plan "$TMPDIR/plan-$j.csv" --yes \
        >"$TMPDIR/area-$j.out" 2>"$TMPDIR/area-$j.err" &
    pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
together=$(secs "$start" "$(now)")
done_rows=$("$psql_bin" "$owner_db" -qAtc "SELECT count(*) FROM accounts WHERE replaces IS NOT NULL")
cpu=$(cat "$TMPDIR"/cpu-* | tr ' ' '\n' | paste -sd+ | bc)
printf '%d area operators at once: %d plan rows, %d replaced in %.2f s, %.0f a second (user+sys %s s; %d exited non-zero, see %s/area-*.err)\n' \
    "$i" "$total" "$done_rows" "$together" "$(echo "$done_rows / $together" | bc -l)" "$cpu" "$failed" "$TMPDIR"
