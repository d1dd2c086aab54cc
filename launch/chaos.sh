#!/usr/bin/env bash
# launch/chaos.sh (run as `launch/bazaar chaos [options]`): the chaos harness, bazaar-chaos.
# Starts its own stock-flavour cluster in a temporary directory (it never touches run/ or a
# cluster started with `up`): with network faults (the default) every process in a network
# namespace of its own (`launch/bazaar up --netns`, root), else on free loopback ports. On a
# seeded schedule it SIGKILLs and restarts processes, pauses them (SIGSTOP), cuts links
# (partitions, flapping pairs, splits) and slows them, under keyed and one-shot order load,
# then checks G1-G4 and G7 on the quiet system and prints figures and a verdict. docs/CHAOS.md.
#
#   launch/bazaar chaos [--faults kill,partition,pause,delay] [--duration S] [--seed N] [--runs R]
#
# --runs R runs R seeds in a row (N, N+1, ...; a random N when none is given), each with the
# given duration, and stops at the first failing seed. Other flags go to bazaar-chaos as they
# are (--faults, --clients, --frontends, --kinds, --oneshot-clients, --quiet-timeout, --keep;
# see bazaar-chaos --help). Exit status: 0 when every run passed, 1 on a violation, 2 on a
# setup error.
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
      sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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
