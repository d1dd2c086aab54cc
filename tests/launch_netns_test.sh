#!/usr/bin/env bash
# End-to-end test of `launch/bazaar up --netns`: every process in a namespace of its own, CURVE
# on, internal sockets bound to each process's own address; status, trades, kill, start, dump,
# down; and an `up` that fails half way leaves no namespace, veth or bridge behind.
# Needs root and network namespaces: exits 77 (ctest: skipped) with one line when it has neither.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
: "${BAZAAR_BIN_DIR:?set BAZAAR_BIN_DIR to the bin directory of the build}"
export BAZAAR_BIN_DIR
B="$ROOT/launch/bazaar"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: up --netns needs root"; exit 77; }
command -v ip >/dev/null 2>&1 || { echo "SKIP: no ip (iproute2)"; exit 77; }
ip netns add "bzprobe-$$" 2>/dev/null || { echo "SKIP: cannot create network namespaces here"; exit 77; }
ip netns del "bzprobe-$$"

RUN="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-netns-test.XXXXXX")"
BAD="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-netns-bad.XXXXXX")"
IDS=()  # every netns id this test's clusters claimed, for the clean-up check
fail() { echo "FAIL: $*"; "$B" status --run-dir "$RUN" || true; tail -n 20 "$RUN"/*.log; exit 1; }
cleanup() {
  "$B" down --run-dir "$RUN" >/dev/null 2>&1
  "$B" down --run-dir "$BAD" >/dev/null 2>&1
  # Belt and braces: whatever a failed step left of our ids goes too.
  local id ns
  for id in "${IDS[@]+"${IDS[@]}"}"; do
    for ns in $(ip netns list | awk '{print $1}' | grep "^bz$id-"); do ip netns del "$ns"; done
    ip link del "bz$id-br" 2>/dev/null
  done
  rm -rf "$RUN" "$BAD"
}
trap cleanup EXIT
id_of() { sed -n 's/^NETNS_ID=//p' "$1/netns.env"; }
gone() {  # no namespace, veth or bridge of id $1 left
  ! ip netns list | grep -q "^bz$1-" && ! ip link show "bz$1-br" >/dev/null 2>&1 &&
    ! ip -o link show | grep -q " bz$1h[0-9]*@"
}

. "$ROOT/launch/ports.sh"
BASE="$(pick_base_port)" || fail "no free ports"
HTTP=$((BASE + 30))

"$B" up --netns --no-curve --run-dir "$RUN" --port "$HTTP" --base-port "$BASE" 2>/dev/null &&
  fail "up --netns --no-curve succeeded (services refuse non-loopback binds without CURVE)"

urls="$("$B" up --netns --run-dir "$RUN" --port "$HTTP" --base-port "$BASE" --catalog stocks --frontends 2)" ||
  fail "up --netns failed"
ID="$(id_of "$RUN")"
IDS+=("$ID")
echo "netns id $ID, front ends: $urls"
F1="http://10.77.$ID.101:$HTTP"
[ "$(head -n1 <<<"$urls")" = "$F1" ] || fail "up printed '$urls', wanted $F1 first"
[ "$(wc -l <"$RUN/netns.txt")" -eq 7 ] || fail "netns.txt does not list 7 processes"
grep -q "^order-2 bz$ID-order-2 10.77.$ID.12 " "$RUN/netns.txt" || fail "netns.txt: order-2's line"

status="$("$B" status --run-dir "$RUN")" || fail "status failed"
echo "$status"
[ "$(grep -c ' up ' <<<"$status")" -eq 7 ] || fail "status does not show 7 processes up"
grep -q "^order-3 .* up .*leader term=.*host=10.77.$ID.13" <<<"$status" || fail "status: order-3 leader at its address"

# Each service listens on its own address only, in its own namespace, and nothing of the
# cluster listens in the root namespace.
ip netns exec "bz$ID-catalog" ss -Hltn | grep -q "10.77.$ID.3:$((BASE + 3)) " || fail "catalog not bound to 10.77.$ID.3"
ip netns exec "bz$ID-order-1" ss -Hltn | grep -q "10.77.$ID.11:$((BASE + 11)) " || fail "order-1 replication not on its address"
ss -Hltn | grep -q ":$((BASE + 3)) " && fail "catalog port open in the root namespace"
# Traffic between processes crosses the bridge: the front end's connections go to other hosts.
ip netns exec "bz$ID-frontend-1" ss -Hnt | grep -q "10.77.$ID.101:[0-9]* *10.77.$ID.3:$((BASE + 3))" ||
  fail "frontend-1 has no connection to the catalog's address"

client() { "$BAZAAR_BIN_DIR/bazaar-client" --url "$F1" "$@"; }
client buy GameStart 5 | grep -q '"order_number":0' || fail "buy"
"$BAZAAR_BIN_DIR/bazaar-client" --url "http://10.77.$ID.102:$((HTTP + 1))" order 0 | grep -q '"GameStart"' ||
  fail "order 0 through frontend-2"

# CURVE is on across the bridge: without the keys a status request gets no answer.
(unset BAZAAR_CURVE_DIR; "$BAZAAR_BIN_DIR/bazaar-client" --timeout 500 status "tcp://10.77.$ID.3:$((BASE + 3))") >/dev/null 2>&1 &&
  fail "the catalog answered a client without the cluster's keys"

"$B" kill leader --run-dir "$RUN" || fail "kill leader"
client sell FishCo 2 | grep -q '"order_number":1' || fail "sell after the leader was killed"
"$B" start order-3 --run-dir "$RUN" || fail "start order-3"
for _ in $(seq 50); do
  [ "$("$B" dump order-3 --run-dir "$RUN")" = "$(printf '0 GameStart buy 5\n1 FishCo sell 2')" ] && break
  sleep 0.1
done
[ "$("$B" dump order-3 --run-dir "$RUN")" = "$(printf '0 GameStart buy 5\n1 FishCo sell 2')" ] || fail "order-3 did not catch up"
"$B" dump catalog --run-dir "$RUN" | grep -q '^GameStart 15.99 95$' || fail "dump catalog"

"$B" down --run-dir "$RUN" || fail "down"
gone "$ID" || fail "down left namespaces, veths or the bridge of id $ID"
[ ! -f "$RUN/netns.env" ] || fail "down left netns.env"

# An up that fails half way (the front end binary exits at once) removes everything it made.
for f in "$BAZAAR_BIN_DIR"/bazaar-*; do ln -s "$f" "$BAD/$(basename "$f")"; done
rm "$BAD/bazaar-frontend"
printf '#!/bin/sh\necho "bazaar-frontend: error: planted failure" >&2\nexit 1\n' >"$BAD/bazaar-frontend"
chmod +x "$BAD/bazaar-frontend"
BASE2="$(pick_base_port)" || fail "no free ports"
out="$(BAZAAR_BIN_DIR="$BAD" "$B" up --netns --run-dir "$BAD/run" --port $((BASE2 + 30)) --base-port "$BASE2" 2>&1)" &&
  fail "up with a failing front end succeeded"
grep -q "planted failure" <<<"$out" || fail "up did not show the front end's log: $out"
BAD_ID="$(sed -n 's/.*bridge bz\([0-9]*\)-br.*/\1/p' <<<"$out")"
[ -n "$BAD_ID" ] || fail "no netns id in: $out"
IDS+=("$BAD_ID")
gone "$BAD_ID" || fail "a failed up left namespaces, veths or the bridge of id $BAD_ID"
pgrep -f "$BAD/run/" >/dev/null && fail "a failed up left processes running"
echo "PASS"
