#!/usr/bin/env bash
# The storefront and the cluster page in a real browser (headless Chromium over WebDriver)
# against a real cluster started with launch/bazaar on free loopback ports. ctest label
# `browser`. The cluster, the browser and the driver are stopped on every exit, failure too.
#   BAZAAR_BIN_DIR          the build's bin directory (set by ctest)
#   BAZAAR_SCREENSHOT_DIR   where to save store.png and cluster.png (default: none saved)
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
: "${BAZAAR_BIN_DIR:?set BAZAAR_BIN_DIR to the bin directory of the build}"
export BAZAAR_BIN_DIR
B="$ROOT/launch/bazaar"
# Debian's interpreter, which has python3-selenium (a pyenv or venv python3 on PATH may not).
PY=/usr/bin/python3
for need in /usr/bin/chromium /usr/bin/chromedriver; do
  [ -x "$need" ] || { echo "FAIL: $need missing: run launch/bazaar deps (chromium, chromium-driver)"; exit 1; }
done
"$PY" -c 'import selenium' 2>/dev/null || { echo "FAIL: python3-selenium missing: run launch/bazaar deps"; exit 1; }

RUN="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-browser-test.XXXXXX")"
DRIVER_PID=""
cleanup() {
  # The driver runs in a process group of its own (setsid): ending the group ends chromedriver
  # and every browser process it started, even if the driver script died half-way.
  if [ -n "$DRIVER_PID" ]; then kill -TERM -- "-$DRIVER_PID" 2>/dev/null; sleep 0.2; kill -KILL -- "-$DRIVER_PID" 2>/dev/null; fi
  "$B" down --run-dir "$RUN" >/dev/null 2>&1
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; "$B" status --run-dir "$RUN" 2>/dev/null; tail -n 20 "$RUN"/*.log 2>/dev/null; exit 1; }

. "$ROOT/launch/ports.sh"
BASE="$(pick_base_port)" || fail "no free ports"
HTTP=$((BASE + 30))
# The ten toys and one item whose name is markup: it must show as text.
cat >"$RUN/catalog.csv" <<'CSV'
name,price,quantity
Tux,25.99,100
Whale,34.99,100
Elephant,29.99,100
Bird,39.99,100
Risk,15.99,100
Sand,19.99,100
Jenga,21.99,100
Uno,35.99,100
Pinball,49.99,100
Clue,9.99,100
<img src=x onerror=alert(1)>,1.00,5
CSV
url="$("$B" up --run-dir "$RUN" --port "$HTTP" --base-port "$BASE" --catalog "$RUN/catalog.csv")" ||
  fail "launch/bazaar up failed"

setsid "$PY" "$ROOT/tests/browser/browser_test.py" --url "$url" --run-dir "$RUN" \
  --launch "$B" --bin-dir "$BAZAAR_BIN_DIR" --profile "$RUN/chromium-profile" ${BAZAAR_SCREENSHOT_DIR:+--screenshots "$BAZAAR_SCREENSHOT_DIR"} &
DRIVER_PID=$!
wait "$DRIVER_PID"
rc=$?
[ $rc -eq 0 ] || fail "browser checks failed (exit $rc)"
echo "PASS: browser checks"
