#!/usr/bin/env bash
# Where an order's CPU goes: starts a cluster as `launch/bazaar up` does (CURVE on), runs
# `wrk -t2 -c32` POST /orders for S seconds, and prints each process's CPU time (user + system,
# from /proc) in total and per committed order, beside the throughput and the disk's sync time.
# Usage: launch/bench/order_cpu.sh [--seconds S]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
B="$ROOT/launch/bazaar"
seconds=10
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    *) echo "order_cpu.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
case "$seconds" in '' | *[!0-9]* | 0) echo "order_cpu.sh: --seconds must be a positive integer" >&2; exit 2 ;; esac
command -v wrk >/dev/null || { echo "order_cpu.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }

. "$ROOT/launch/ports.sh"
. "$ROOT/launch/bench/disk.sh"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-bench-cpu.XXXXXX")"
trap '"$B" down --run-dir "$RUN" >/dev/null 2>&1 || true; rm -rf "$RUN"' EXIT
BASE="$(pick_base_port)"
HTTP=$((BASE + 30))
"$B" up --run-dir "$RUN" --port "$HTTP" --base-port "$BASE" --catalog stocks >/dev/null
echo "== disk: one synced 4 KiB overwrite takes $(disk_sync_ms "$RUN") ms"

# name pid lines of this cluster's processes, from their pid files.
procs() {
  local f
  for f in "$RUN"/*.pid; do echo "$(basename "$f" .pid) $(cat "$f")"; done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The machine's own split (user+system, idle, steal) from /proc/stat: on a shared host the
# hypervisor may take CPU time away ("steal"), and the figures then drop with no change of ours.
machine() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6, $9}' /proc/stat; }
declare -A before
while read -r name pid; do before[$name]=$(cpu_ticks "$pid"); done < <(procs)
read -r busy0 idle0 steal0 < <(machine)
out="$(wrk -t2 -c32 -d"${seconds}s" -s "$ROOT/launch/bench/orders.lua" "http://127.0.0.1:$HTTP")"
read -r busy1 idle1 steal1 < <(machine)
echo "$out" | grep -E "^orders:"
all=$(((busy1 - busy0) + (idle1 - idle0) + (steal1 - steal0)))
echo "  machine: $(((busy1 - busy0) * 100 / all))% busy, $(((steal1 - steal0) * 100 / all))% stolen by the host"
n="$(echo "$out" | sed -n 's/^orders: \([0-9]*\) requests.*/\1/p')"
[ "${n:-0}" -gt 0 ] || { echo "order_cpu.sh: no order was answered" >&2; exit 1; }
hz="$(getconf CLK_TCK)"
total=0
while read -r name pid; do
  ms=$(( ($(cpu_ticks "$pid") - before[$name]) * 1000 / hz ))
  total=$((total + ms))
  printf "  %-12s %6d ms CPU  %4d us/order\n" "$name" "$ms" $((ms * 1000 / n))
done < <(procs)
printf "  %-12s %6d ms CPU  %4d us/order; %d orders/s\n" "all" "$total" $((total * 1000 / n)) $((n / seconds))
