#!/usr/bin/env bash
# launch/bazaar's process handling (issue 18, item 5), against real processes:
#   1. `kill` returns only once the process is gone: a stand-in that holds a port and 2 GB takes
#      tens of milliseconds to die after its command line has already gone empty.
#   2. `up` survives a slow exec: the front ends take 2 s from fork to exec (a `setsid` in PATH
#      that sleeps first, with its command line hidden as a loaded machine's fork would be).
#   2b. `bazaar-client status` against a keyed cluster without its keys says so and how to pass them.
#   3. `up`'s clean-up stops every process it started: frontend-1 fails at once while frontend-2
#      is still before its exec; nothing of the run may live on afterwards.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
: "${BAZAAR_BIN_DIR:?set BAZAAR_BIN_DIR to the bin directory of the build}"
B="$ROOT/launch/bazaar"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-process-test.XXXXXX")"
STANDIN=""
fail() {
  echo "FAIL: $*"
  tail -n 5 "$TMP"/run*/*.log 2>/dev/null
  exit 1
}
cleanup() {
  [ -n "$STANDIN" ] && kill -KILL "$STANDIN" 2>/dev/null
  for d in "$TMP"/run*; do [ -d "$d" ] && BAZAAR_BIN_DIR="$BAZAAR_BIN_DIR" "$B" down --run-dir "$d" >/dev/null 2>&1; done
  rm -rf "$TMP"
}
trap cleanup EXIT

. "$ROOT/launch/ports.sh"
BASE="$(pick_base_port)" || fail "no free ports"
HTTP=$((BASE + 30))
held() { ss -ltnH "sport = :$1" | grep -q .; }

# ---- 1. kill waits for the end of the process -----------------------------------------------
mkdir -p "$TMP/bin1" "$TMP/run1"
cat >"$TMP/bin1/bazaar-order" <<'EOF'
#!/usr/bin/perl
# A replica stand-in: listens on its port and holds 2 GB, so the kernel needs a while to free it.
use IO::Socket::INET;
my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], Listen => 5,
                              ReuseAddr => 1) or die "listen: $!";
my $x = "x" x (2000 * 1024 * 1024);
open(my $f, ">", $ARGV[1]); close($f);
sleep 600;
EOF
chmod +x "$TMP/bin1/bazaar-order"
cat >"$TMP/run1/cluster.env" <<EOF
HTTP_PORT=$HTTP
BASE_PORT=$BASE
REPLICAS=1
FRONTENDS=1
CATALOG='toys'
CACHE_ARGS=''
CURVE_DIR=''
EOF
PORT1=$((BASE + 10))
for round in 1 2 3; do
  rm -f "$TMP/ready"
  "$TMP/bin1/bazaar-order" "$PORT1" "$TMP/ready" &
  STANDIN=$!
  for _ in $(seq 300); do [ -f "$TMP/ready" ] && break; sleep 0.05; done
  [ -f "$TMP/ready" ] || fail "the stand-in did not start"
  echo "$STANDIN" >"$TMP/run1/order-1.pid"
  BAZAAR_BIN_DIR="$TMP/bin1" "$B" kill --run-dir "$TMP/run1" order-1 || fail "kill order-1"
  held "$PORT1" && fail "round $round: kill returned while order-1 still held port $PORT1"
  wait "$STANDIN" 2>/dev/null
  STANDIN=""
done
echo "ok: kill returns once the process is gone (3 rounds)"

# ---- 2. a slow exec is not a dead process ---------------------------------------------------
# `setsid` found first in PATH: hides its command line (no "bazaar-" in it, like the forked shell
# before its exec), waits, then runs the real one. Front ends: 2 s (start_process used to wait 1 s);
# with FAIL_FIRST set, frontend-1 fails at once and frontend-2 waits 3 s.
mkdir -p "$TMP/path"
cat >"$TMP/path/setsid" <<'EOF'
#!/usr/bin/perl
my @args = @ARGV;
$0 = "slow-exec";
if (grep { /bazaar-frontend$/ } @args) {
  my ($port) = map { $args[$_ + 1] } grep { $args[$_] eq "--port" } 0 .. $#args;
  if ($ENV{FAIL_FIRST}) {
    exit 1 if $port == $ENV{FAIL_FIRST};
    sleep 3;
  } else {
    sleep 2;
  }
}
exec "/usr/bin/setsid", @args or die "exec: $!";
EOF
chmod +x "$TMP/path/setsid"
export BAZAAR_BIN_DIR
PATH="$TMP/path:$PATH" "$B" up --run-dir "$TMP/run2" --port "$HTTP" --base-port "$BASE" \
  --frontends 2 >/dev/null || fail "up with a 2 s exec failed"
"$B" status --run-dir "$TMP/run2" | grep -q '^frontend-2 .* up ' || fail "frontend-2 not up"
echo "ok: up waits for a slow exec"

# ---- 2b. status against the keyed cluster without its keys says so ---------------------------
status_err() { "$BAZAAR_BIN_DIR/bazaar-client" --timeout 300 status "tcp://127.0.0.1:$((BASE + 3))" 2>&1 >/dev/null; }
out="$(unset BAZAAR_CURVE_DIR; status_err)"
grep -q 'keyed (CURVE) and this client has no keys: set BAZAAR_CURVE_DIR to its key directory' <<<"$out" ||
  fail "status without keys: '$out'"
"$BAZAAR_BIN_DIR/bazaar-keygen" "$TMP/other-keys" >/dev/null || fail "keygen"
out="$(BAZAAR_CURVE_DIR="$TMP/other-keys" status_err)"
grep -q "handshake failed: the service runs without CURVE or with other keys" <<<"$out" || fail "status with other keys: '$out'"
BAZAAR_CURVE_DIR="$TMP/run2/curve" "$BAZAAR_BIN_DIR/bazaar-client" status "tcp://127.0.0.1:$((BASE + 3))" |
  grep -q '^service=catalog' || fail "status with the cluster's keys"
"$B" down --run-dir "$TMP/run2" >/dev/null || fail "down"
echo "ok: status names the missing or wrong keys"

# ---- 3. up's clean-up stops what it started, alive or not yet exec'd ------------------------
FAIL_FIRST=$HTTP PATH="$TMP/path:$PATH" "$B" up --run-dir "$TMP/run3" --port "$HTTP" \
  --base-port "$BASE" --frontends 2 --no-curve >/dev/null 2>&1 && fail "up succeeded with a failing frontend-1"
sleep 4  # past frontend-2's exec, had it survived
held $((HTTP + 1)) && fail "frontend-2 lives on after up's clean-up (port $((HTTP + 1)))"
for p in $(seq "$BASE" $((BASE + 31))); do held "$p" && fail "port $p still held after up's clean-up"; done
echo "ok: up's clean-up stops every process it started"
echo "4 passed, 0 failed"
