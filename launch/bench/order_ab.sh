#!/usr/bin/env bash
# A/B of the order path between two built trees: runs each tree's own launch/bench/order_cpu.sh in
# turn (A B A B ...) for N rounds and prints every run, then the median of each figure and of the
# pairwise ratio A/B. Why alternating and paired: this host's speed drifts by tens of percent
# within minutes (CPU stolen by the hypervisor), far more than the differences worth finding, so a
# run of A is only compared with the run of B next to it (docs/PERFORMANCE.md, "Measuring on a
# shared host").
# Usage: launch/bench/order_ab.sh [--rounds N] [--seconds S] TREE_A TREE_B
#   TREE_A, TREE_B: checkouts built with `launch/bazaar build` (or cmake), each run with its own
#   scripts and binaries.
set -euo pipefail
# Each tree runs the binaries of its own build/: a BAZAAR_BIN_DIR or BAZAAR_BUILD_DIR from
# outside would give both trees the same ones.
unset BAZAAR_BIN_DIR BAZAAR_BUILD_DIR
rounds=6 seconds=15
trees=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="${2:-}"; shift $(($# >= 2 ? 2 : 1)) ;;
    --seconds) seconds="${2:-}"; shift $(($# >= 2 ? 2 : 1)) ;;
    -*) echo "order_ab.sh: unknown option '$1'" >&2; exit 2 ;;
    *) trees+=("$1"); shift ;;
  esac
done
for v in "$rounds" "$seconds"; do
  case "$v" in '' | *[!0-9]* | 0) echo "order_ab.sh: --rounds and --seconds take a positive integer" >&2; exit 2 ;; esac
done
[ "${#trees[@]}" -eq 2 ] || { echo "order_ab.sh: give two trees (TREE_A TREE_B)" >&2; exit 2; }
for t in "${trees[@]}"; do
  [ -x "$t/launch/bench/order_cpu.sh" ] || { echo "order_ab.sh: $t has no launch/bench/order_cpu.sh" >&2; exit 2; }
  [ -x "$t/build/bin/bazaar-order" ] || { echo "order_ab.sh: $t is not built (no build/bin/bazaar-order)" >&2; exit 2; }
done

# One run of tree $1 as "orders/s p99_ms steal_% leader_us follower_us all_us". The leader is the
# replica that spent the most CPU, a follower the one that spent the least.
run() {
  local out
  out="$("$1/launch/bench/order_cpu.sh" --seconds "$seconds" 2>&1)" || {
    echo "order_ab.sh: order_cpu.sh of $1 failed:" >&2
    echo "$out" >&2
    return 1
  }
  echo "$out" | awk '
    /^orders:/ { for (i = 1; i <= NF; i++) if ($i == "p99") p99 = $(i + 1) }
    /machine:/ { for (i = 1; i <= NF; i++) if ($i == "stolen") steal = $(i - 1) }
    $1 ~ /^order-[0-9]+$/ { us = $(NF - 1); if (lead == "" || us > lead) lead = us; if (fol == "" || us < fol) fol = us }
    $1 == "all" { all = $5; rate = $(NF - 1) }
    END { sub("%", "", steal); printf "%s %s %s %s %s %s\n", rate, p99, steal, lead, fol, all }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

res="$(mktemp)"
trap 'rm -f "$res"' EXIT
row="%-5s %-4s %9s %8s %6s %10s %12s %8s\n"
# shellcheck disable=SC2059
printf "$row" round tree orders/s p99_ms steal% leader_us follower_us all_us
for r in $(seq 1 "$rounds"); do
  for k in 0 1; do
    label=$([ $k -eq 0 ] && echo A || echo B)
    line="$(run "${trees[$k]}")"
    echo "$r $label $line" >> "$res"
    # shellcheck disable=SC2059,SC2086
    printf "$row" "$r" "$label" $line
  done
done
echo "== medians over $rounds rounds (A: ${trees[0]}, B: ${trees[1]})"
names=(orders/s p99_ms steal% leader_us follower_us all_us)
for col in 0 1 2 3 4 5; do
  a="$(awk -v c=$((col + 3)) '$2 == "A" { print $c }' "$res" | median)"
  b="$(awk -v c=$((col + 3)) '$2 == "B" { print $c }' "$res" | median)"
  printf "  %-12s A %8s  B %8s\n" "${names[$col]}" "$a" "$b"
done
ratio="$(awk '$2 == "A" { a[$1] = $3 } $2 == "B" { b[$1] = $3 } END { for (r in a) if (b[r] > 0) print a[r] / b[r] }' "$res" | median)"
printf "  orders/s A/B, median of the %d pairs: %.3f\n" "$rounds" "$ratio"
