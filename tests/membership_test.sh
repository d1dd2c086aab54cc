#!/usr/bin/env bash
# launch/bazaar add-replica and remove-replica (issue 19): under keyed orders from two clients, a
# three-replica cluster grows to five (each new replica joins as a learner and is promoted once it
# has caught up) and shrinks back to three, the leader removed among them. No client sees an
# error; after each step the leader's configuration is the expected one; at the end every
# replica's dump is the same and holds every order answered. Also: bad requests are refused with
# one line. Bounded; the cluster stops on any exit.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
: "${BAZAAR_BIN_DIR:?set BAZAAR_BIN_DIR to the bin directory of the build}"
export BAZAAR_BIN_DIR
B="$ROOT/launch/bazaar"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-membership-test.XXXXXX")"
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
. "$ROOT/tests/lib/keyed_orders.sh"
BASE="$(pick_base_port)" || fail "no free ports"
HTTP=$((BASE + 30))
URL="http://127.0.0.1:$HTTP"
"$B" up --run-dir "$RUN" --port "$HTTP" --base-port "$BASE" >/dev/null || fail "up failed"
if [ -d "$RUN/curve" ]; then export BAZAAR_CURVE_DIR="$RUN/curve"; fi
client() { "$BAZAAR_BIN_DIR/bazaar-client" --timeout 2000 "$@"; }
order_ep() { echo "tcp://127.0.0.1:$((BASE + 10 + 2 * ($1 - 1)))"; }

# The leader's configuration, as ids with their role: "1v 2v 3v 4l".
members() {
  local k line
  for k in 9 8 7 6 5 4 3 2 1; do
    line="$(client membership "$(order_ep "$k")" 2>/dev/null)" || continue
    client status "$(order_ep "$k")" 2>/dev/null | grep -q 'role=leader ' || continue
    sed 's/.*members=\([^ ]*\).*/\1/' <<<"$line" | tr ',' '\n' | sed 's/^\([0-9]\):\([vl]\):.*/\1\2/' | tr '\n' ' ' | sed 's/ $//'
    return 0
  done
  return 1
}
[ "$(members)" = "1v 2v 3v" ] || fail "a new cluster's configuration is '$(members)'"

# Bad requests: one line on stderr, a non-zero exit, nothing changed.
leader_ep="$(order_ep 3)"
for bad in "membership $leader_ep add 0 tcp://127.0.0.1:1" "membership $leader_ep add 4" \
  "membership $leader_ep frobnicate 4"; do
  # shellcheck disable=SC2086
  if client $bad 2>"$RUN/err.txt"; then fail "'$bad' succeeded"; fi
  [ "$(wc -l <"$RUN/err.txt")" -eq 1 ] || fail "'$bad' said: $(cat "$RUN/err.txt")"
done
if client membership "$leader_ep" add 4 "not-an-endpoint" 2>"$RUN/err.txt"; then fail "a bad endpoint was added"; fi
grep -q "tcp://HOST:PORT" "$RUN/err.txt" || fail "bad endpoint: $(cat "$RUN/err.txt")"
if client membership "$leader_ep" add 4 "$(order_ep 1 | sed 's/:\([0-9]*\)$//'):$((BASE + 11))" 2>"$RUN/err.txt"; then
  fail "replica 1's endpoint was added again"
fi
if client membership "$(order_ep 1)" remove 2 2>"$RUN/err.txt"; then fail "a follower changed the configuration"; fi
grep -q "not leader" "$RUN/err.txt" || fail "a follower said: $(cat "$RUN/err.txt")"
if "$B" remove-replica --run-dir "$RUN" frontend-1 2>"$RUN/err.txt"; then fail "remove-replica frontend-1 succeeded"; fi
[ "$(members)" = "1v 2v 3v" ] || fail "a refused request changed the configuration: '$(members)'"

keyed_orders members-1 "$URL" "$RUN/stop" "$RUN/orders-1.txt" & PIDS+=($!)
keyed_orders members-2 "$URL" "$RUN/stop" "$RUN/orders-2.txt" & PIDS+=($!)
sleep 2
step() {  # step EXPECTED VERB [ARGS]: one change, timed; the leader's configuration after it
  local expected="$1" t0 s0
  shift
  t0=$(date +%s%3N) s0="${EPOCHREALTIME/,/.}"
  "$B" "$@" --run-dir "$RUN" >"$RUN/step.txt" 2>&1 || fail "$*: $(cat "$RUN/step.txt")"
  echo "$s0 ${EPOCHREALTIME/,/.} $*" >>"$RUN/steps.txt"
  echo "$*: $(($(date +%s%3N) - t0)) ms; configuration $(members)"
  [ "$(members)" = "$expected" ] || fail "after $*: configuration '$(members)', not '$expected'"
  sleep 1
}
step "1v 2v 3v 4v" add-replica
step "1v 2v 3v 4v 5v" add-replica
"$B" status --run-dir "$RUN" | grep -q '^order-5 ' || fail "status does not show order-5"
# The highest live id leads (leadership transfer): order-5 soon, and it is removed as leader.
deadline=$((SECONDS + 20))
until "$B" status --run-dir "$RUN" | grep -q '^order-5 .* leader'; do
  [ $SECONDS -lt $deadline ] || fail "order-5 does not lead 20 s after it became a voter: $("$B" status --run-dir "$RUN")"
  sleep 0.2
done
# The front end was started with three replicas; it learns order-5 from its announcement and
# sends orders to it directly (its /health names it).
deadline=$((SECONDS + 10))
until curl -s --max-time 2 "$URL/health" | grep -q '"leader":{"id":5,'; do
  [ $SECONDS -lt $deadline ] || fail "the front end does not name order-5 as leader 10 s after it leads: $(curl -s --max-time 2 "$URL/health")"
  sleep 0.2
done
echo "the front end names order-5 as leader: $(curl -s --max-time 2 "$URL/health")"
step "1v 2v 3v 4v" remove-replica leader
step "1v 2v 3v" remove-replica order-4
touch "$RUN/stop"
wait "${PIDS[@]}"
PIDS=()
echo -n "keyed orders during 3 -> 5 -> 3: "; keyed_summary "$RUN"/orders-*.txt
while read -r s0 s1 what; do
  echo "  answered during $what: $(keyed_window "$s0" "$s1" "$RUN"/orders-*.txt)"
done <"$RUN/steps.txt"
[ "$KEYED_TOTAL" -gt 0 ] || fail "no orders ran"
[ "$KEYED_BAD" -eq 0 ] || fail "$KEYED_BAD keyed orders failed: $(cut -d' ' -f1 "$RUN"/orders-*.txt | sort | uniq -c | tr '\n' ' ')"
[ ! -f "$RUN/order-4.db" ] && [ ! -f "$RUN/order-5.db" ] || fail "a removed replica's database is left"
"$B" status --run-dir "$RUN" | grep -q '^order-[45] ' && fail "status still shows a removed replica"

deadline=$((SECONDS + 30))
while :; do
  for k in 1 2 3; do "$B" dump --run-dir "$RUN" "order-$k" >"$RUN/dump-$k.txt" 2>/dev/null; done
  cmp -s "$RUN/dump-1.txt" "$RUN/dump-2.txt" && cmp -s "$RUN/dump-1.txt" "$RUN/dump-3.txt" && break
  [ $SECONDS -lt $deadline ] || fail "dumps differ 30 s after the load: $(wc -l "$RUN"/dump-*.txt | tr '\n' ' ')"
  sleep 0.5
done
[ "$(wc -l <"$RUN/dump-1.txt")" -ge "$KEYED_TOTAL" ] || fail "the dump holds $(wc -l <"$RUN/dump-1.txt") orders, fewer than the $KEYED_TOTAL answered"
echo "ok: every replica's dump holds the same $(wc -l <"$RUN/dump-1.txt") orders"
echo "1 passed, 0 failed"
