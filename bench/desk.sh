#!/usr/bin/env bash
# Desk figures (issue 6): the production bundle of the monolith build (initial JS, gzip) and the
# time until the list view is interactive in headless Chromium with 10,000 rows in the table.
#   - initial JS = the entry script of index.html + its modulepreload links (what the browser must
#     fetch before the first render), each `gzip -6`; also every JS file of the build together
#   - list view: a real `m serve` on the demo (SQLite) with 10,000 customers; a logged-in page
#     opens /desk/app/Customer; from navigation start until the first row and the total are shown
#     and a click on the next page has shown page 2 (interactive). Cold (new context) and warm.
# Prints figures, goals and ratios; never fails on a slow figure. Takes about a minute.
# Usage: bench/desk.sh [path/to/m]   Environment: M_BENCH_ROWS (10000), M_BENCH_RUNS (5).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
rows="${M_BENCH_ROWS:-10000}"
runs="${M_BENCH_RUNS:-5}"
goal_kb=400 goal_ms=1000

scripts/desk.sh >/dev/null
echo "m Desk benchmarks ($("$m" --version), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'))"

# --- the demo project with its plugin, 10,000 customers
proj="$work/demo"
cp -r examples/demo "$proj"
rm -rf "$proj/.m" "$proj/.env"
printf 'M_SECRET_KEY=%s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '/+=')" > "$proj/.env"
python3 - "$rows" > "$work/customers.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"customer_name": f"Customer {i:05d}", "email": f"c{i}@bench.test",
                      "credit_limit": (i * 37) % 10000, "status": ["Active", "On Hold", "Closed"][i % 3]}))
PY
(cd "$proj" && "$m" build > /dev/null && "$m" migrate > /dev/null &&
  "$m" doc insert Customer < "$work/customers.jsonl" > /dev/null &&
  printf 'bench-password-1' | "$m" user create bench@test --role Admin --role "Sales User" --password-stdin > /dev/null 2>&1)

# --- bundle: the project's Desk (monolith, with the demo's plugin)
dist="$proj/.m/desk"
node bench/desk/bundle.mjs "$dist" | tee "$work/bundle.txt"

# --- list view
log="$proj/serve.log"
(cd "$proj" && exec env M_LOG_LEVEL=warn "$m" serve --port 0 > /dev/null 2> "$log") &
bench_pids+=($!)
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\).*/\1/p' "$log" | head -n 1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "bench/desk.sh: m serve did not start: $(cat "$log")" >&2; exit 1; }
node bench/desk/list.mjs "http://127.0.0.1:$port" bench@test bench-password-1 "$runs" "$rows" | tee "$work/list.txt"

initial=$(awk '/^initial JS/ { print $(NF-1) }' "$work/bundle.txt")
cold=$(awk '/list view interactive, cold/ { print $(NF-1) }' "$work/list.txt")
ratio() { echo "scale=2; $1 / $2" | bc; }
verdict() { (($(echo "$1 <= $2" | bc))) && echo met || echo missed; }
echo
printf '%-52s %8s   goal <= %5s   ratio %s   %s\n' "initial JS, gzip (KB)" "$initial" "$goal_kb" "$(ratio "$initial" "$goal_kb")" "$(verdict "$initial" "$goal_kb")"
printf '%-52s %8s   goal <= %5s   ratio %s   %s\n' "list view interactive, $rows rows, cold median (ms)" "$cold" "$goal_ms" "$(ratio "$cold" "$goal_ms")" "$(verdict "$cold" "$goal_ms")"
