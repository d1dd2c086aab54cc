#!/usr/bin/env bash
# launch/chaos.sh (run as `launch/bazaar chaos [options]`): the chaos harness, bazaar-chaos.
# Starts its own stock-flavour cluster on free loopback ports in a temporary directory (it never
# touches run/ or a cluster started with `up`), SIGKILLs and restarts the leader, followers, the
# catalog, the broker and frontends on a seeded schedule under keyed order load, then checks
# G1-G3 on the quiet system and prints figures and a verdict. See docs/CHAOS.md.
#
#   launch/bazaar chaos [--duration S] [--seed N] [--runs R] [bazaar-chaos flags...]
#
# --runs R runs R seeds in a row (N, N+1, ...; a random N when none is given), each with the
# given duration, and stops at the first failing seed. Other flags go to bazaar-chaos as they
# are (--clients, --frontends, --kinds, --quiet-timeout, --keep; see bazaar-chaos --help).
# Exit status: 0 when every run passed, 1 on a violation, 2 on a setup error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BAZAAR_BUILD_DIR:-$ROOT/build}"
BIN_DIR="${BAZAAR_BIN_DIR:-$BUILD_DIR/bin}"

die() { echo "chaos: $*" >&2; exit 2; }
say() { echo "chaos: $*" >&2; }

SEED=""
RUNS=1
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) SEED="${2:?--seed needs a value}"; shift 2 ;;
    --seed=*) SEED="${1#*=}"; shift ;;
    --runs) RUNS="${2:?--runs needs a value}"; shift 2 ;;
    --runs=*) RUNS="${1#*=}"; shift ;;
    -h | --help)
      sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      [ -x "$BIN_DIR/bazaar-chaos" ] && "$BIN_DIR/bazaar-chaos" --help
      exit 0 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
[[ "$RUNS" =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] || die "--runs must be a positive integer"
[ -z "$SEED" ] || [[ "$SEED" =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer"
[ -n "$SEED" ] || SEED=$((RANDOM * 32768 + RANDOM))

if [ ! -x "$BIN_DIR/bazaar-chaos" ]; then
  say "no $BIN_DIR/bazaar-chaos yet: building"
  bash "$ROOT/launch/bazaar" build >&2
fi
[ -x "$BIN_DIR/bazaar-chaos" ] || die "no $BIN_DIR/bazaar-chaos after the build"

start=$(date +%s)
for ((run = 0; run < RUNS; run++)); do
  seed=$((SEED + run))
  [ "$RUNS" -eq 1 ] || say "run $((run + 1)) of $RUNS: seed $seed"
  rc=0
  "$BIN_DIR/bazaar-chaos" --seed "$seed" ${ARGS[@]+"${ARGS[@]}"} || rc=$?
  if [ "$rc" -ne 0 ]; then
    [ "$RUNS" -eq 1 ] || say "seed $seed FAILED after $((run)) passing run(s), $(($(date +%s) - start)) s"
    exit "$rc"
  fi
done
[ "$RUNS" -eq 1 ] || say "all $RUNS seeds passed ($SEED..$((SEED + RUNS - 1))), $(($(date +%s) - start)) s"
