#!/usr/bin/env bash
# The cost of a long order history (issue 15), printed as figures; it asserts nothing (the goals
# are in docs/PERFORMANCE.md, section "History"). On a stocks cluster of its own (a temporary run
# directory, free ports below the ephemeral range):
#   1. a follower's restart on a near-empty log (the yardstick for 5)
#   2. a second follower is killed and stays down for the whole load (for 6)
#   3. resident memory of every process before the load
#   4. S seconds of sell orders, wrk -t2 -c64; then every process's memory and each database's size
#   5. the first follower killed and restarted: time to answer, time to follow the leader with
#      every order, its memory after
#   6. the follower that was down for the load restarts: catch-up rate, its memory after
# Usage: launch/bench/history.sh [--seconds S] [--connections N] [--quick]
#        (launch/bazaar bench history [options]); --quick: S=10.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
B="$ROOT/launch/bazaar"
BIN="${BAZAAR_BIN_DIR:-$ROOT/build/bin}"
seconds=60 connections=64
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) seconds=10; shift ;;
    --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    --connections) connections="${2:?--connections needs a value}"; shift 2 ;;
    -h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "history.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for v in seconds connections; do
  [[ "${!v}" =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || { echo "history.sh: --$v must be a positive integer" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "history.sh: wrk is missing (launch/bazaar deps)" >&2; exit 1; }
for b in bazaar-broker bazaar-catalog bazaar-order bazaar-frontend bazaar-client; do
  [ -x "$BIN/$b" ] || { echo "history.sh: $BIN/$b not found: run launch/bazaar build first" >&2; exit 1; }
done
export BAZAAR_BIN_DIR="$BIN"

. "$ROOT/launch/ports.sh"
. "$ROOT/launch/bench/disk.sh"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-bench-history.XXXXXX")"
trap '"$B" down --run-dir "$RUN" >/dev/null 2>&1 || true; rm -rf "$RUN"' EXIT
trap 'exit 130' INT TERM
BASE="$(pick_base_port)" || { echo "history.sh: no free port range" >&2; exit 1; }
HTTP=$((BASE + 30))
URL="http://127.0.0.1:$HTTP"

now_ms() { date +%s%3N; }
# status_of K: the StatusRequest answer of order-K ("service=order id=K role=... size=N"), or "".
status_of() { "$BIN/bazaar-client" --timeout 500 status "tcp://127.0.0.1:$((BASE + 10 + 2 * ($1 - 1)))" 2>/dev/null || true; }
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
size_of() { field size "$(status_of "$1")"; }
rss_kb() {  # rss_kb NAME: resident memory of process NAME of the run, in kB ("-" when down)
  local pid
  pid="$(cat "$RUN/$1.pid" 2>/dev/null || true)"
  [ -n "$pid" ] && awk '/^VmRSS:/ { print $2; found = 1 } END { if (!found) print "-" }' "/proc/$pid/status" 2>/dev/null || echo "-"
}
mib() { [ "$1" = "-" ] && echo "-" || awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
db_bytes() {  # the database and its write-ahead log
  local n=0 f
  for f in "$1" "$1-wal"; do [ -f "$f" ] && n=$((n + $(stat -c %s "$f"))); done
  echo "$n"
}
leader_id() {
  local k
  for k in 3 2 1; do [ "$(field role "$(status_of $k)")" = leader ] && { echo "$k"; return 0; }; done
  return 1
}
# restart K TARGET: starts order-K again (after a kill) and waits until it follows a leader and
# holds TARGET committed orders. Prints "<ms to answer> <ms to follow with every order>".
restart() {
  local k="$1" target="$2" t0 t1 t2 st
  t0=$(now_ms)
  "$B" start --run-dir "$RUN" "order-$k" >/dev/null 2>&1
  t1=$(now_ms)
  while :; do
    st="$(status_of "$k")"
    if [ "$(field role "$st")" = follower ] && [ "$(field leader "$st")" -ge 1 ] 2>/dev/null &&
      [ "$(field size "$st")" = "$target" ]; then break; fi
    [ $(($(now_ms) - t0)) -gt 300000 ] && { echo "history.sh: order-$k not caught up after 300 s" >&2; exit 1; }
    sleep 0.01
  done
  t2=$(now_ms)
  echo "$((t1 - t0)) $((t2 - t0))"
}

"$B" up --run-dir "$RUN" --port "$HTTP" --base-port "$BASE" --catalog stocks >/dev/null
# `up` runs the cluster with CURVE by default: bazaar-client status needs its keys.
if [ -d "$RUN/curve" ]; then export BAZAAR_CURVE_DIR="$RUN/curve"; fi
L="$(leader_id)" || { echo "history.sh: no leader" >&2; exit 1; }
FOLLOWERS=()
for k in 1 2 3; do [ "$k" != "$L" ] && FOLLOWERS+=("$k"); done
DOWN="${FOLLOWERS[0]}"  # down for the whole load
F="${FOLLOWERS[1]}"     # restarted after the load
echo "== history: stocks cluster on ports $BASE.., leader order-$L; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "== disk: one synced 4 KiB overwrite takes $(disk_sync_ms "$RUN") ms (dd oflag=dsync, 200 writes)"

"$BIN/bazaar-client" --url "$URL" --timeout 5000 sell FishCo 1 >/dev/null
target="$(size_of "$L")"
"$B" kill --run-dir "$RUN" "order-$F" >/dev/null 2>&1
read -r empty_answer empty_follow <<<"$(restart "$F" "$target")"
echo "order-$F restart on a log of $target orders: answers after $empty_answer ms, follows with every order after $empty_follow ms"

declare -A BEFORE
for name in order-1 order-2 order-3 catalog frontend-1; do BEFORE[$name]="$(rss_kb "$name")"; done
had="$(size_of "$DOWN")"
"$B" kill --run-dir "$RUN" "order-$DOWN" >/dev/null 2>&1
echo "order-$DOWN is down for the whole load (it holds $had orders)"

echo "== load: wrk -t2 -c$connections -d${seconds}s POST /orders (sells)"
out="$(wrk -t2 -c"$connections" -d"${seconds}s" -s "$ROOT/launch/bench/sell.lua" "$URL")"
grep -E "Requests/sec|^orders:" <<<"$out"
sleep 1  # the last commits reach the follower
target="$(size_of "$L")"
echo "committed orders: $target"

echo "== resident memory before and after the load; database size (with its WAL)"
printf '%-11s %12s %12s %10s %14s\n' process before after "per order" database
for name in order-1 order-2 order-3 catalog frontend-1; do
  after="$(rss_kb "$name")" db="-" per="-"
  case "$name" in
    order-*) db="$(db_bytes "$RUN/$name.db")" ;;
    catalog) db="$(db_bytes "$RUN/catalog.db")" ;;
  esac
  if [ "$after" != "-" ] && [ "${BEFORE[$name]}" != "-" ] && [ "$target" -gt 0 ]; then
    per="$(awk -v a="$after" -v b="${BEFORE[$name]}" -v n="$target" 'BEGIN { printf "%d B", (a - b) * 1024 / n }')"
  fi
  [ "$db" != "-" ] && db="$(awk -v b="$db" 'BEGIN { printf "%.1f MiB", b / 1048576 }')"
  printf '%-11s %12s %12s %10s %14s\n' "$name" "$(mib "${BEFORE[$name]}")" "$(mib "$after")" "$per" "$db"
done

echo "== restart of follower order-$F after $target orders"
"$B" kill --run-dir "$RUN" "order-$F" >/dev/null 2>&1
read -r answer follow <<<"$(restart "$F" "$target")"
echo "answers after $answer ms (empty log: $empty_answer ms), follows with every order after $follow ms (empty log: $empty_follow ms)"
echo "order-$F resident memory after the restart: $(mib "$(rss_kb "order-$F")")"

echo "== catch-up: order-$DOWN was down for the whole load"
read -r _ caught <<<"$(restart "$DOWN" "$target")"
missed=$((target - had))
echo "order-$DOWN missed $missed orders; holds them all $caught ms after its start: $((missed * 1000 / (caught > 0 ? caught : 1))) orders/s"
echo "order-$DOWN resident memory after catching up: $(mib "$(rss_kb "order-$DOWN")")"
echo "catalog $(mib "$(rss_kb catalog)"), frontend-1 $(mib "$(rss_kb frontend-1)") at the end"
