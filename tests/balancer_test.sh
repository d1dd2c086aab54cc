#!/usr/bin/env bash
# launch/bazaar up --balancer (issue 18, item 3): HAProxy on the HTTP port in front of two front
# ends. Under load through HAProxy (lookups and lists from bazaar-client load, keyed orders from
# curl), frontend-1 is killed and started again: no client sees an error, and the restarted
# front end is back in rotation (HAProxy reports it UP and sends it requests). Bounded; the
# cluster and HAProxy stop on any exit.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
: "${BAZAAR_BIN_DIR:?set BAZAAR_BIN_DIR to the bin directory of the build}"
export BAZAAR_BIN_DIR
B="$ROOT/launch/bazaar"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-balancer-test.XXXXXX")"
PIDS=()
fail() { echo "FAIL: $*"; tail -n 5 "$RUN"/haproxy.log 2>/dev/null; exit 1; }
cleanup() {
  touch "$RUN/stop"
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  "$B" down --run-dir "$RUN" >/dev/null 2>&1
  rm -rf "$RUN"
}
trap cleanup EXIT
command -v haproxy >/dev/null || fail "haproxy not installed (launch/bazaar deps)"

. "$ROOT/launch/ports.sh"
BASE="$(pick_base_port)" || fail "no free ports"
HTTP=$((BASE + 30))
URL="http://127.0.0.1:$HTTP"
STATS="http://127.0.0.1:$((BASE + 5))/stats;csv"
out="$("$B" up --run-dir "$RUN" --port "$HTTP" --base-port "$BASE" --frontends 2 --balancer)" ||
  fail "up --balancer failed"
[ "$out" = "$URL" ] || fail "up printed '$out'"
"$B" status --run-dir "$RUN" | grep -q "^frontend-2 .* up .*:$((HTTP + 2))$" || fail "frontend-2 not on HTTP+2"
# server_field NAME COLUMN: a column of HAProxy's CSV stats for frontend NAME (5 scur, 8 stot, 18 status).
server_field() { curl -fsS --max-time 2 "$STATS" 2>/dev/null | awk -F, -v s="$1" -v c="$2" '$1 == "frontends" && $2 == s { print $c }'; }
[ "$(server_field frontend-1 18)" = UP ] && [ "$(server_field frontend-2 18)" = UP ] || fail "front ends not UP in HAProxy"

# Keyed orders, alternately buy and sell one unit, until $RUN/stop.
. "$ROOT/tests/lib/keyed_orders.sh"
keyed_orders balancer-1 "$URL" "$RUN/stop" "$RUN/orders-1.txt" & PIDS+=($!)
keyed_orders balancer-2 "$URL" "$RUN/stop" "$RUN/orders-2.txt" & PIDS+=($!)
"$BAZAAR_BIN_DIR/bazaar-client" --url "$URL" --timeout 5000 load --clients 8 --duration 12 \
  --mix lookup=90,list=10 --json --no-progress >"$RUN/load.json" 2>"$RUN/load.err" & LOAD=$!
sleep 3
"$B" kill --run-dir "$RUN" frontend-1 2>/dev/null || fail "kill frontend-1"
sleep 3
"$B" start --run-dir "$RUN" frontend-1 2>/dev/null || fail "start frontend-1"
deadline=$((SECONDS + 10))
until [ "$(server_field frontend-1 18)" = UP ]; do
  [ $SECONDS -lt $deadline ] || fail "frontend-1 not UP in HAProxy 10 s after start"
  sleep 0.2
done
served="$(server_field frontend-1 8)"
wait "$LOAD" || fail "load failed: $(cat "$RUN/load.err")"
touch "$RUN/stop"
wait "${PIDS[@]}"
PIDS=()
[ "$(server_field frontend-1 8)" -gt "$served" ] || fail "frontend-1 got no requests after its restart"
echo "ok: frontend-1 back in rotation ($served sessions before the rest of the load, $(server_field frontend-1 8) after)"

requests="$(jq '[.requests[].count] | add' "$RUN/load.json")"
errors="$(jq '[.requests[].errors] | add' "$RUN/load.json")"
max_ms="$(jq '[.requests[].max_ms] | max' "$RUN/load.json")"
orders="$(cat "$RUN"/orders-*.txt | wc -l)"
bad="$(cat "$RUN"/orders-*.txt | grep -vc '^200 ')"
echo "load through HAProxy, frontend-1 killed at 3 s, started at 6 s: $requests requests, $errors errors, max latency $max_ms ms; $orders keyed orders, $bad not 200"
[ "$requests" -gt 0 ] && [ "$orders" -gt 0 ] || fail "no load ran"
[ "$errors" -eq 0 ] || fail "$errors lookups failed: $(jq -c '[.requests[].errors_by_cause]' "$RUN/load.json")"
[ "$bad" -eq 0 ] || fail "$bad keyed orders failed: $(sort "$RUN"/orders-*.txt | uniq -c | tr '\n' ' ')"
echo "1 passed, 0 failed"
