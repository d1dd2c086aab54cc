#!/usr/bin/env bash
# launch/fuzz.sh [--seconds S] [--target NAME]... : builds the libFuzzer targets of tests/fuzz with
# clang (ASan + UBSan) in build-fuzz/ and runs each for S seconds (default 60). Fails on any
# crash, leak, timeout or sanitizer report; the reproducer is left in build-fuzz/artifacts/NAME/.
# Installs clang and libclang-rt-14-dev (libFuzzer) with apt-get when they are missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${BAZAAR_FUZZ_DIR:-$ROOT/build-fuzz}"
TARGETS_ALL=(http_request proto_decode catalog_csv)
FUZZ_PACKAGES=(clang libclang-rt-14-dev)

die() { echo "fuzz: $*" >&2; exit 1; }
say() { echo "fuzz: $*" >&2; }

seconds=60 targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || die "--seconds needs a value"; seconds="$2"; shift 2 ;;
    --target) [ $# -ge 2 ] || die "--target needs a value"; targets+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "--seconds takes a positive integer, not '$seconds'"
[ ${#targets[@]} -gt 0 ] || targets=("${TARGETS_ALL[@]}")

# ---- tools --------------------------------------------------------------------------------------
bash "$ROOT/launch/bazaar" deps >/dev/null
missing=()
for p in "${FUZZ_PACKAGES[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
fi

# ---- build --------------------------------------------------------------------------------------
gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
if [ ! -f "$DIR/CMakeCache.txt" ]; then
  CXX=clang++ cmake -S "$ROOT" -B "$DIR" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBAZAAR_FUZZ=ON -DBAZAAR_SANITIZE=address,undefined -DBUILD_TESTING=OFF >/dev/null ||
    die "cmake configure failed"
fi
build_targets=()
for t in "${targets[@]}"; do
  [ -f "$ROOT/tests/fuzz/fuzz_$t.cpp" ] || die "no fuzz target '$t' (have: ${TARGETS_ALL[*]})"
  build_targets+=("bazaar-fuzz-$t")
done
start=$(date +%s)
cmake --build "$DIR" -j "$(nproc)" --target "${build_targets[@]}" || die "build failed"
say "built ${#build_targets[@]} targets in $(($(date +%s) - start)) s"

# ---- run ----------------------------------------------------------------------------------------
# Each run reads the checked-in seeds and grows its own corpus under build-fuzz (new inputs are
# kept between runs, never written into the source tree). Findings stop the run with a non-zero
# exit; -timeout makes a hang one.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
summary="$DIR/fuzz-summary.txt"
: >"$summary"
failed=()
for t in "${targets[@]}"; do
  work="$DIR/corpus/$t" art="$DIR/artifacts/$t" log="$DIR/logs/$t.log"
  mkdir -p "$work" "$art" "$(dirname "$log")"
  say "$t: ${seconds} s"
  rc=0
  "$DIR/bin/bazaar-fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$art/" "$work" "$ROOT/tests/fuzz/corpus/$t" \
    >"$log" 2>&1 || rc=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  corpus="$(find "$work" -type f | wc -l)"
  if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
    result=ok
  else
    result="FAILED (exit $rc; see $log and $art/)"
    failed+=("$t")
    grep -E 'ERROR:|runtime error:|SUMMARY:|Test unit written' "$log" | head -n 10 >&2 || true
  fi
  line="$t seconds=$seconds execs=${execs:-?} cov=${cov:-?} corpus=$corpus result=$result"
  echo "$line" | tee -a "$summary"
done
[ ${#failed[@]} -eq 0 ] || die "findings in: ${failed[*]}"
say "all ${#targets[@]} targets ran ${seconds} s each without findings (summary: $summary)"
