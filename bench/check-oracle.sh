#!/usr/bin/env bash
# Compares cqrs-admin's audit with the independent SQL oracle (bench/audit.sql)
# on the same data, account by account, on account_id, category, match and
# section. Prints the number of accounts that disagree (0 expected) and exits 1
# when there are any.
#
#   bench/check-oracle.sh [--accounts N] [--seed S]   generated data (default 100000)
#   bench/check-oracle.sh --data DIR                    any five files, e.g. fixtures
#   bench/check-oracle.sh --data fixtures --expected fixtures/expected.csv
#                          compares the oracle with a hand-written expectation
#                          instead (no cqrs-admin needed)
#
# CQRS_ADMIN_BIN=PATH uses a ready-made binary instead of building one.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

accounts=100000
seed=1
data=
expected=
while [ $# -gt 0 ]; do
    case $1 in
    --accounts) accounts=${2:?--accounts needs a number}; shift 2 ;;
    --seed) seed=${2:?--seed needs a number}; shift 2 ;;
    --data) data=${2:?--data needs a directory}; shift 2 ;;
    --expected) expected=${2:?--expected needs a file}; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ $accounts =~ ^[0-9]+$ ]] || die "--accounts must be a number"

need_sqlite3
if [ -n "$data" ]; then
    data=$(cd "$data" && pwd)
    WORK=$ROOT/bench/work/oracle-$(basename "$data")
    if [ -z "$expected" ]; then build --with-bin; fi
else
    if [ -z "$expected" ]; then build --with-bin; else build; fi
    ensure_data "$accounts" "$seed"
    data=$DATA
    WORK=$ROOT/bench/work/oracle-$accounts
fi
for kind in "${KINDS[@]}"; do
    [ -f "$data/$kind.csv" ] || die "missing $data/$kind.csv"
done
rm -rf "$WORK"
mkdir -p "$WORK"
: >"$WORK/stderr.log"

note "the oracle: sqlite3 .import and bench/audit.sql"
peer_import_script "$data" | sqlite3 "$WORK/peer.db"
sqlite3 -csv -header -cmd '.parameter set :all 1' "$WORK/peer.db" <"$ROOT/bench/audit.sql" >"$WORK/oracle.csv"

if [ -n "$expected" ]; then
    cp "$expected" "$WORK/ours.csv"
    theirs=expected
else
    note "cqrs-admin: import and audit --include-disabled --format csv"
    for kind in "${KINDS[@]}"; do
        "$BIN" --db "$WORK/ours.db" import "$kind" "$data/$kind.csv" </dev/null >/dev/null 2>>"$WORK/stderr.log" ||
            { tail -n 20 "$WORK/stderr.log" >&2; die "cqrs-admin import $kind failed"; }
    done
    "$BIN" --db "$WORK/ours.db" audit --include-disabled --format csv </dev/null >"$WORK/ours.csv" 2>>"$WORK/stderr.log" ||
        { tail -n 20 "$WORK/stderr.log" >&2; die "cqrs-admin audit failed"; }
    theirs=cqrs-admin
fi

# Both sides are read by the sqlite3 shell's CSV reader (quoted fields, embedded
# newlines), reduced to the four columns, sorted, and compared.
sqlite3 "$WORK/compare.db" <<SQL
.import --csv "$WORK/oracle.csv" oracle
.import --csv "$WORK/ours.csv" ours
.headers off
.mode csv
.once "$WORK/oracle.sorted.csv"
SELECT account_id, category, match, section FROM oracle ORDER BY 1;
.once "$WORK/ours.sorted.csv"
SELECT account_id, category, match, section FROM ours ORDER BY 1;
SQL
diff "$WORK/oracle.sorted.csv" "$WORK/ours.sorted.csv" >"$WORK/diff.txt" || true
disagree=$(sqlite3 "$WORK/compare.db" "
    SELECT count(DISTINCT account_id) FROM (
        SELECT * FROM (SELECT account_id, category, match, section FROM oracle
                       EXCEPT SELECT account_id, category, match, section FROM ours)
        UNION ALL
        SELECT * FROM (SELECT account_id, category, match, section FROM ours
                       EXCEPT SELECT account_id, category, match, section FROM oracle))")
total=$(sqlite3 "$WORK/compare.db" "SELECT count(*) FROM oracle")
if [ "$disagree" != 0 ]; then
    echo "first differences (< oracle, > $theirs), all in $WORK/diff.txt:"
    head -n 20 "$WORK/diff.txt"
fi
echo "$disagree of $total accounts disagree (oracle vs $theirs, data $data)"
[ "$disagree" = 0 ]
