#!/usr/bin/env bash
# Performance figures for m (issue 2 goals). Prints measurements and their ratio to the goal;
# never fails on a slow figure (speed is measured here, not asserted in tests).
# Usage: bench/run.sh [path/to/m]   (default: build/release/cli/m, built if missing)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# ms <command...>: wall time of one run in milliseconds (3 decimals)
ms() { local t0 t1; t0=$(now_ns); "$@" >/dev/null; t1=$(now_ns); echo "scale=3; ($t1 - $t0) / 1000000" | bc; }
report() { # name value goal
  printf '%-52s %10s ms   goal %6s ms   ratio %s\n' "$1" "$2" "$3" "$(echo "scale=2; $2 / $3" | bc)"
}
avg_ms() { # runs command...
  local n=$1; shift; local t0 t1
  t0=$(now_ns); for ((i = 0; i < n; i++)); do "$@" >/dev/null; done; t1=$(now_ns)
  echo "scale=3; ($t1 - $t0) / $n / 1000000" | bc
}

echo "m benchmarks ($("$m" --version), $(nproc) cores)"

# Starting any process costs something on this machine; print it so the figure below can be read.
printf '%-52s %10s ms\n' "baseline: /bin/true (mean of 200)" "$(avg_ms 200 /bin/true)"
report "m --version (mean of 200)" "$(avg_ms 200 "$m" --version)" 5

# A project with 50 DocTypes of 12 fields each.
proj="$work/bench50"
"$m" new project "$proj" >/dev/null
"$m" --project "$proj" new app bench >/dev/null
for i in $(seq -w 1 50); do
  mkdir -p "$proj/apps/bench/doctypes/bench_doc_$i"
  cat > "$proj/apps/bench/doctypes/bench_doc_$i/doctype.json" <<JSON
{"name": "Bench Doc $i", "fields": [
  {"name": "title", "type": "data", "required": true}, {"name": "code", "type": "data", "unique": true},
  {"name": "qty", "type": "int"}, {"name": "rate", "type": "decimal"}, {"name": "ratio", "type": "float"},
  {"name": "active", "type": "check"}, {"name": "day", "type": "date"}, {"name": "at", "type": "datetime"},
  {"name": "status", "type": "select", "options": ["Open", "Closed"]}, {"name": "notes", "type": "text"},
  {"name": "meta", "type": "json"}, {"name": "ref", "type": "uuid"}],
 "indexes": [["status", "day"]]}
JSON
done

createdb_url() { # a fresh database on the bench server
  local name="m_bench_$1"
  psql "$M_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
  echo "${M_TEST_POSTGRES_URL%/*}/$name"
}
pg50="$(createdb_url 50)"
report "first migrate, 50 DocTypes, PostgreSQL" "$(ms env DATABASE_URL="$pg50" "$m" --project "$proj" migrate)" 2000
report "no-op migrate, 50 DocTypes, PostgreSQL (mean of 5)" \
  "$(avg_ms 5 env DATABASE_URL="$pg50" "$m" --project "$proj" migrate)" 150
report "first migrate, 50 DocTypes, SQLite" "$(ms "$m" --project "$proj" migrate)" 2000
report "no-op migrate, 50 DocTypes, SQLite (mean of 5)" "$(avg_ms 5 "$m" --project "$proj" migrate)" 150

# 1,000 rows in one `m doc insert` via stdin (JSON lines).
rows="$work/rows.jsonl"
for i in $(seq 1 1000); do
  printf '{"title":"Row %d","code":"C%d","qty":%d,"rate":%d.25,"active":true,"day":"2026-01-01","status":"Open","meta":{"i":%d}}\n' \
    "$i" "$i" "$i" "$i" "$i"
done > "$rows"
ins_sqlite=$(ms sh -c "\"$m\" --project \"$proj\" doc insert 'Bench Doc 01' < \"$rows\"")
ins_pg=$(ms sh -c "DATABASE_URL='$pg50' \"$m\" --project \"$proj\" doc insert 'Bench Doc 01' < \"$rows\"")
printf '%-52s %10s ms   (%s rows/s)\n' "doc insert 1,000 rows via stdin, SQLite" "$ins_sqlite" \
  "$(echo "scale=0; 1000000 / $ins_sqlite" | bc)"
printf '%-52s %10s ms   (%s rows/s)\n' "doc insert 1,000 rows via stdin, PostgreSQL" "$ins_pg" \
  "$(echo "scale=0; 1000000 / $ins_pg" | bc)"
