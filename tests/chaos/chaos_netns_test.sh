#!/usr/bin/env bash
# ctest chaos_netns: bazaar-chaos with every fault class on a cluster in network namespaces.
#   chaos_netns_test.sh BAZAAR_CHAOS [bazaar-chaos flags...]
# Exits 77 (skipped) with one line when not root or when namespaces cannot be made. The run
# directory is ours: whatever happens to bazaar-chaos (a crash, a timeout's SIGKILL of it), the
# trap takes the cluster down, which deletes its namespaces (and every iptables rule in them),
# veths and bridge, and stops any delayer left.
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CHAOS="${1:?usage: chaos_netns_test.sh BAZAAR_CHAOS [flags]}"
shift
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the network nemesis needs root (namespaces, iptables)"; exit 77; }
command -v ip >/dev/null 2>&1 && command -v iptables >/dev/null 2>&1 ||
  { echo "SKIP: needs ip and iptables (launch/bazaar deps)"; exit 77; }
ip netns add "bzprobe-$$" 2>/dev/null || { echo "SKIP: cannot create network namespaces here"; exit 77; }
ip netns del "bzprobe-$$"

RUN="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-chaos-netns.XXXXXX")"
CHILD=""
cleanup() {
  [ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null && wait "$CHILD" 2>/dev/null
  BAZAAR_BIN_DIR="$(dirname "$CHAOS")" bash "$ROOT/launch/bazaar" down --run-dir "$RUN" >/dev/null 2>&1
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
"$CHAOS" --run-dir "$RUN" "$@" &
CHILD=$!
wait "$CHILD"
rc=$?
CHILD=""
exit $rc
