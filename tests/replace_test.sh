#!/usr/bin/env bash
# launch/bazaar replace (issue 19): a replica whose disk is lost is started again with an empty
# database as a joining replica (--join). Under keyed orders from two clients, a follower and
# then the leader are replaced; no client sees an error, each replaced replica catches up and
# votes again, and at the end every replica's dump is the same. Also: replace refuses what is
# not an order replica, and a follower whose database was deleted refuses a plain start.
# Bounded; the cluster stops on any exit.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
: "${BAZAAR_BIN_DIR:?set BAZAAR_BIN_DIR to the bin directory of the build}"
export BAZAAR_BIN_DIR
B="$ROOT/launch/bazaar"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-replace-test.XXXXXX")"
PIDS=()
fail() { echo "FAIL: $*"; exit 1; }
cleanup() {
  touch "$RUN/stop"
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  "$B" down --run-dir "$RUN" >/dev/null 2>&1
  rm -rf "$RUN"
}
trap cleanup EXIT

. "$ROOT/launch/ports.sh"
BASE="$(pick_base_port)" || fail "no free ports"
HTTP=$((BASE + 30))
URL="http://127.0.0.1:$HTTP"
"$B" up --run-dir "$RUN" --port "$HTTP" --base-port "$BASE" >/dev/null || fail "up failed"
if [ -d "$RUN/curve" ]; then export BAZAAR_CURVE_DIR="$RUN/curve"; fi

if "$B" replace --run-dir "$RUN" frontend-1 2>"$RUN/refused.txt"; then fail "replace frontend-1 succeeded"; fi
grep -q "only order replicas" "$RUN/refused.txt" || fail "replace frontend-1 said: $(cat "$RUN/refused.txt")"

. "$ROOT/tests/lib/keyed_orders.sh"
keyed_orders replace-1 "$URL" "$RUN/stop" "$RUN/orders-1.txt" & PIDS+=($!)
keyed_orders replace-2 "$URL" "$RUN/stop" "$RUN/orders-2.txt" & PIDS+=($!)
sleep 2
leader="$("$B" status --run-dir "$RUN" | awk '$4 == "leader" {print $1}')"
[ -n "$leader" ] || fail "no leader"
follower=order-1; [ "$leader" = order-1 ] && follower=order-2
# A lost disk, started again without --join: it refuses with one line that says how to join.
"$B" kill --run-dir "$RUN" "$follower" >/dev/null 2>&1 || fail "kill $follower"
rm -f "$RUN/$follower.db" "$RUN/$follower.db-wal" "$RUN/$follower.db-shm"
if "$B" start --run-dir "$RUN" "$follower" >"$RUN/start.txt" 2>&1; then fail "an empty $follower started without --join"; fi
grep -q "is empty, but replica .* start it with --join" "$RUN/start.txt" || fail "start of an empty $follower said: $(cat "$RUN/start.txt")"
echo "refused: $(grep -o 'is empty, but replica [0-9]* has had Raft messages' "$RUN/start.txt")"
for target in "$follower" leader; do
  t0=$(date +%s%3N)
  "$B" replace --run-dir "$RUN" "$target" >"$RUN/replace.txt" 2>&1 || fail "replace $target: $(cat "$RUN/replace.txt")"
  echo "replace $target: $(tail -n 1 "$RUN/replace.txt" | sed 's/^bazaar: //') in $(($(date +%s%3N) - t0)) ms"
  sleep 2
done
touch "$RUN/stop"
wait "${PIDS[@]}"
PIDS=()
echo -n "keyed orders during both replacements: "; keyed_summary "$RUN"/orders-*.txt
orders=$KEYED_TOTAL bad=$KEYED_BAD
[ "$orders" -gt 0 ] || fail "no orders ran"
[ "$bad" -eq 0 ] || fail "$bad keyed orders failed: $(sort "$RUN"/orders-*.txt | uniq -c | tr '\n' ' ')"

# Every replica ends with the same committed orders (the followers may need a heartbeat or two).
deadline=$((SECONDS + 30))
while :; do
  for k in 1 2 3; do "$B" dump --run-dir "$RUN" "order-$k" >"$RUN/dump-$k.txt" 2>/dev/null; done
  cmp -s "$RUN/dump-1.txt" "$RUN/dump-2.txt" && cmp -s "$RUN/dump-1.txt" "$RUN/dump-3.txt" && break
  [ $SECONDS -lt $deadline ] || fail "dumps differ 30 s after the load: $(wc -l "$RUN"/dump-*.txt | tr '\n' ' ')"
  sleep 0.5
done
[ "$(wc -l <"$RUN/dump-1.txt")" -ge "$orders" ] || fail "the dump holds $(wc -l <"$RUN/dump-1.txt") orders, fewer than the $orders answered"
"$B" status --run-dir "$RUN" | grep -q joining && fail "a replica still joining: $("$B" status --run-dir "$RUN")"
echo "ok: every replica's dump holds the same $(wc -l <"$RUN/dump-1.txt") orders"
echo "1 passed, 0 failed"
