#!/usr/bin/env bash
# The benchmark (bench/README.md), in one command:
#
#   bench/run.sh [--accounts N] [--runs R] [--seed S] [--out FILE]
#
# defaults: 1,000,000 accounts, 3 runs, seed 1, bench/results.md.
#
# It builds cqrs-admin and the generator (release), generates the data once into
# bench/data/N/ (kept, and reused while the generator is unchanged), installs the
# sqlite3 shell and GNU time if they are missing (nothing else), then times,
# interleaved run by run, with the median of the runs:
#
#   1. importing the five files into a new store, vs the sqlite3 shell's
#      `.import --csv` into plain tables;
#   2. `audit --format csv`, vs the same audit as one SQL query (bench/audit.sql)
#      in the sqlite3 shell on its tables;
#   3. `plan --out P`, then `replace --plan P --yes` on a copy of the store
#      (replacements a second);
#   4. `report --format csv`, `signin ADDRESS` and `history ACCOUNT_ID`;
#   5. `progress --format csv` on a copy of the store holding 60 daily
#      snapshots (the audit's own snapshot, copied to the 59 days before it by
#      SQL), and the space one snapshot takes in the store.
#
# Whole processes are timed (wall clock); peak memory is GNU time's maximum
# resident size. Results go to bench/results.md. Scratch files: bench/work/N/.
# CQRS_ADMIN_BIN=PATH benchmarks a ready-made binary instead of building one.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

accounts=1000000
runs=3
seed=1
out=$ROOT/bench/results.md
while [ $# -gt 0 ]; do
    case $1 in
    --accounts) accounts=${2:?--accounts needs a number}; shift 2 ;;
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --seed) seed=${2:?--seed needs a number}; shift 2 ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
done
accounts=${accounts//_/}
[[ $accounts =~ ^[1-9][0-9]*$ ]] || die "--accounts must be a positive number"
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive number"

need_sqlite3
need_gnu_time
build --with-bin
ensure_data "$accounts" "$seed"

WORK=$ROOT/bench/work/$accounts
rm -rf "$WORK"
mkdir -p "$WORK"
: >"$WORK/stderr.log"
peer_import_script "$DATA" >"$WORK/peer-import.sql"
OURS=$WORK/ours.db
PEER=$WORK/peer.db

# Results per step: space-separated seconds per run, and the largest peak RSS.
declare -A secs peak
record() { # record STEP: files LAST_S and LAST_KB under STEP
    secs[$1]="${secs[$1]:-} $LAST_S"
    if [ "$LAST_KB" -gt "${peak[$1]:-0}" ]; then peak[$1]=$LAST_KB; fi
}

median() {
    tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

replacements=0
for run in $(seq 1 "$runs"); do
    note "run $run of $runs"

    # 1. import
    our_import "$OURS" "$DATA"
    record import
    rm -f "$PEER"
    measure sqlite3 "$PEER" <"$WORK/peer-import.sql" >/dev/null
    record peer-import

    if [ "$run" = 1 ]; then
        # Not timed: the store holds what was imported, and what to ask signin
        # and history about.
        n=$(sqlite3 "$OURS" 'SELECT count(*) FROM accounts')
        [ "$n" = "$accounts" ] || die "the store has $n accounts after import, expected $accounts"
        # What to ask signin and history about (lib.sh).
        pick_probes "$PEER"
        note "signin $ADDRESS; history $PRACTICE_USER (practice) and ${REGION_USER:-none} (region)"
    fi

    # 2. audit
    measure "$BIN" --db "$OURS" audit --format csv </dev/null >/dev/null
    record audit
    measure sqlite3 -csv -header "$PEER" <"$ROOT/bench/audit.sql" >/dev/null
    record peer-audit

    # 3. plan, then replace every planned account, on a copy of the store
    rm -f "$WORK/replace.db" "$WORK/replace.db-wal" "$WORK/replace.db-shm" "$WORK/plan.csv"
    cp "$OURS" "$WORK/replace.db"
    if [ -f "$OURS-wal" ]; then cp "$OURS-wal" "$WORK/replace.db-wal"; fi
    measure "$BIN" --db "$WORK/replace.db" plan --out "$WORK/plan.csv" </dev/null >/dev/null
    record plan
    [ -f "$WORK/plan.csv" ] || die "plan wrote no $WORK/plan.csv"
    replacements=$(csv_rows "$WORK/plan.csv")
    measure "$BIN" --db "$WORK/replace.db" replace --plan "$WORK/plan.csv" --yes </dev/null >/dev/null
    record replace
    n=$(sqlite3 "$WORK/replace.db" 'SELECT count(*) FROM accounts')
    [ "$n" = $((accounts + replacements)) ] ||
        die "after replacing $replacements accounts the store has $n accounts, expected $((accounts + replacements))"

    # 4. report, signin, history on the imported store
    measure "$BIN" --db "$OURS" report --format csv </dev/null >/dev/null
    record report
    measure "$BIN" --db "$OURS" signin "$ADDRESS" </dev/null >/dev/null
    record signin
    measure "$BIN" --db "$OURS" history "$PRACTICE_USER" </dev/null >/dev/null
    record history-practice
    if [ -n "$REGION_USER" ]; then
        measure "$BIN" --db "$OURS" history "$REGION_USER" </dev/null >/dev/null
        record history-region
    fi

    # 5. progress over 60 daily snapshots. The audit above kept today's; it is
    # copied to the 59 days before (not timed), as 60 days of audits would keep them.
    rm -f "$WORK/progress.db"
    cp "$OURS" "$WORK/progress.db"
    if [ "$run" = 1 ]; then
        SNAPSHOT_BYTES=$(sqlite3 "$WORK/progress.db" "
            SELECT coalesce((SELECT sum(pgsize) FROM dbstat
                             WHERE name LIKE 'progress_%' OR name LIKE 'sqlite_autoindex_progress_%'), 0)" 2>/dev/null ||
            sqlite3 "$WORK/progress.db" "SELECT sum(length(needing)) FROM progress_snapshots")
        SNAPSHOTS_KEPT=$(sqlite3 "$WORK/progress.db" "SELECT count(*) FROM progress_snapshots")
    fi
    sqlite3 "$WORK/progress.db" "
        BEGIN;
        CREATE TEMP TABLE back(n INTEGER);
        WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 59)
            INSERT INTO back SELECT n FROM c;
        INSERT INTO progress_snapshots
            SELECT date(s.day, '-' || b.n || ' days'), s.recorded_at, s.accounts, s.needing_action,
                   s.contact_commissioner, s.no_nhsmail, s.administrator, s.ok, s.fixed, s.new, s.needing
            FROM progress_snapshots s, back b;
        INSERT INTO progress_categories
            SELECT date(s.day, '-' || b.n || ' days'), s.category, s.accounts FROM progress_categories s, back b;
        INSERT INTO progress_contacts
            SELECT date(s.day, '-' || b.n || ' days'), s.contact_code, s.contact_name, s.needing_action,
                   s.contact_commissioner, s.no_nhsmail, s.administrator, s.fixed, s.new
            FROM progress_contacts s, back b;
        COMMIT;"
    n=$(sqlite3 "$WORK/progress.db" 'SELECT count(*) FROM progress_snapshots')
    [ "$n" = 60 ] || die "the progress store holds $n snapshots, expected 60"
    measure "$BIN" --db "$WORK/progress.db" progress --format csv </dev/null >/dev/null
    record progress
done

# ---------------------------------------------------------------------------
# results.md

mb() { awk -v k="${peak[$1]:-0}" 'BEGIN { printf "%.0f", k / 1024 }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
verdict() { if "$@"; then echo yes; else echo "**no**"; fi; }

m_import=$(median "${secs[import]}")
m_peer_import=$(median "${secs[peer-import]}")
m_audit=$(median "${secs[audit]}")
m_peer_audit=$(median "${secs[peer-audit]}")
m_plan=$(median "${secs[plan]}")
m_replace=$(median "${secs[replace]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
r_import=$(ratio "$m_import" "$m_peer_import")
r_audit=$(ratio "$m_audit" "$m_peer_audit")
rate=$(awk -v n="$replacements" -v s="$m_replace" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')

rows=()
rows+=("| import (5 files, 5 processes) | $m_import | $m_peer_import | $r_import | ≤ 0.7 × peer | $(mb import) | $(verdict le "$r_import" 0.7) |")
audit_ok() { le "$m_audit" 1.0 && le "$(mb audit)" 300; }
rows+=("| audit --format csv | $m_audit | $m_peer_audit | $r_audit | ≤ 1.0 s, ≤ 300 MB | $(mb audit) | $(verdict audit_ok) |")
rows+=("| plan | $m_plan | – | – | – | $(mb plan) | |")
rows+=("| replace --plan ($replacements replacements) | $m_replace | – | $rate / s | ≥ 50,000 / s | $(mb replace) | $(verdict le 50000 "$rate") |")
for step in report signin history-practice history-region; do
    [ -n "${secs[$step]:-}" ] || continue
    m=$(median "${secs[$step]}")
    case $step in
    report) label="report --format csv" ;;
    signin) label="signin ADDRESS" ;;
    history-practice) label="history (a practice user)" ;;
    history-region) label="history (a region user)" ;;
    esac
    rows+=("| $label | $m | – | – | < 0.2 s | $(mb "$step") | $(verdict le "$m" 0.2) |")
done
m_progress=$(median "${secs[progress]}")
rows+=("| progress (60 daily snapshots) | $m_progress | – | – | < 0.2 s | $(mb progress) | $(verdict le "$m_progress" 0.2) |")

commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit (with uncommitted changes)"; fi
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')
[ -n "$cpu" ] || cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
mem=$(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)
version=$("$BIN" --version 2>/dev/null) || version="cqrs-admin (no --version)"
sizes=$(sed 's/^wrote [^:]*: //' "$DATA/generator.txt" 2>/dev/null || echo "$accounts accounts")

{
    echo "# Benchmark results"
    echo
    echo "\`bench/run.sh --accounts $accounts --runs $runs --seed $seed\`: median of $runs runs, whole"
    echo "processes, wall-clock seconds; peak MB is the largest maximum resident size of"
    echo "our process(es) in the step over all runs (GNU time)."
    echo
    echo "| step | ours median s | peer median s | ratio | goal | peak MB | goal met |"
    echo "|---|---:|---:|---:|---|---:|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Peers: the \`sqlite3\` shell ($(sqlite3 --version | cut -d' ' -f1)) importing the same five files with"
    echo "\`.import --csv\` into plain tables (one process), and \`bench/audit.sql\`, the same"
    echo "audit as one SQL query on those tables. Runs were interleaved (ours, then the"
    echo "peer, step by step, run by run). The replacement rate is planned rows divided"
    echo "by the median time of \`replace --plan\` alone; \`plan\` is timed separately."
    echo
    echo "Data: $sizes."
    echo
    echo "One progress snapshot of this store (kept by the whole-store audit): ${SNAPSHOT_BYTES:-?} bytes"
    echo "in the store's progress tables (SQLite's dbstat; $SNAPSHOTS_KEPT snapshot before the 59 copies)."
    echo
    echo "Machine: $(nproc) CPUs ($cpu), $mem memory; $(uname -sr)."
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Commit: $commit. $version."
    echo
    echo "Per-run seconds:"
    echo
    for step in import peer-import audit peer-audit plan replace report signin history-practice history-region progress; do
        [ -n "${secs[$step]:-}" ] || continue
        echo "- $step:${secs[$step]}"
    done
} >"$out"
note "wrote $out"
cat "$out"
