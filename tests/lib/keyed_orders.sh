# Sourced by the operations tests: keyed orders from one client under a changing cluster.
#
# keyed_orders NAME URL STOP_FILE OUT_FILE: alternately buys and sells one Tux at URL/orders, each
# with an Idempotency-Key of its own (NAME-i), until STOP_FILE exists; writes one line
# "HTTP_CODE SECONDS END" per order to OUT_FILE (END: when the answer came, in seconds since the
# epoch, as $EPOCHREALTIME). Each request has a 10 s deadline.
keyed_orders() {
  local name="$1" url="$2" stop="$3" out="$4" i=0 type
  while [ ! -f "$stop" ]; do
    i=$((i + 1)); type=buy; [ $((i % 2)) -eq 0 ] && type=sell
    printf '%s %s\n' "$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 \
      -H "Idempotency-Key: $name-$i" -H 'Content-Type: application/json' \
      -d "{\"name\":\"Tux\",\"quantity\":1,\"type\":\"$type\"}" "$url/orders")" "${EPOCHREALTIME/,/.}"
  done >"$out"
}

# keyed_window FROM TO FILE...: keyed_summary of the orders answered between FROM and TO (seconds
# since the epoch, as $EPOCHREALTIME); leaves KEYED_TOTAL and KEYED_BAD as they were.
keyed_window() {
  local from="$1" to="$2" total="${KEYED_TOTAL:-}" bad="${KEYED_BAD:-}" tmp
  shift 2
  tmp="$(mktemp)"
  awk -v a="$from" -v b="$to" '$3 >= a && $3 <= b' "$@" >"$tmp"
  keyed_summary "$tmp"
  rm -f "$tmp"
  KEYED_TOTAL="$total" KEYED_BAD="$bad"
}

# keyed_summary FILE...: "N orders, B not 200; latency p50 X ms, p99 Y ms, max Z ms" over the lines
# keyed_orders wrote; sets KEYED_TOTAL and KEYED_BAD.
keyed_summary() {
  KEYED_TOTAL="$(cat "$@" | wc -l)"
  KEYED_BAD="$(cat "$@" | grep -vc '^200 ')"
  local latency
  latency="$(cat "$@" | cut -d' ' -f2 | sort -g | awk '{ t[NR] = $1 * 1000 } END {
    if (NR == 0) { print "none"; exit }
    p99 = int(NR * 0.99); if (p99 < 1) p99 = 1
    printf "p50 %.1f ms, p99 %.1f ms, max %.1f ms", t[int((NR + 1) / 2)], t[p99], t[NR] }')"
  echo "$KEYED_TOTAL orders, $KEYED_BAD not 200; latency $latency"
}
