#!/usr/bin/env bash
# Order-path benchmarks of the replicated order service (issue 4), printed as figures:
#   1. committed orders/s through one frontend with three replicas at 32 keep-alive clients (wrk)
#   2. fail-over: kill -9 of the leader to the first order committed under the new leader
#   3. catch-up: a replica that missed N orders, from its restart to holding all of them
# Usage: launch/bench/orders.sh [--quick] [--seconds S] [--catchup-seconds S]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
B="$ROOT/launch/bazaar"
BIN="${BAZAAR_BIN_DIR:-$ROOT/build/bin}"
seconds=10 catchup_seconds=30
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) seconds=3 catchup_seconds=5; shift ;;
    --seconds) seconds="$2"; shift 2 ;;
    --catchup-seconds) catchup_seconds="$2"; shift 2 ;;
    *) echo "orders.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "orders.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }

. "$ROOT/launch/ports.sh"
. "$ROOT/launch/bench/disk.sh"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-bench-orders.XXXXXX")"
trap '"$B" down --run-dir "$RUN" >/dev/null 2>&1 || true; rm -rf "$RUN"' EXIT
BASE="$(pick_base_port)"
HTTP=$((BASE + 30))
URL="http://127.0.0.1:$HTTP"
now_ms() { date +%s%3N; }
size_of() { "$BIN/bazaar-client" --timeout 500 status "tcp://127.0.0.1:$((BASE + 10 + 2 * ($1 - 1)))" 2>/dev/null | sed -n 's/.*size=\([0-9]*\).*/\1/p'; }
# Waits until replica $1 holds $2 entries; fails once $3 ms have passed.
wait_for_size() {
  local t0
  t0=$(now_ms)
  while [ "$(size_of "$1")" != "$2" ]; do
    [ $(($(now_ms) - t0)) -gt "$3" ] && return 1
    sleep 0.02
  done
}

"$B" up --run-dir "$RUN" --port "$HTTP" --base-port "$BASE" --catalog stocks >/dev/null
# `up` runs the cluster with CURVE by default: bazaar-client status needs its keys.
if [ -d "$RUN/curve" ]; then export BAZAAR_CURVE_DIR="$RUN/curve"; fi
echo "== disk: one synced 4 KiB overwrite takes $(disk_sync_ms "$RUN") ms (dd oflag=dsync, 200 writes)"
echo "== committed orders/s, 3 replicas, wrk -t2 -c32 -d${seconds}s POST /orders"
wrk -t2 -c32 -d"${seconds}s" -s "$ROOT/launch/bench/orders.lua" "$URL" | grep -E "Requests/sec|^orders:"

echo "== fail-over: kill -9 of the leader to the first order committed under the new leader"
leader="$("$B" status --run-dir "$RUN" | awk '$4 == "leader" {print $1}')"
t0=$(now_ms)
"$B" kill --run-dir "$RUN" leader 2>/dev/null
"$BIN/bazaar-client" --url "$URL" --timeout 5000 buy FishCo 1 >/dev/null
t1=$(now_ms)
new="$("$B" status --run-dir "$RUN" | awk '$4 == "leader" {print $1}')"
echo "killed $leader; $new leads; first order committed after $((t1 - t0)) ms"
"$B" start --run-dir "$RUN" "$leader" >/dev/null 2>&1
# The restarted replica catches up first: otherwise its catch-up (the orders of the first phase)
# shares the cores with the next phase's load and order-1's catch-up, and the figures below
# would measure the two together.
t0=$(now_ms)
wait_for_size "${leader#order-}" "$(size_of "${new#order-}")" 60000 ||
  { echo "orders.sh: $leader did not catch up in 60 s" >&2; exit 1; }
echo "$leader restarted and caught up in $(($(now_ms) - t0)) ms"

echo "== catch-up: order-1 misses ${catchup_seconds}s of orders, then restarts"
"$B" kill --run-dir "$RUN" order-1 2>/dev/null
wrk -t2 -c32 -d"${catchup_seconds}s" -s "$ROOT/launch/bench/orders.lua" "$URL" | grep -E "^orders:"
leader_id="$("$B" status --run-dir "$RUN" | awk '$4 == "leader" {print $1}')"
target="$(size_of "${leader_id#order-}")"
had="$("$BIN/bazaar-order" --dump --db "$RUN/order-1.db" | wc -l)"
t0=$(now_ms)
"$B" start --run-dir "$RUN" order-1 >/dev/null 2>&1
wait_for_size 1 "$target" 120000 || { echo "catch-up did not finish in 120 s" >&2; exit 1; }
t1=$(now_ms)
missed=$((target - had))
echo "order-1 missed $missed orders; caught up in $((t1 - t0)) ms (start included): $((missed * 1000 / (t1 - t0 > 0 ? t1 - t0 : 1))) orders/s"
