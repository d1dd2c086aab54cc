#!/usr/bin/env bash
# launch/bench.sh (run as `launch/bazaar bench [options]`): HTTP benchmarks of the front end with
# wrk, next to nginx serving the same JSON from a file, on this machine. Prints figures; it
# asserts nothing (the goals are in docs/PERFORMANCE.md).
#
#   launch/bazaar bench [--quick] [--rounds N] [--duration S] [--connections N] [--threads N]
#                       [--item NAME]
#
# Measures, each with `wrk -t THREADS -c CONNECTIONS --latency` after a short warm-up:
#   nginx     GET /stocks/NAME   a static file holding the front end's own reply body
#   cached    GET /stocks/NAME   a cluster started with the default cache
#   uncached  GET /stocks/NAME   a cluster started with --no-cache (every lookup asks the catalog)
# in ROUNDS rounds of DURATION seconds, the three in turn, and prints the median of each figure:
# on a shared machine the load of other programs comes and goes, and taking turns spreads it
# fairly. Then the cached front end's resident memory and how many requests it had served.
# Everything it starts (two clusters, nginx) is stopped on exit, also on ^C. --quick: one round
# of 3 s. Then the order-path benchmarks of launch/bench/orders.sh (docs/REPLICATION.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BAZAAR="$ROOT/launch/bazaar"
BIN_DIR="${BAZAAR_BIN_DIR:-${BAZAAR_BUILD_DIR:-$ROOT/build}/bin}"

ORDER_ARGS=()   # for launch/bench/orders.sh
ROUNDS=3        # rounds of one run per target; the figures are medians over rounds
DURATION=6      # seconds per run: three cached runs and their warm-ups pass a million requests
WARMUP=1        # seconds of load before each measured run (connections, caches, CPU clocks)
CONNECTIONS=64
THREADS=2
ITEM=GameStart

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) ROUNDS=1; DURATION=3; WARMUP=1; ORDER_ARGS=(--quick); shift ;;
    --rounds) ROUNDS="${2:?--rounds needs a value}"; shift 2 ;;
    --duration) DURATION="${2:?--duration needs a value}"; shift 2 ;;
    --connections) CONNECTIONS="${2:?--connections needs a value}"; shift 2 ;;
    --threads) THREADS="${2:?--threads needs a value}"; shift 2 ;;
    --item) ITEM="${2:?--item needs a value}"; shift 2 ;;
    -h | --help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
for v in ROUNDS DURATION WARMUP CONNECTIONS THREADS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || die "--${v,,} must be a positive integer"
done
[[ "$ITEM" =~ ^[A-Za-z0-9._~-]+$ ]] || die "--item: letters, digits and ._~- only"

# ---- tools ------------------------------------------------------------------------------------

NGINX="$(command -v nginx || true)"
[ -n "$NGINX" ] || [ ! -x /usr/sbin/nginx ] || NGINX=/usr/sbin/nginx
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[ -n "$NGINX" ] || missing+=(nginx-light)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo -n true 2>/dev/null || die "needs ${missing[*]}: run as root, or apt-get install ${missing[*]}"
    sudo="sudo -n"
  fi
  say "installing ${missing[*]}"
  # Without systemd the package starts no daemon: nginx runs only as this script starts it.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || {
    $sudo apt-get update -qq >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  } || die "could not install ${missing[*]}"
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
fi
for b in bazaar-broker bazaar-catalog bazaar-order bazaar-frontend bazaar-client; do
  [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b not found: run launch/bazaar build first"
done
export BAZAAR_BIN_DIR="$BIN_DIR"

# ---- clean-up ---------------------------------------------------------------------------------

WORK="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-bench.XXXXXX")"
CLUSTERS=()  # run directories of the clusters started
cleanup() {
  local rc=$? dir
  trap - EXIT INT TERM
  for dir in "${CLUSTERS[@]+"${CLUSTERS[@]}"}"; do
    "$BAZAAR" down --run-dir "$dir" >/dev/null 2>&1 || true
  done
  if [ -f "$WORK/nginx/nginx.pid" ]; then
    kill -TERM "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
    sleep 0.3
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- ports ------------------------------------------------------------------------------------

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A base port P with P .. P+span-1 all free on 127.0.0.1, below the kernel's ephemeral range
# (32768 and up), so no client connection made meanwhile can take one of them.
free_base() {
  local span="$1" base p ok attempt
  for ((attempt = 0; attempt < 100; attempt++)); do
    base=$((10000 + RANDOM % 22000))
    ok=1
    for ((p = base; p < base + span; p++)); do
      if listening "$p"; then ok=0; break; fi
    done
    [ "$ok" -eq 1 ] && { echo "$base"; return 0; }
  done
  die "no free port range on 127.0.0.1"
}

# Two clusters side by side (internal ports from P and P+32, HTTP P+30 and P+62), nginx P+64.
BASE="$(free_base 65)"
CACHED_HTTP=$((BASE + 30))
UNCACHED_HTTP=$((BASE + 62))
NGINX_PORT=$((BASE + 64))
URL_PATH="/stocks/$ITEM"

# ---- clusters and nginx -------------------------------------------------------------------------

# cluster_up NAME BASE HTTP [up options]: starts a cluster, once more if the first try fails.
cluster_up() {
  local dir="$WORK/$1" base="$2" http="$3"
  shift 3
  mkdir -p "$dir"
  CLUSTERS+=("$dir")
  if ! "$BAZAAR" up --run-dir "$dir" --port "$http" --base-port "$base" --catalog stocks \
    "$@" >/dev/null; then
    say "cluster $1 did not come up; trying once more"
    "$BAZAAR" down --run-dir "$dir" >/dev/null 2>&1 || true
    "$BAZAAR" up --run-dir "$dir" --port "$http" --base-port "$base" --catalog stocks \
      "$@" >/dev/null || die "cluster did not come up"
  fi
}

say "starting a cluster with the cache (HTTP $CACHED_HTTP) and one with --no-cache (HTTP $UNCACHED_HTTP)"
cluster_up cached "$BASE" "$CACHED_HTTP"
cluster_up uncached $((BASE + 32)) "$UNCACHED_HTTP" --no-cache
BODY="$(curl -sf "http://127.0.0.1:$CACHED_HTTP$URL_PATH")" || die "GET $URL_PATH failed"
[ "$(curl -sf "http://127.0.0.1:$UNCACHED_HTTP$URL_PATH")" = "$BODY" ] || die "the clusters disagree"

mkdir -p "$WORK/nginx/www/stocks" "$WORK/nginx/tmp"
printf '%s' "$BODY" >"$WORK/nginx/www/stocks/$ITEM"
# Run as root, nginx's workers drop to an unprivileged user, which must be able to read these.
chmod 755 "$WORK" "$WORK/nginx" "$WORK/nginx/www" "$WORK/nginx/www/stocks"
chmod 644 "$WORK/nginx/www/stocks/$ITEM"
cat >"$WORK/nginx/nginx.conf" <<NGINX_CONF
# One worker per core, keep-alive without a request limit, no access log: nginx at its best
# for a small static reply, as the yardstick.
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
daemon on;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000000;
  client_body_temp_path $WORK/nginx/tmp;
  proxy_temp_path $WORK/nginx/tmp;
  fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp;
  scgi_temp_path $WORK/nginx/tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/nginx/www;
    default_type application/json;
  }
}
NGINX_CONF
say "nginx: serving the same $(printf '%s' "$BODY" | wc -c)-byte body on port $NGINX_PORT"
"$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" 2>"$WORK/nginx/start.log" ||
  die "nginx did not start: $(cat "$WORK/nginx/start.log")"
for _ in $(seq 50); do listening "$NGINX_PORT" && break; sleep 0.1; done
[ "$(curl -sf "http://127.0.0.1:$NGINX_PORT$URL_PATH")" = "$BODY" ] || die "nginx does not serve the body"

# ---- measuring --------------------------------------------------------------------------------

# wrk's latency figures ("612.00us", "1.20ms", "1.01s") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.2f", n }'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A URL RPS P50 P99 ERRS
URL[nginx]="http://127.0.0.1:$NGINX_PORT$URL_PATH"
URL[cached]="http://127.0.0.1:$CACHED_HTTP$URL_PATH"
URL[uncached]="http://127.0.0.1:$UNCACHED_HTTP$URL_PATH"
TARGETS=(nginx cached uncached)

# run_wrk NAME: warm up, measure once, add the figures to NAME's lists.
run_wrk() {
  local name="$1" url="${URL[$1]}" out rps p50 p99 errs
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" "$url" >/dev/null 2>&1 || true
  out="$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency "$url" 2>&1)" ||
    die "wrk failed against $url: $out"
  rps="$(awk '/^Requests\/sec:/ { printf "%d", $2 }' <<<"$out")"
  p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")"
  p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")"
  # Non-2xx answers and socket errors: a fast run of 503s is no result.
  errs="$(awk '/Non-2xx/ { n += $NF } /Socket errors/ { gsub(/[^0-9 ]/, " "); for (i = 1; i <= NF; i++) n += $i } END { print n + 0 }' <<<"$out")"
  RPS[$name]+="$rps "
  P50[$name]+="$p50 "
  P99[$name]+="$p99 "
  ERRS[$name]=$((${ERRS[$name]:-0} + errs))
  say "  $name: $rps requests/s, p50 $p50 ms, p99 $p99 ms, errors $errs (load $(cut -d' ' -f1 /proc/loadavg))"
}

for ((round = 1; round <= ROUNDS; round++)); do
  say "round $round of $ROUNDS"
  for name in "${TARGETS[@]}"; do run_wrk "$name"; done
done

FE_PID="$(cat "$WORK/cached/frontend-1.pid")"
RSS_KB="$(awk '/^VmRSS:/ { print $2 }' "/proc/$FE_PID/status")"
METRICS="$(curl -sf "http://127.0.0.1:$CACHED_HTTP/metrics")"
SERVED="$(awk '/^bazaar_http_requests_total/ { n += $NF } END { printf "%d", n }' <<<"$METRICS")"
HITS="$(awk '$1 == "bazaar_cache_hits_total" { print $2 }' <<<"$METRICS")"

# ---- report -------------------------------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
NGINX_RPS="$(median <<<"${RPS[nginx]}")"
echo
echo "wrk -t$THREADS -c$CONNECTIONS --latency GET $URL_PATH: $ROUNDS round(s) of ${DURATION}s, medians; $(nproc) cores"
printf '%-10s %11s %8s %8s %7s %9s   %s\n' run "requests/s" "p50 ms" "p99 ms" errors "vs nginx" \
  "requests/s of each round"
for name in "${TARGETS[@]}"; do
  rps="$(median <<<"${RPS[$name]}")"
  printf '%-10s %11s %8s %8s %7s %9s   %s\n' "$name" "$rps" "$(median <<<"${P50[$name]}")" \
    "$(median <<<"${P99[$name]}")" "${ERRS[$name]}" "$(ratio "$rps" "$NGINX_RPS")" "${RPS[$name]}"
done
echo
echo "cached front end: resident memory $((RSS_KB / 1024)) MiB ($RSS_KB kB) after $SERVED requests ($HITS cache hits)"
echo "goals (docs/PERFORMANCE.md): cached >= 0.60 x nginx, cached p99 < 2 ms, uncached >= 25000/s, RSS < 64 MiB"

# The order path (replication): committed orders/s, fail-over, catch-up. docs/REPLICATION.md.
echo
bash "$ROOT/launch/bench/orders.sh" "${ORDER_ARGS[@]+"${ORDER_ARGS[@]}"}"
