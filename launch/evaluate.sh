#!/usr/bin/env bash
# launch/evaluate.sh (run as `launch/bazaar evaluate [options]`): the course handout's
# experiments on this machine, written as CSV and PNG plots (docs/EVALUATION.md reads them).
#
#   launch/bazaar evaluate [--quick] [--out DIR] [--duration S] [--phase S] [--clients C]
#
#   1. latency against p: one cluster with the cache, one with --no-cache (started one after
#      the other); against each, C closed-loop clients (bazaar-client load, default 5) run the
#      handout's loop for DURATION seconds at each p in 0, 0.2, 0.4, 0.6, 0.8. Per p and request
#      type (lookup, order, order query): count, errors, rate, mean, p50, p90, p99, max.
#   2. crashes: one cluster, the clients at p = 0.5 for 5 phases of PHASE seconds; at the end of
#      phase 1 a follower is killed (SIGKILL), at the end of phase 2 it is started again, at the
#      end of phase 3 the leader is killed, at the end of phase 4 it is started again. Reports
#      the errors the clients saw and the latency around each kill, and whether the three
#      replicas' committed logs end identical (launch/bazaar dump order-N).
#
# Output in DIR (default run/eval): latency.csv, latency_vs_p.png, crash_timeline.csv,
# crash_events.csv, crash_summary.csv, crash_load.json, crash_timeline.png, replicas.txt.
# Defaults: DURATION 10 s, PHASE 6 s (about 3 minutes); --quick: 4 s and 4 s (under 2 minutes).
# Every cluster listens on 127.0.0.1 only and is stopped on exit, also on ^C. gnuplot is
# installed on demand (Debian's gnuplot-nox); without it the CSV files are still written.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BAZAAR="$ROOT/launch/bazaar"
BIN_DIR="${BAZAAR_BIN_DIR:-${BAZAAR_BUILD_DIR:-$ROOT/build}/bin}"

OUT="$ROOT/run/eval"
DURATION=10
PHASE=6
CLIENTS=5
PS=(0 0.2 0.4 0.6 0.8)
SEED=2024

die() { echo "evaluate: $*" >&2; exit 1; }
say() { echo "evaluate: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) DURATION=4 PHASE=4; shift ;;
    --out) OUT="${2:?--out needs a value}"; shift 2 ;;
    --out=*) OUT="${1#*=}"; shift ;;
    --duration) DURATION="${2:?--duration needs a value}"; shift 2 ;;
    --phase) PHASE="${2:?--phase needs a value}"; shift 2 ;;
    --clients) CLIENTS="${2:?--clients needs a value}"; shift 2 ;;
    -h | --help) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
for v in DURATION PHASE CLIENTS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] && [ "${!v}" -le 3600 ] ||
    die "--${v,,} must be an integer in 1..3600"
done
[ "$CLIENTS" -le 64 ] || die "--clients must be at most 64"
for b in bazaar-broker bazaar-catalog bazaar-order bazaar-frontend bazaar-client; do
  [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b not found: run launch/bazaar build first"
done
export BAZAAR_BIN_DIR="$BIN_DIR"
CLIENT="$BIN_DIR/bazaar-client"
mkdir -p "$OUT" || die "cannot create $OUT"
OUT="$(cd "$OUT" && pwd)"

# gnuplot, installed on demand like wrk for the benchmarks; the plots are skipped without it.
PLOTS=1
if ! command -v gnuplot >/dev/null; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo -n true 2>/dev/null && sudo="sudo -n" || sudo=none; fi
  if [ "$sudo" = none ]; then
    say "gnuplot is missing and this is not root: no plots (apt-get install gnuplot-nox)"
    PLOTS=0
  else
    say "installing gnuplot-nox"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      gnuplot-nox >/dev/null 2>&1 || {
      $sudo apt-get update -qq >/dev/null 2>&1
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        gnuplot-nox >/dev/null 2>&1
    } || { say "could not install gnuplot-nox: no plots"; PLOTS=0; }
  fi
fi

# ---- clusters ---------------------------------------------------------------------------------

WORK="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-eval.XXXXXX")"
CLUSTERS=()
LOAD_PID=""
cleanup() {
  local rc=$? dir
  trap - EXIT INT TERM
  [ -n "$LOAD_PID" ] && kill -TERM "$LOAD_PID" 2>/dev/null
  for dir in "${CLUSTERS[@]+"${CLUSTERS[@]}"}"; do
    "$BAZAAR" down --run-dir "$dir" >/dev/null 2>&1 || true
  done
  if [ "$rc" -ne 0 ]; then
    mkdir -p "$OUT/logs"
    for dir in "${CLUSTERS[@]+"${CLUSTERS[@]}"}"; do
      cp "$dir"/*.log "$OUT/logs/" 2>/dev/null || true
    done
    say "failed; the clusters' logs are in $OUT/logs"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=launch/ports.sh
. "$ROOT/launch/ports.sh"

# The stocks catalog's ten names and prices with a million of each: the clients buy and sell at
# even odds, and with 100 of each (the built-in stocks catalog) a random walk would sooner or
# later leave an item at 0, where the handout's client stops ordering it; that would make the
# order rate drift downward during a run instead of following p.
CATALOG="$WORK/catalog.csv"
cat >"$CATALOG" <<'EOF'
name,price,quantity
GameStart,15.99,1000000
FishCo,17.99,1000000
BoarCo,28.59,1000000
MenhirCo,21.49,1000000
CrassusRealty,42.10,1000000
AsterixInc,33.33,1000000
ObelixLtd,27.75,1000000
IdefixPets,9.99,1000000
DruidPotions,55.00,1000000
RomanRoads,12.50,1000000
EOF

# cluster_up NAME [up options]: a fresh cluster on free ports; sets RUN and URL.
cluster_up() {
  local name="$1" base
  shift
  RUN="$WORK/$name"
  mkdir -p "$RUN"
  CLUSTERS+=("$RUN")
  base="$(pick_base_port)" || die "no free port range on 127.0.0.1"
  BASE="$base"
  URL="$("$BAZAAR" up --run-dir "$RUN" --port $((base + 30)) --base-port "$base" \
    --catalog "$CATALOG" "$@")" || die "cluster $name did not come up (logs: $RUN)"
  # `up` runs the cluster with CURVE by default: bazaar-client status needs its keys.
  if [ -d "$RUN/curve" ]; then export BAZAAR_CURVE_DIR="$RUN/curve"; else unset BAZAAR_CURVE_DIR; fi
}

# load ARGS...: the clients against URL, bounded by their duration plus the request timeout.
load() { "$CLIENT" --url "$URL" --timeout 5000 load --clients "$CLIENTS" --no-progress "$@"; }

# ---- 1. latency against p, cache on and off -----------------------------------------------------

LAT="$OUT/latency.csv"
echo "cache,p,type,count,errors,rate_per_s,mean_ms,p50_ms,p90_ms,p99_ms,max_ms,errors_by_cause" >"$LAT"
for cache in on off; do
  up_args=()
  [ "$cache" = off ] && up_args=(--no-cache)
  cluster_up "cache-$cache" "${up_args[@]+"${up_args[@]}"}"
  say "cache $cache: $CLIENTS clients, ${DURATION}s per p, at $URL"
  # Warm-up: connections, the cache, CPU clocks; not measured.
  load --duration 1 --p 0.5 --seed 1 >/dev/null
  i=0
  for p in "${PS[@]}"; do
    i=$((i + 1))
    csv="$(load --duration "$DURATION" --p "$p" --seed $((SEED + i)) --csv)" ||
      die "load at p=$p (cache $cache) failed"
    tail -n +2 <<<"$csv" | sed "s/^/$cache,$p,/" >>"$LAT"
    say "  p=$p: $(tail -n +2 <<<"$csv" | awk -F, '{ printf "%s %s/s mean %s ms p99 %s ms; ", $1, $4, $5, $8 }')"
  done
  "$BAZAAR" down --run-dir "$RUN" >/dev/null 2>&1
done

# ---- 2. crashes under load ----------------------------------------------------------------------

now_ms() { date +%s%3N; }
leader() { "$BAZAAR" status --run-dir "$RUN" | awk '$3 == "up" && $4 == "leader" { print $1; exit }'; }
follower() { "$BAZAAR" status --run-dir "$RUN" | awk '$3 == "up" && $4 == "follower" { print $1; exit }'; }
size_of() {  # committed log size of order-k, from its StatusRequest
  "$CLIENT" --timeout 500 status "tcp://127.0.0.1:$((BASE + 10 + 2 * ($1 - 1)))" 2>/dev/null |
    sed -n 's/.*size=\([0-9]*\).*/\1/p'
}

cluster_up crash
total=$((5 * PHASE))
say "crashes: $CLIENTS clients at p=0.5 for ${total}s; follower killed at ${PHASE}s, restarted at $((2 * PHASE))s; leader killed at $((3 * PHASE))s, restarted at $((4 * PHASE))s"
EVENTS="$WORK/events.raw"
: >"$EVENTS"
load --duration "$total" --p 0.5 --seed $((SEED + 100)) --json --interval 100 \
  --timeline "$OUT/crash_timeline.csv" >"$OUT/crash_load.json" &
LOAD_PID=$!
t0=$(now_ms)
# at SECONDS_FROM_START: sleeps until then (relative to the start of the load).
at() {
  local left=$(($1 * 1000 - ($(now_ms) - t0)))
  [ "$left" -gt 0 ] && sleep "$(awk -v ms="$left" 'BEGIN { printf "%.3f", ms / 1000 }')"
  return 0
}
event() { echo "$(now_ms),$1" >>"$EVENTS"; say "  $(( ($(now_ms) - t0) / 1000 ))s: $1"; }

at "$PHASE"
victim="$(follower)"
[ -n "$victim" ] || die "no follower found"
event "kill follower $victim"
"$BAZAAR" kill --run-dir "$RUN" "$victim" 2>/dev/null
at $((2 * PHASE))
event "restart $victim"
"$BAZAAR" start --run-dir "$RUN" "$victim" >/dev/null 2>&1 || die "$victim did not restart"
at $((3 * PHASE))
old_leader="$(leader)"
[ -n "$old_leader" ] || die "no leader found"
event "kill leader $old_leader"
"$BAZAAR" kill --run-dir "$RUN" "$old_leader" 2>/dev/null
at $((4 * PHASE))
event "restart $old_leader"
"$BAZAAR" start --run-dir "$RUN" "$old_leader" >/dev/null 2>&1 || die "$old_leader did not restart"
load_rc=0
wait "$LOAD_PID" || load_rc=$?
LOAD_PID=""
[ "$load_rc" -eq 0 ] || say "the clients exited $load_rc (a mismatch, or every request failed): see crash_load.json"

start_ms="$(sed -n 's/.*"start_unix_ms": *\([0-9]*\).*/\1/p' "$OUT/crash_load.json")"
[ -n "$start_ms" ] || die "no start time in crash_load.json"
echo "t_s,event" >"$OUT/crash_events.csv"
awk -F, -v s="$start_ms" '{ printf "%.3f,%s\n", ($1 - s) / 1000, $2 }' "$EVENTS" >>"$OUT/crash_events.csv"

# The replicas converge once the restarted one has caught up: wait (bounded) for equal sizes.
new_leader="$(leader)"
deadline=$((SECONDS + 30))
while :; do
  s1="$(size_of 1)" s2="$(size_of 2)" s3="$(size_of 3)"
  [ -n "$s1" ] && [ "$s1" = "$s2" ] && [ "$s2" = "$s3" ] && break
  [ $SECONDS -lt $deadline ] || { say "replica log sizes still differ after 30 s: $s1 $s2 $s3"; break; }
  sleep 0.2
done
"$BAZAAR" down --run-dir "$RUN" >/dev/null 2>&1
{
  for k in 1 2 3; do
    "$BAZAAR" dump --run-dir "$RUN" "order-$k" >"$WORK/order-$k.dump"
    echo "order-$k: $(wc -l <"$WORK/order-$k.dump") committed orders, sha256 $(sha256sum <"$WORK/order-$k.dump" | cut -c1-16)"
  done
  if cmp -s "$WORK/order-1.dump" "$WORK/order-2.dump" && cmp -s "$WORK/order-2.dump" "$WORK/order-3.dump"; then
    echo "identical: yes"
  else
    echo "identical: NO"
  fi
  # G3: the numbers are 0..n-1 in order.
  if awk '$1 != NR - 1 { bad = 1 } END { exit bad }' "$WORK/order-1.dump"; then
    echo "numbering: 0..$(($(wc -l <"$WORK/order-1.dump") - 1)) without gaps"
  else
    echo "numbering: GAPS OR REPEATS"
  fi
  echo "leader after the run: ${new_leader:-none}"
} >"$OUT/replicas.txt"

# Per event: the client-visible errors and the worst latency in the 3 s after it, against the
# phase before the first kill (its p99 is read from the per-100 ms maxima, a fair baseline).
awk -F, -v phase="$PHASE" '
  FNR == 1 { next }
  FILENAME ~ /events/ { ev_t[++n] = $1; ev[n] = $2; next }
  {
    t = $1 + 0; type = $2
    if (t < phase - 0.2 && t >= 1) {
      base_cnt[type] += $3; base_err[type] += $4
      if ($6 + 0 > base_max[type]) base_max[type] = $6 + 0
      base_sum[type] += $5 * $3
    }
    for (i = 1; i <= n; i++) if (t >= ev_t[i] - 0.1 && t < ev_t[i] + 3) {
      err[i, type] += $4
      if ($6 + 0 > mx[i, type]) mx[i, type] = $6 + 0
    }
    tot_err[type] += $4
  }
  END {
    print "window,type,errors,max_ms,baseline_mean_ms"
    split("lookup order query", types, " ")
    for (k = 1; k <= 3; k++) {
      ty = types[k]
      bm = base_cnt[ty] ? base_sum[ty] / base_cnt[ty] : 0
      printf "before the first kill,%s,%d,%.1f,%.2f\n", ty, base_err[ty], base_max[ty], bm
    }
    for (i = 1; i <= n; i++) for (k = 1; k <= 3; k++) {
      ty = types[k]
      bm = base_cnt[ty] ? base_sum[ty] / base_cnt[ty] : 0
      printf "3 s after %s,%s,%d,%.1f,%.2f\n", ev[i], ty, err[i, ty], mx[i, ty], bm
    }
    for (k = 1; k <= 3; k++) printf "whole run,%s,%d,,\n", types[k], tot_err[types[k]]
  }' "$OUT/crash_events.csv" "$OUT/crash_timeline.csv" >"$OUT/crash_summary.csv"

# ---- plots (cache off in lighter colours: the png terminal draws no dashed lines) ------------

if [ "$PLOTS" -eq 1 ]; then
  D="$WORK/plot"
  mkdir -p "$D"
  for cache in on off; do
    for type in lookup order query; do
      awk -F, -v c="$cache" -v t="$type" '$1 == c && $3 == t { print $2, $7, $10 }' "$LAT" >"$D/$cache-$type.dat"
    done
  done
  for type in lookup order query; do
    awk -F, -v t="$type" 'NR > 1 && $2 == t { print $1, $5, $6, $3, $4 }' "$OUT/crash_timeline.csv" >"$D/crash-$type.dat"
  done
  arrows=""
  i=0
  while IFS=, read -r t _; do
    i=$((i + 1))
    arrows+="set arrow $i from first $t, graph 0 to first $t, graph 1 nohead lc rgb \"#888888\" dt 2"$'\n'
  done < <(tail -n +2 "$OUT/crash_events.csv")
  gnuplot <<GNUPLOT || say "gnuplot failed: no plots"
set terminal png size 1200,520 font ",10"
set datafile separator whitespace
set output "$OUT/latency_vs_p.png"
set multiplot layout 1,2 title "Latency against p: $CLIENTS closed-loop clients, ${DURATION} s per point (this machine, $(nproc) cores)"
set xlabel "p (probability of an order after a lookup)"
set ylabel "milliseconds"
set xrange [-0.05:0.85]
set xtics 0,0.2,0.8
set key below maxrows 2
set grid
set yrange [0:*]
set title "mean"
plot "$D/on-lookup.dat" u 1:2 w lp lw 2 pt 7 lc rgb "#1f77b4" t "lookup, cache on", \
     "$D/off-lookup.dat" u 1:2 w lp lw 2 pt 6 lc rgb "#8fbde0" t "lookup, cache off", \
     "$D/on-order.dat" u 1:2 w lp lw 2 pt 5 lc rgb "#d62728" t "order, cache on", \
     "$D/off-order.dat" u 1:2 w lp lw 2 pt 4 lc rgb "#f4a09c" t "order, cache off", \
     "$D/on-query.dat" u 1:2 w lp lw 2 pt 9 lc rgb "#2ca02c" t "order query, cache on", \
     "$D/off-query.dat" u 1:2 w lp lw 2 pt 8 lc rgb "#98d98e" t "order query, cache off"
set title "p99"
plot "$D/on-lookup.dat" u 1:3 w lp lw 2 pt 7 lc rgb "#1f77b4" t "lookup, cache on", \
     "$D/off-lookup.dat" u 1:3 w lp lw 2 pt 6 lc rgb "#8fbde0" t "lookup, cache off", \
     "$D/on-order.dat" u 1:3 w lp lw 2 pt 5 lc rgb "#d62728" t "order, cache on", \
     "$D/off-order.dat" u 1:3 w lp lw 2 pt 4 lc rgb "#f4a09c" t "order, cache off", \
     "$D/on-query.dat" u 1:3 w lp lw 2 pt 9 lc rgb "#2ca02c" t "order query, cache on", \
     "$D/off-query.dat" u 1:3 w lp lw 2 pt 8 lc rgb "#98d98e" t "order query, cache off"
unset multiplot

set terminal png size 1200,600 font ",10"
set output "$OUT/crash_timeline.png"
set multiplot layout 2,1 title "Crashes under load: $CLIENTS clients at p = 0.5 (worst latency and errors per 100 ms)"
set xlabel "seconds since the clients started"
set xrange [0:$total]
set xtics auto
set logscale y
set yrange [0.05:*]
set ylabel "max latency (ms)"
set key inside top right
set title ""
$arrows
plot "$D/crash-lookup.dat" u 1:3 w l lc rgb "#1f77b4" t "lookup", \
     "$D/crash-order.dat" u 1:3 w l lc rgb "#d62728" t "order", \
     "$D/crash-query.dat" u 1:3 w l lc rgb "#2ca02c" t "order query"
unset logscale y
set yrange [0:*]
set ylabel "requests per 100 ms"
set title "grey lines: $(tail -n +2 "$OUT/crash_events.csv" | cut -d, -f2 | paste -sd';' | sed 's/;/; /g')"
plot "$D/crash-lookup.dat" u 1:4 w l lc rgb "#1f77b4" t "lookups", \
     "$D/crash-order.dat" u 1:4 w l lc rgb "#d62728" t "orders", \
     "$D/crash-order.dat" u 1:5 w impulses lw 3 lc rgb "#000000" t "order errors", \
     "$D/crash-lookup.dat" u 1:5 w impulses lw 3 lc rgb "#ff7f0e" t "lookup errors"
unset multiplot
GNUPLOT
fi

# ---- report -------------------------------------------------------------------------------------

echo "== latency against p ($CLIENTS clients, ${DURATION} s each; ms)"
awk -F, 'NR > 1 { printf "  cache %-3s p=%-4s %-7s %8s/s  mean %7s  p50 %7s  p99 %8s  max %9s  errors %s %s\n", $1, $2, $3, $6, $7, $8, $10, $11, $5, $12 }' "$LAT"
echo "== crashes ($CLIENTS clients at p=0.5; ms)"
sed 's/^/  /' "$OUT/crash_summary.csv"
sed 's/^/  /' "$OUT/replicas.txt"
echo "== files in $OUT"
(cd "$OUT" && ls -1 ./*.csv ./*.json ./*.txt ./*.png 2>/dev/null | sed 's|^\./|  |')
grep -q "identical: yes" "$OUT/replicas.txt" || die "the replicas' logs differ"
[ "$load_rc" -eq 0 ] || die "the clients found a mismatch during the crash experiment"
