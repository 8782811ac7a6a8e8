# shellcheck shell=bash
# Shared by bench/run.sh and bench/check-oracle.sh: paths, installs, building,
# generating data, importing it with the sqlite3 shell, and timing processes.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
GEN=$CARGO_TARGET_DIR/release/examples/generate
# CQRS_ADMIN_BIN points at a ready-made binary (it is then not built).
BIN=${CQRS_ADMIN_BIN:-$CARGO_TARGET_DIR/release/cqrs-admin}
KINDS=(organisations accounts permissions directory activity)

die() {
    echo "error: $*" >&2
    exit 1
}

note() {
    echo "== $*" >&2
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "root is needed to run: $*"
    fi
}

APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" = 0 ]; then
        as_root apt-get update
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

# The peer (Debian package sqlite3) and GNU time (package time, for peak RSS).
need_sqlite3() {
    command -v sqlite3 >/dev/null 2>&1 || apt_install sqlite3
}

need_gnu_time() {
    [ -x /usr/bin/time ] || apt_install time
}

# build [--with-bin]: the generator, and cqrs-admin too unless CQRS_ADMIN_BIN is set.
build() {
    local targets=(--example generate)
    if [ "${1:-}" = --with-bin ] && [ -z "${CQRS_ADMIN_BIN:-}" ]; then
        targets+=(--bin cqrs-admin)
    fi
    note "building (release): ${targets[*]}"
    (cd "$ROOT" && cargo build --release --quiet "${targets[@]}")
    [ -x "$GEN" ] || die "the generator was not built: $GEN"
    if [ "${1:-}" = --with-bin ]; then
        [ -x "$BIN" ] || die "cqrs-admin was not built: $BIN"
    fi
}

# ensure_data N SEED: generates bench/data/N once. The stamp records the size,
# the seed and the generator's source, so a changed generator regenerates.
ensure_data() {
    local n=$1 seed=$2 dir=$ROOT/bench/data/$1 stamp
    stamp="accounts=$n seed=$seed generator=$(sha256sum "$ROOT/examples/generate.rs" | cut -c1-16)"
    DATA=$dir
    if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then
        note "data: $dir (cached)"
        return
    fi
    note "generating $n accounts (seed $seed) into $dir"
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    "$GEN" --accounts "$n" --seed "$seed" --out "$dir.tmp" 2>"$dir.tmp/generator.txt" ||
        die "the generator failed: $(cat "$dir.tmp/generator.txt")"
    echo "$stamp" >"$dir.tmp/.stamp"
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
}

# peer_import_script DATA: the sqlite3 shell commands that import the five files
# into plain tables named after them (columns from the header row).
peer_import_script() {
    local kind
    for kind in "${KINDS[@]}"; do
        printf '.import --csv "%s/%s.csv" %s\n' "$1" "$kind" "$kind"
    done
}

# pick_probes PEER_DB: what to ask `signin` and `history` about, from the sqlite3
# shell's tables of the data (peer_import_script), the same in bench/run.sh and
# bench/run-postgres.sh. Sets ADDRESS (the address of an active account in the
# middle of the file that the directory holds as an active personal mailbox: a
# typical person signing in), PRACTICE_USER (a practice user in the middle) and
# REGION_USER (a region user, who sees the most; empty if none).
pick_probes() {
    local peer=$1
    ADDRESS=$(sqlite3 "$peer" "
        SELECT lower(trim(a.email)) FROM
          (SELECT email FROM accounts WHERE trim(status) = 'active'
           LIMIT 1000 OFFSET (SELECT count(*) / 2 FROM accounts)) a
        JOIN directory d ON lower(trim(d.address)) = lower(trim(a.email))
        WHERE trim(d.status) = 'active' AND trim(d.mailbox_type) <> 'shared' LIMIT 1")
    PRACTICE_USER=$(sqlite3 "$peer" "
        SELECT p.account_id FROM permissions p JOIN organisations o ON o.ods_code = p.ods_code
        WHERE o.kind = 'practice' AND p.rowid >= (SELECT count(*) / 2 FROM permissions)
        ORDER BY p.rowid LIMIT 1")
    [ -n "$PRACTICE_USER" ] || PRACTICE_USER=$(sqlite3 "$peer" "SELECT account_id FROM permissions LIMIT 1")
    REGION_USER=$(sqlite3 "$peer" "
        SELECT p.account_id FROM permissions p JOIN organisations o ON o.ods_code = p.ods_code
        WHERE o.kind = 'region' ORDER BY p.rowid LIMIT 1")
    [ -n "$ADDRESS" ] || die "found no address to try signin with"
}

# measure CMD...: runs one process, recording its wall time in LAST_S and its
# peak resident size in LAST_KB; stdin and stdout are the caller's, stderr goes
# to $WORK/stderr.log. A failing command stops the script with its messages.
measure() {
    local t0 t1 rss=$WORK/rss.txt
    t0=$(date +%s%N)
    if ! /usr/bin/time -f '%M' -o "$rss" "$@" 2>>"$WORK/stderr.log"; then
        echo "error: command failed: $*" >&2
        tail -n 20 "$WORK/stderr.log" >&2
        exit 1
    fi
    t1=$(date +%s%N)
    LAST_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    LAST_KB=$(tail -n 1 "$rss")
}

# our_import STORE DATA: the five imports into a new store, one process each.
# Sets LAST_S (all five together) and LAST_KB (the largest of the five).
our_import() {
    local store=$1 data=$2 kind t0 t1 peak=0 flags=()
    rm -f "$store" "$store-wal" "$store-shm"
    # A tool that asks before creating accounts takes --yes on import as well.
    if [ -z "${IMPORT_HELP+x}" ]; then
        IMPORT_HELP=$("$BIN" import --help 2>&1) || die "cqrs-admin import --help failed: $IMPORT_HELP"
    fi
    if [[ $IMPORT_HELP == *--yes* ]]; then
        flags=(--yes)
    fi
    t0=$(date +%s%N)
    for kind in "${KINDS[@]}"; do
        measure "$BIN" --db "$store" import "${flags[@]}" "$kind" "$data/$kind.csv" </dev/null >/dev/null
        if [ "$LAST_KB" -gt "$peak" ]; then peak=$LAST_KB; fi
    done
    t1=$(date +%s%N)
    LAST_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    LAST_KB=$peak
}

# csv_rows FILE: data rows of a CSV file (RFC 4180, read by the sqlite3 shell).
csv_rows() {
    sqlite3 :memory: ".import --csv \"$1\" t" 'SELECT count(*) FROM t'
}
