#!/usr/bin/env bash
# Documents saved per second through the full lifecycle (declarative validation + a C++
# controller + child rows), on SQLite and PostgreSQL; one writer, then 8 concurrent writers on a
# series-named DocType (issue 3: concurrent inserts must not serialise on the series counter).
# Prints figures only. Usage: bench/lifecycle.sh [path/to/m]
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

proj="$work/life"
"$m" new project "$proj" >/dev/null
cd "$proj"
"$m" new app bench >/dev/null
"$m" new doctype "Order Line" --app bench --child-table --field item:data --field qty:int --field rate:decimal --field amount:decimal >/dev/null
"$m" new doctype "Sales Order" --app bench --naming 'series:SO-.YYYY.-.######' \
  --field customer:data --field 'lines:table:Order Line' --field total:decimal >/dev/null
cat > apps/bench/doctypes/sales_order/controller.cpp <<'CPP'
#include <m/app.hpp>
namespace {
class SalesOrder : public m::Controller {
    void validate(m::Json& doc, m::HookContext&) override {
        if (doc["lines"].empty()) throw m::Error(m::ErrorKind::validation, "no lines");
    }
    void before_save(m::Json& doc, m::HookContext&) override {
        double total = 0;
        for (auto& l : doc["lines"]) {
            l["amount"] = l["qty"].get<double>() * l["rate"].get<double>();
            total += l["amount"].get<double>();
        }
        doc["total"] = total;
    }
};
} // namespace
M_CONTROLLER(sales_order, "Sales Order", SalesOrder)
CPP
"$m" build >/dev/null

rows="$work/orders.jsonl"
for i in $(seq 1 500); do
  printf '{"customer":"C%d","lines":[{"item":"A","qty":%d,"rate":1.5},{"item":"B","qty":1,"rate":2}]}\n' "$i" "$i"
done > "$rows"

run() { # label writers env...
  local label=$1 writers=$2; shift 2
  env "$@" "$m" migrate >/dev/null
  local t0 t1; t0=$(now_ns)
  for ((w = 0; w < writers; w++)); do env "$@" "$m" doc insert "Sales Order" < "$rows" >/dev/null & done
  wait
  t1=$(now_ns)
  local n=$((writers * 500))
  printf '%-44s %6d docs in %7.1f ms  = %7.0f docs/s\n' "$label" "$n" \
    "$(echo "($t1 - $t0) / 1000000" | bc -l)" "$(echo "$n * 1000000000 / ($t1 - $t0)" | bc -l)"
}
pgdb() { psql "$M_TEST_POSTGRES_URL" -qc "CREATE DATABASE $1" >/dev/null; echo "${M_TEST_POSTGRES_URL%/*}/$1"; }

echo "full lifecycle (validation + C++ controller + 2 child rows per document), 500 per writer"
run "SQLite, 1 writer" 1 M_DUMMY=1
run "SQLite, 8 writers (serialised by SQLite)" 8 M_DUMMY=1
run "PostgreSQL, 1 writer" 1 DATABASE_URL="$(pgdb life1)"
run "PostgreSQL, 8 writers (series counter off-tx)" 8 DATABASE_URL="$(pgdb life8)"
names=$(DATABASE_URL="${M_TEST_POSTGRES_URL%/*}/life8" "$m" doc list "Sales Order" --limit 100000 --fields name --json |
  python3 -c 'import json,sys; n=[i["name"] for i in json.load(sys.stdin)["items"]]; print(len(n), len(set(n)))')
echo "PostgreSQL 8 writers: documents, distinct names = $names"
