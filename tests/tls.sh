#!/usr/bin/env bash
# --tls-cert/--tls-key: the server speaks HTTPS and WSS itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CHAINQUIZ_BIN:-$root/build/chainquiz}
dir=$(mktemp -d /tmp/cq-tls-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
# A port the kernel just handed out and let go: free, unlike a random guess.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" --port "$port" --bind 127.0.0.1 --content "$root/tests/fixtures/content" \
  --web-root "$root/web-client" --data-dir "$dir/data" \
  --tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem" >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsk "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/log"; echo "FAIL: server exited"; exit 1; }
  sleep 0.1
done
body=$(curl -fs --cacert "$dir/cert.pem" "https://127.0.0.1:$port/healthz" || true)
case "$body" in *'"ok"'*) ;; *) echo "FAIL: no HTTPS"; exit 1 ;; esac
# A WebSocket upgrade over TLS answers 101 with our subprotocol.
resp=$(curl -sk --http1.1 -m 3 -o /dev/null -w '%{http_code}' \
  -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
  -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: chainquiz.v1' \
  "https://127.0.0.1:$port/ws" || true)
[ "$resp" = 101 ] || { echo "FAIL: WSS upgrade answered $resp"; exit 1; }
# Plain HTTP on the TLS port is refused.
if curl -fs -m 3 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
  echo "FAIL: plain HTTP accepted"; exit 1
fi
# Half a pair of options is an error.
if "$bin" --tls-cert "$dir/cert.pem" >/dev/null 2>&1; then echo "FAIL: --tls-cert alone"; exit 1; fi
echo "tls: 1 passed, 0 failed"
