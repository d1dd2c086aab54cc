#!/usr/bin/env bash
# deploy/ (issue 18, item 4): the systemd units pass `systemd-analyze verify` with no warning
# (an unknown key or a bad value is only a warning there, so any output fails) and score at most
# 2.0 in `systemd-analyze security`; every variable a unit's ExecStart uses is defined by the
# files that unit reads on each example host, and the host's replica is where the cluster file
# says; the example HAProxy and Prometheus files pass their own checks.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
: "${BAZAAR_BIN_DIR:?set BAZAAR_BIN_DIR to the bin directory of the build}"
D="$ROOT/deploy"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-deploy-test.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (launch/bazaar deps installs systemd)"

# The units as installed, but with the binaries of this build (verify checks ExecStart exists).
for f in "$D"/systemd/*.service; do
  sed "s|/usr/local/bin/|$BAZAAR_BIN_DIR/|g" "$f" >"$TMP/$(basename "$f")"
done
units=(bazaar-broker.service bazaar-catalog.service bazaar-order@1.service bazaar-frontend@1.service)
for u in "${units[@]}"; do
  out="$(cd "$TMP" && systemd-analyze verify "./$u" 2>&1)" || fail "verify $u: $out"
  [ -z "$out" ] || fail "verify $u warns: $out"
  score="$(cd "$TMP" && systemd-analyze security --offline=true "./$u" 2>&1 |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')"
  [ -n "$score" ] || fail "no security score for $u"
  awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "$u: exposure $score > 2.0"
  echo "ok: $u verifies, exposure $score"
done
# A broken unit must fail this check (the check can fail).
sed 's/^ProtectSystem=strict/ProtectSystm=strict/' "$TMP/bazaar-broker.service" >"$TMP/broken.service"
[ -n "$(cd "$TMP" && systemd-analyze verify ./broken.service 2>&1)" ] || fail "verify does not notice an unknown key"

# Every ${VAR} of a unit's ExecStart is set by cluster.env and the unit's own files on the host.
for host in "$D"/hosts/*/; do
  h="$(basename "$host")"
  n=0
  while read -r u; do
    [ -z "$u" ] || [[ "$u" == \#* ]] && continue
    n=$((n + 1))
    inst="" tmpl="$u"
    if [[ "$u" == *@* ]]; then inst="${u#*@}" inst="${inst%.service}" tmpl="${u%%@*}@.service"; fi
    [ -f "$D/systemd/$tmpl" ] || fail "$h: unit $u has no file deploy/systemd/$tmpl"
    env=()
    while read -r f; do
      f="${f//%i/$inst}"
      local_file="$host/$(basename "$f")"
      [ "$(basename "$f")" = cluster.env ] && local_file="$D/cluster.env"
      [ -f "$local_file" ] || fail "$h: $u reads $f, which the example does not have"
      env+=("$local_file")
    done < <(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$D/systemd/$tmpl")
    for v in $(grep '^ExecStart=' "$D/systemd/$tmpl" | grep -o '\${[A-Z_]*}' | tr -d '${}' | sort -u); do
      grep -qh "^$v=." "${env[@]}" || fail "$h: $u uses \${$v}, which none of ${env[*]##*/} sets"
    done
    if [[ "$u" == bazaar-order@* ]]; then
      mine="$(sed -n 's/^ORDER_ENDPOINT=//p' "$host/order-$inst.env")"
      listed="$(sed -n 's/^ORDER_ENDPOINTS=//p' "$D/cluster.env" | cut -d, -f"$inst")"
      [ "$mine" = "$listed" ] || fail "$h: replica $inst at $mine, but cluster.env lists $listed"
    fi
  done <"$host/units"
  [ $n -gt 0 ] || fail "$h enables no unit"
  echo "ok: $h: $n units, every variable set"
done

if command -v haproxy >/dev/null; then
  haproxy -c -q -f "$D/haproxy/haproxy.cfg" || fail "deploy/haproxy/haproxy.cfg rejected"
  echo "ok: haproxy.cfg valid"
fi
if command -v promtool >/dev/null; then
  promtool check config "$D/prometheus/prometheus.yml" >/dev/null || fail "deploy/prometheus/prometheus.yml rejected"
  echo "ok: prometheus.yml valid"
fi
echo "1 passed, 0 failed"
