#!/usr/bin/env bash
# launch/bazaar monitor against a real cluster (issue 18, item 2): Debian's Prometheus scrapes
# every process named in RUN_DIR/prometheus.yml; asked through its HTTP API, every target is up,
# exactly one replica is the leader, and its term is a single series that changes after
# `launch/bazaar kill leader`. Every wait is bounded; the cluster and Prometheus stop on any exit.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
: "${BAZAAR_BIN_DIR:?set BAZAAR_BIN_DIR to the bin directory of the build}"
export BAZAAR_BIN_DIR
B="$ROOT/launch/bazaar"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-monitor-test.XXXXXX")"
fail() { echo "FAIL: $*"; tail -n 5 "$RUN"/prometheus.log 2>/dev/null; exit 1; }
cleanup() { "$B" down --run-dir "$RUN" >/dev/null 2>&1; rm -rf "$RUN"; }
trap cleanup EXIT
command -v prometheus >/dev/null || fail "prometheus not installed (launch/bazaar deps)"
command -v jq >/dev/null || fail "jq not installed (launch/bazaar deps)"

. "$ROOT/launch/ports.sh"
BASE="$(pick_base_port)" || fail "no free ports"
HTTP=$((BASE + 30))
"$B" up --run-dir "$RUN" --port "$HTTP" --base-port "$BASE" >/dev/null || fail "up failed"
[ "$(grep -c "targets:" "$RUN/prometheus.yml")" -eq 6 ] || fail "prometheus.yml does not name 6 targets"
PROM="$("$B" monitor --run-dir "$RUN")" || fail "monitor failed"
[ "$PROM" = "http://127.0.0.1:$((BASE + 4))" ] || fail "monitor printed '$PROM'"

# query PROMQL: the result vector as lines "service value" (sorted).
query() {
  curl -fsS --max-time 2 --get "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    jq -r '.data.result[] | "\(.metric.service) \(.value[1])"' 2>/dev/null | sort
}
# wait_for SECONDS DESCRIPTION CMD...: until CMD succeeds, or fail.
wait_for() {
  local deadline=$((SECONDS + $1)) what="$2"
  shift 2
  until "$@"; do [ $SECONDS -lt $deadline ] || fail "$what"; sleep 0.5; done
}

all_up() {
  local r
  r="$(query up)"
  [ "$(grep -c ' 1$' <<<"$r")" -eq 6 ] && [ "$(wc -l <<<"$r")" -eq 6 ]
}
wait_for 30 "not every target up == 1: $(query up | tr '\n' ',')" all_up
echo "ok: 6 targets up"

# The leader's term: one series, from the one replica that says it leads.
LEADER_TERM='bazaar_order_term and on(instance) (bazaar_order_role{role="leader"} == 1)'
one_leader() {
  local r
  r="$(query "$LEADER_TERM")"
  [ "$(wc -l <<<"$r")" -eq 1 ] && [ -n "$r" ] && LEADER="$r"
}
wait_for 20 "no single leader term series: '$(query "$LEADER_TERM")'" one_leader
read -r name1 term1 <<<"$LEADER"
echo "ok: leader $name1, term $term1"

"$B" kill --run-dir "$RUN" leader >/dev/null 2>&1 || fail "kill leader"
new_leader() {
  one_leader || return 1
  local name term
  read -r name term <<<"$LEADER"
  [ "$name" != "$name1" ] && [ "$term" -gt "$term1" ]
}
wait_for 30 "the leader's term did not change after kill leader: '$(query "$LEADER_TERM")'" new_leader
read -r name2 term2 <<<"$LEADER"
echo "ok: after kill leader: leader $name2, term $term2"
killed_down() { [ "$(query "up{service=\"$name1\"}")" = "$name1 0" ]; }
wait_for 10 "up of the killed $name1 is not 0" killed_down
echo "ok: $name1 up == 0"
echo "1 passed, 0 failed"
