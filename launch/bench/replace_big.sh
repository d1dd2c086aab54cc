#!/usr/bin/env bash
# launch/bench/replace_big.sh N: the time `launch/bazaar replace order-1` takes to bring a
# replica back to a voter when the store holds N committed orders, twice. The three replicas
# start from one synthetic log (a schema-3 file made with sqlite3, migrated at start), so no
# hour of load is needed first. Needs sqlite3 and a build; the cluster stops at the end.
set -eu
N="${1:?usage: replace_big.sh COMMITTED_ORDERS}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
export BAZAAR_BIN_DIR="${BAZAAR_BIN_DIR:-$ROOT/build/bin}"
B="$ROOT/launch/bazaar"
R="$(mktemp -d "${TMPDIR:-/tmp}/bazaar-replace-big.XXXXXX")"
trap '"$B" down --run-dir "$R" >/dev/null 2>&1; rm -rf "$R"' EXIT

sqlite3 "$R/seed.db" <<SQL
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE entries(idx INTEGER PRIMARY KEY, term INTEGER NOT NULL,
  kind INTEGER NOT NULL CHECK(kind IN (0,1)), order_number INTEGER NOT NULL,
  request_id TEXT NOT NULL, name TEXT NOT NULL, side INTEGER NOT NULL CHECK(side IN (0,1)),
  quantity INTEGER NOT NULL);
CREATE INDEX entries_by_order ON entries(order_number) WHERE kind=1;
CREATE INDEX entries_by_request ON entries(request_id) WHERE kind=1;
INSERT INTO entries WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $N)
  SELECT i, 1, CASE WHEN i = 1 THEN 0 ELSE 1 END, i - 2, 'req-' || i, 'GameStart', 1, 1 FROM c;
INSERT INTO meta VALUES ('schema_version', 3), ('term', 1), ('voted_for', 3),
  ('commit_index', $N), ('orders', $N - 1);
SQL
for k in 1 2 3; do cp "$R/seed.db" "$R/order-$k.db"; done
rm -f "$R/seed.db"
# shellcheck source=launch/ports.sh
. "$ROOT/launch/ports.sh"
BASE="$(pick_base_port)"
"$B" up --run-dir "$R" --port $((BASE + 30)) --base-port "$BASE" --catalog stocks >/dev/null
for run in 1 2; do
  t0=$(date +%s%3N)
  "$B" replace --run-dir "$R" order-1 >/dev/null
  echo "$N committed orders, run $run: replace order-1 to a voter in $(($(date +%s%3N) - t0)) ms"
done
