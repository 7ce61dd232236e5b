#!/usr/bin/env bash
# The README's first command, end to end: scripts/run brings up a server a
# browser can open (with its own Redis), and Ctrl-C leaves nothing behind.
# ctest passes the binary under test (CHAINQUIZ_BIN), so scripts/run does not
# rebuild build/ from inside a test run (of build-asan, say).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/cq-readme-XXXXXX)
# A port the kernel just handed out and let go: free, unlike a random guess.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

cd "$root"
setsid scripts/run --port "$port" --bind 127.0.0.1 --data-dir "$dir/data" >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/log"; echo "FAIL: scripts/run exited"; exit 1; }
  sleep 0.1
done
# Bodies are read whole first: `curl | grep -q` fails under pipefail when
# grep stops reading early.
get() { curl -fs "http://127.0.0.1:$port$1" || true; }
case "$(get /readyz)" in *'"redis":true'*) ;; *) echo "FAIL: not ready"; exit 1 ;; esac
case "$(get /)" in *'<html'*) ;; *) echo "FAIL: no page at /"; exit 1 ;; esac
case "$(get /api/banks)" in *itil4-value-chain*) ;; *) echo "FAIL: no built-in bank"; exit 1 ;; esac
redis=$(pgrep -f "redis-server.*$dir/data" || true)
[ -n "$redis" ] || { echo "FAIL: no embedded redis-server"; exit 1; }

kill -INT "$pid"   # what Ctrl-C sends
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "FAIL: still running after SIGINT"; exit 1; fi
wait "$pid" || { echo "FAIL: exit status $?"; exit 1; }
pid=
if pgrep -f "redis-server.*$dir/data" >/dev/null; then echo "FAIL: redis-server left behind"; exit 1; fi
echo "readme_run: 1 passed, 0 failed"
