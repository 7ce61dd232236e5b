#!/usr/bin/env bash
# tests/soak/soak.sh: the soak test (docs/soak.md).
#
# Starts ONE private redis-server and ONE chainquiz server (the build
# directory's binary: under build-asan, the AddressSanitizer build), then
# plays rounds of games against it with chainquiz-bench: a warm-up round,
# then --rounds rounds, each of --games games played at the same time (one
# bench process per game) with players joining, dropping and rejoining, and
# the host of every other game dropping and rejoining too. After each round
# it waits until the server has freed every game (ended games live
# --ended-ttl seconds) and reads the server's RSS (VmRSS).
#
# Passes when: every bench run exits 0 (no lost or duplicated message, no
# unexpected disconnect) and the drops it asked for happened; the server
# freed every game and connection after each round; RSS after the last
# round is within the tolerance of the baseline (taken after the warm-up
# round; skipped for a sanitizer build, where RSS means nothing); and the
# server, stopped with SIGTERM, exits 0 with no sanitizer report (under
# LeakSanitizer a leak makes the exit status non-zero).
#
# Exit status: 0 pass, 1 fail, 2 could not run.
set -euo pipefail
# The whole script is one block, read before it runs: editing the file while
# a long soak runs cannot change what that run does.
{
root=$(cd "$(dirname "$0")/../.." && pwd)

usage() {
  cat <<EOF
Usage: tests/soak/soak.sh [OPTION]...
  --build DIR          build directory with chainquiz and chainquiz-bench (default $root/build)
  --server-bin PATH    the server (default DIR/chainquiz)
  --bench PATH         the load generator (default DIR/tests/bench/chainquiz-bench)
  --rounds N           measured rounds after the warm-up round (default 4)
  --games N            games per round, played at the same time (default 3)
  --players N          players per game (default 30)
  --questions N        questions per game (default 3)
  --time-limit S       answer window per question, s (default 2)
  --drop F             share of players dropped and rejoined in each game (default 0.2)
  --ended-ttl S        the server's --ended-ttl, s (default 2)
  --rss-tolerance-kb K RSS after the last round may exceed the baseline by at most
                       K kB (default 1024)
  --keep               keep the working folder (logs, bench JSON) even on success
  --help               this text
EOF
}

build=$root/build
server_bin=
bench_bin=
rounds=4
games=3
players=30
questions=3
time_limit=2
drop=0.2
ended_ttl=2
tolerance_kb=1024
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
  --build) build=$2; shift 2 ;;
  --server-bin) server_bin=$2; shift 2 ;;
  --bench) bench_bin=$2; shift 2 ;;
  --rounds) rounds=$2; shift 2 ;;
  --games) games=$2; shift 2 ;;
  --players) players=$2; shift 2 ;;
  --questions) questions=$2; shift 2 ;;
  --time-limit) time_limit=$2; shift 2 ;;
  --drop) drop=$2; shift 2 ;;
  --ended-ttl) ended_ttl=$2; shift 2 ;;
  --rss-tolerance-kb) tolerance_kb=$2; shift 2 ;;
  --keep) keep=1; shift ;;
  --help) usage; exit 0 ;;
  *) echo "soak: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
for v in rounds games players questions time_limit ended_ttl tolerance_kb; do
  case "${!v}" in '' | *[!0-9]*) echo "soak: --${v//_/-} needs a whole number" >&2; exit 2 ;; esac
done
if [ "$rounds" -lt 1 ] || [ "$games" -lt 1 ] || [ "$players" -lt 1 ] || [ "$questions" -lt 2 ]; then
  echo "soak: needs at least 1 round, 1 game, 1 player and 2 questions" >&2
  exit 2
fi
# The server refuses an --ended-ttl below 1 (server/main/config.c).
if [ "$ended_ttl" -lt 1 ]; then
  echo "soak: --ended-ttl must be at least 1 (the server's minimum)" >&2
  exit 2
fi

server_bin=${server_bin:-$build/chainquiz}
bench_bin=${bench_bin:-$build/tests/bench/chainquiz-bench}
content=$root/tests/fixtures/content
bank=mini
for f in "$server_bin" "$bench_bin"; do
  [ -x "$f" ] || { echo "soak: $f not built (scripts/build $build)" >&2; exit 2; }
done
for t in redis-server curl jq; do
  command -v "$t" >/dev/null || { echo "soak: needs $t" >&2; exit 2; }
done

# A sanitizer build: RSS includes shadow memory and the quarantine of freed
# blocks, so only the leak check means something there.
sanitized=0
if readelf -d "$server_bin" 2>/dev/null | grep -q 'libasan' ||
  nm "$server_bin" 2>/dev/null | grep -q '__asan_init'; then
  sanitized=1
fi

dir=$(mktemp -d /tmp/cq-soak-XXXXXX)
redis_pid=
server_pid=
failed=0
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  if [ "$failed" = 0 ] && [ "$keep" = 0 ]; then
    rm -rf "$dir"
  else
    echo "soak: logs and bench results kept in $dir"
  fi
  return 0
}
trap cleanup EXIT
trap 'failed=1; exit 1' INT TERM

fail() {
  echo "soak: FAIL: $*"
  failed=1
}

# A port the kernel just handed out and let go: free, unlike a random guess.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# Redis on a private unix socket, nothing written to disk.
redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --save "" \
  --appendonly no --dir "$dir" --daemonize no >"$dir/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 1 100); do
  [ -S "$dir/redis.sock" ] && break
  kill -0 "$redis_pid" 2>/dev/null || { cat "$dir/redis.log"; echo "soak: redis-server exited"; exit 2; }
  sleep 0.1
done
[ -S "$dir/redis.sock" ] || { echo "soak: redis-server did not start"; exit 2; }

# The leak check runs when the server exits (LeakSanitizer; on by default on
# x86_64 Linux, turned on here explicitly so that it cannot be lost).
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1
# Every player comes from 127.0.0.1: the per-address limits are for the internet.
"$server_bin" --port "$port" --bind 127.0.0.1 --content "$content" --web-root "$root/web-client" \
  --data-dir "$dir/data" --redis "unix:$dir/redis.sock" --ended-ttl "$ended_ttl" \
  --max-conns-per-ip 0 --join-deadline 0 --games-per-ip 0 --games-per-min 100000 \
  --work-per-sec 1000000 --work-burst 10000000 --log-level warn >"$dir/server.log" 2>&1 &
server_pid=$!
ready=
for _ in $(seq 1 300); do
  case "$(curl -fs "http://127.0.0.1:$port/readyz" 2>/dev/null || true)" in
  *'"redis":true'*) ready=1; break ;;
  esac
  kill -0 "$server_pid" 2>/dev/null || { cat "$dir/server.log"; echo "soak: server exited"; exit 2; }
  sleep 0.1
done
[ -n "$ready" ] || { cat "$dir/server.log"; echo "soak: server not ready"; exit 2; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }
metric() {
  curl -fs "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'
}

# Waits until the server has freed every game and closed every connection:
# the ended games expire --ended-ttl seconds after they end.
wait_empty() {
  local g c
  for _ in $(seq 1 $(((ended_ttl + 60) * 2))); do
    g=$(metric chainquiz_games || true)
    c=$(metric chainquiz_connections || true)
    [ "$g" = 0 ] && [ "$c" = 0 ] && return 0
    sleep 0.5
  done
  fail "the server still has ${g:-?} game(s) and ${c:-?} connection(s) $((ended_ttl + 60)) s after the round"
  return 1
}

echo "soak: server pid $server_pid on port $port ($server_bin), redis pid $redis_pid"
echo "soak: $rounds round(s) after a warm-up, $games game(s) per round at once, $players players" \
  "each, $questions questions, drop $drop, hosts of every other game drop; ended-ttl $ended_ttl s"
if [ "$sanitized" = 1 ]; then
  echo "soak: sanitizer build: RSS is printed but not checked (shadow memory, quarantine);" \
    "the leak check at exit is kept"
else
  echo "soak: RSS tolerance: the last round may end at most $tolerance_kb kB above the baseline"
fi
printf '%-7s %6s %8s %7s %8s %10s %6s %10s %10s %8s\n' round games players drops rejoins \
  host-drops secs "RSS (kB)" "vs base" result
baseline=
total_games=0
total_players=0
total_drops=0
total_host_drops=0
rss_max=0
rss=0
for r in $(seq 0 "$rounds"); do
  started=$SECONDS
  pids=()
  for g in $(seq 1 "$games"); do
    seed=$((r * games + g))
    args=(--url "ws://127.0.0.1:$port/ws" --content "$content" --bank "$bank"
      --players "$players" --questions "$questions" --time-limit "$time_limit" --gap-ms 200
      --drop "$drop" --seed "$seed" --quiet --json "$dir/r$r-g$g.json")
    # Every other game's host drops and rejoins, on a question that moves
    # from round to round (0-based).
    [ $((g % 2)) = 0 ] && args+=(--drop-host $(((r + g) % questions)))
    "$bench_bin" "${args[@]}" >"$dir/r$r-g$g.out" 2>&1 &
    pids+=($!)
  done
  round_ok=1
  joined=0 drops=0 rejoins=0 host_drops=0
  for g in $(seq 1 "$games"); do
    st=0
    wait "${pids[$((g - 1))]}" || st=$?
    j=$dir/r$r-g$g.json
    if [ "$st" != 0 ]; then
      fail "round $r game $g: chainquiz-bench exited $st (see $dir/r$r-g$g.out)"
      round_ok=0
      continue
    fi
    read -r gj gd gr gh < <(jq -r '[.join.joined, .connections.drops, .connections.rejoins,
      .connections.host_drops] | @tsv' "$j")
    joined=$((joined + gj)) drops=$((drops + gd)) rejoins=$((rejoins + gr))
    host_drops=$((host_drops + gh))
    if [ "$gd" != "$gr" ]; then
      fail "round $r game $g: $gd drops but $gr rejoins"
      round_ok=0
    fi
    if [ $((g % 2)) = 0 ] && [ "$gh" -lt 1 ]; then
      fail "round $r game $g: the host was told to drop and did not"
      round_ok=0
    fi
  done
  wait_empty || round_ok=0
  rss=$(rss_kb)
  label=$r
  if [ "$r" = 0 ]; then
    label=warm-up
    baseline=$rss
  else
    total_games=$((total_games + games))
    total_players=$((total_players + joined))
    total_drops=$((total_drops + drops))
    total_host_drops=$((total_host_drops + host_drops))
    [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  fi
  printf '%-7s %6s %8s %7s %8s %10s %6s %10s %+10d %8s\n' "$label" "$games" "$joined" "$drops" \
    "$rejoins" "$host_drops" $((SECONDS - started)) "$rss" $((rss - baseline)) \
    "$([ $round_ok = 1 ] && echo ok || echo FAIL)"
  [ "$round_ok" = 1 ] || break
done

echo "soak: $total_games game(s), $total_players players, $total_drops player drops and" \
  "$total_host_drops host drops after the warm-up; RSS baseline $baseline kB, highest" \
  "$rss_max kB, last $rss kB"
if [ "$sanitized" = 1 ]; then
  echo "soak: RSS check skipped (sanitizer build)"
elif [ "$failed" = 0 ]; then
  if [ $((rss - baseline)) -gt "$tolerance_kb" ]; then
    fail "RSS after the last round is $((rss - baseline)) kB above the baseline" \
      "(tolerance $tolerance_kb kB)"
  else
    echo "soak: RSS after the last round is within $tolerance_kb kB of the baseline"
  fi
fi

# SIGTERM: an orderly shutdown; LeakSanitizer reports at exit.
kill -TERM "$server_pid"
for _ in $(seq 1 600); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then
  fail "the server is still running 60 s after SIGTERM"
  kill -KILL "$server_pid"
fi
st=0
wait "$server_pid" || st=$?
server_pid=
if [ "$st" != 0 ]; then
  fail "the server exited with status $st after SIGTERM"
fi
if grep -qE 'LeakSanitizer|AddressSanitizer|runtime error:' "$dir/server.log"; then
  fail "the server's log has a sanitizer report:"
  grep -E -A30 'LeakSanitizer|AddressSanitizer|runtime error:' "$dir/server.log" | head -60
fi
echo "soak: server exit status after SIGTERM: $st"

if [ "$failed" = 0 ]; then
  echo "soak: PASS"
  exit 0
fi
echo "soak: FAIL"
exit 1
}
