#!/usr/bin/env bash
# tests/bench/perf-table.sh: the measurements of docs/performance.md, row by row.
#
# For each row: wait (bounded) for the machine to be quiet, run the loopback
# fan-out floor at the same N, then chainquiz-bench against a server it spawns
# itself. Prints one Markdown row per run; JSON results go to $OUT.
#
#   tests/bench/perf-table.sh [ROW...]     rows: 100 1000 5000 10000 max rooms
#
# Environment: BUILD (default build), OUT (default /tmp/chainquiz-perf),
# QUESTIONS (5), TIME_LIMIT (10), QUIET_WAIT (seconds to wait for a quiet
# machine, default 600), EXTRA (more chainquiz-bench options).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=${OUT:-/tmp/chainquiz-perf}
QUESTIONS=${QUESTIONS:-5}
TIME_LIMIT=${TIME_LIMIT:-10}
QUIET_WAIT=${QUIET_WAIT:-600}
BENCH=$BUILD/tests/bench/chainquiz-bench
FLOOR_SRC=../shared/tools/fanout-floor.c
FLOOR=$OUT/fanout-floor
FRAME=300 # bytes: about the size of a `question` message of the default bank

mkdir -p "$OUT"
[ -x "$BENCH" ] || { echo "build first: scripts/build $BUILD (with tests/bench wired in)" >&2; exit 2; }
[ -f "$FLOOR_SRC" ] || { echo "$FLOOR_SRC not found" >&2; exit 2; }
cc -O2 -o "$FLOOR" "$FLOOR_SRC"

# Busy share of all cores over 5 s, from /proc/stat (other tenants included).
busy_pct() {
    local a b
    a=($(head -1 /proc/stat)); sleep 5; b=($(head -1 /proc/stat))
    local busy=$(( (b[1]+b[2]+b[3]+b[6]+b[7]+b[8]) - (a[1]+a[2]+a[3]+a[6]+a[7]+a[8]) ))
    local idle=$(( (b[4]+b[5]) - (a[4]+a[5]) ))
    echo $(( 100 * busy / (busy + idle + 1) ))
}

wait_quiet() {
    local waited=0 pct
    while :; do
        pct=$(busy_pct)
        if [ "$pct" -le 15 ] || [ "$waited" -ge "$QUIET_WAIT" ]; then
            echo "machine busy ${pct}% before the run (waited ${waited} s)" >&2
            return
        fi
        sleep 10
        waited=$((waited + 15))
    done
}

floor_ms() { # N -> median of the last delivery, ms
    "$FLOOR" "$1" "$FRAME" 20 | tee -a "$OUT/floor.log" |
        sed -n 's/.*last delivery median \([0-9.]*\) ms.*/\1/p'
}

run() { # LABEL PLAYERS ROOMS [options...]
    local label=$1 players=$2 rooms=$3
    shift 3
    wait_quiet
    local floor
    floor=$(floor_ms $((players * rooms)))
    echo "floor at N=$((players * rooms)): ${floor} ms" >&2
    "$BENCH" --spawn-server --players "$players" --rooms "$rooms" --questions "$QUESTIONS" \
        --time-limit "$TIME_LIMIT" --floor-ms "$floor" --md-row "$label" \
        --json "$OUT/$label.json" "$@" ${EXTRA:-} >"$OUT/$label.txt" 2>"$OUT/$label.log" || true
    grep '^|' "$OUT/$label.txt" | tail -1
}

# The largest room: one descriptor per player in each process, less the
# server's margin (it accepts at most the limit - 64 connections), the host,
# and 35 for players who rejoin before the server has reaped their old socket.
hard=$(ulimit -Hn)
max=$((hard - 64 - 1 - 35))

rows=("$@")
[ ${#rows[@]} -gt 0 ] || rows=(100 1000 5000 10000 max rooms)
echo "| run | joined | fan-out p50 / p99 / max (ms) | floor median (ms) | p99 / floor | ack p50 / p99 (ms) | reveal p99 (ms) | result p99 / max (ms) | leaderboard screen p99 / max (ms) | lost / dup / disconnects | server CPU (s) | server waited for a CPU (s) | peak RSS (MB) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do
    case $r in
    max) run "1x$max" "$max" 1 --join-rate 1000 ;;
    rooms) run "100x100" 100 100 --join-rate 1000 ;;
    *) run "1x$r" "$r" 1 --join-rate 1000 ;;
    esac
done
