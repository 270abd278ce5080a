#!/usr/bin/env bash
# HTTP figures of `m serve` on PostgreSQL (issue 4), measured with wrk next to pgbench as the
# database ceiling: GET by name, list of 20 (count=none and count=exact) and POST insert through a
# C++ controller, each with 64 connections; p99 latency, errors and the idle RSS of the server.
# Prints figures, goals and ratios; never fails on a slow figure. Takes about 2-3 minutes.
# Usage: bench/http.sh [path/to/m]   (default: build/release/cli/m, built if missing)
# Environment: M_BENCH_SECONDS (10) per wrk/pgbench run, M_BENCH_ROWS (10000) customers.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

secs="${M_BENCH_SECONDS:-10}"
export M_BENCH_ROWS="${M_BENCH_ROWS:-10000}"
conns=64
here="$PWD/bench/http"
pgbench="$(_pg_bindir)/pgbench"
[ -x "$pgbench" ] || pgbench="$(command -v pgbench)"
command -v wrk >/dev/null || { echo "bench/http.sh: wrk is not installed (scripts/setup.sh installs it)" >&2; exit 1; }

# Goals (issue 4, 2 cores) and the FastAPI + asyncpg stand-in (2 workers) for scale.
goal_get_share=0.50 goal_post=5000 goal_list_none=5000 goal_list_exact_share=0.80
goal_p99_ms=20 goal_rss_mb=30
py_get=4500 py_post=3300 py_list=1000 py_rss_mb=116

line() { printf '%-58s %s\n' "$1" "$2"; }
calc() { echo "scale=6; $1" | bc; }
round() { printf "%.${2:-0}f" "$1"; }
createdb_url() { # a fresh database on the bench server
  PGOPTIONS="-c client_min_messages=warning" psql "$M_TEST_POSTGRES_URL" -q \
    -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
  echo "${M_TEST_POSTGRES_URL%/*}/$1"
}

echo "m HTTP benchmarks ($("$m" --version), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'))"
echo "wrk -t2 -c$conns -d${secs}s; pgbench -j2 -T$secs; $M_BENCH_ROWS customers; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# --- The project: examples/demo (billing: Customer, Invoice with a C++ controller) on PostgreSQL.
proj="$work/http"
cp -r examples/demo "$proj"
rm -rf "$proj/.m" "$proj/.env"
printf 'M_SECRET_KEY=%s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '/+=')" > "$proj/.env"
DATABASE_URL="$(createdb_url m_http)"
export M_PROJECT="$proj" DATABASE_URL
t0=$(now_ns)
"$m" build >/dev/null
"$m" migrate >/dev/null
printf 'bench-password-1' | "$m" user create bench@test --role Admin --password-stdin > "$work/user.log" 2>&1 ||
  { cat "$work/user.log" >&2; exit 1; }
awk -v n="$M_BENCH_ROWS" 'BEGIN { for (i = 1; i <= n; i++)
  printf "{\"customer_name\":\"Customer %05d\",\"email\":\"c%d@bench.test\",\"credit_limit\":%d,"\
    "\"since\":\"2024-01-01\"}\n", i, i, i % 5000 }' > "$work/customers.jsonl"
"$m" doc insert Customer < "$work/customers.jsonl" >/dev/null
psql "$DATABASE_URL" -qc "VACUUM ANALYZE" >/dev/null
line "set-up (m build, migrate, $M_BENCH_ROWS customers)" "$(calc "($(now_ns) - $t0) / 1000000000" | xargs printf '%.1f') s"

# --- pgbench: the database ceiling.
tps() { awk '/^tps = / { print $3; exit }' "$1"; }
pgrun() { # label out-file pgbench-args...
  local label=$1 out=$2; shift 2
  "$pgbench" -n -j 2 -T "$secs" "$@" > "$out" 2>&1 || true
  local t; t=$(tps "$out")
  if [ -z "$t" ]; then line "$label" "FAILED: $(tail -n 1 "$out")"; t=0; else line "$label" "$(round "$t") tps"; fi
  echo "$t" > "$out.tps"
}
pgb_url="$(createdb_url m_pgbench)"
"$pgbench" -i -q -s 10 "$pgb_url" > "$work/pgbench-init.log" 2>&1
pgrun "pgbench -S -M prepared, 8 clients" "$work/pg-s8" -S -M prepared -c 8 "$pgb_url"
pgrun "pgbench -S -M prepared, 64 clients" "$work/pg-s64" -S -M prepared -c 64 "$pgb_url"
pgrun "pgbench list pair (SELECT 20 + COUNT), 8 clients" "$work/pg-l8" -M prepared -f "$here/list_pair.sql" -c 8 "$DATABASE_URL"
pgrun "pgbench list pair (SELECT 20 + COUNT), 64 clients" "$work/pg-l64" -M prepared -f "$here/list_pair.sql" -c 64 "$DATABASE_URL"
max() { if (( $(echo "$1 >= $2" | bc) )); then echo "$1"; else echo "$2"; fi; }
pg_select=$(max "$(cat "$work/pg-s8.tps")" "$(cat "$work/pg-s64.tps")")
pg_pair=$(max "$(cat "$work/pg-l8.tps")" "$(cat "$work/pg-l64.tps")")

# --- m serve.
bench_serve "$proj" # sets pid, port, base and token
auth="Authorization: Bearer $token"

# One request of each kind, checked, before any load (also what the idle RSS includes).
checks_failed=0
check() { # label expected-status python-check curl-args...
  local label=$1 want=$2 test=$3; shift 3
  local code
  code=$(curl -s -o "$work/check.json" -w '%{http_code}' -H "$auth" "$@" || true)
  if [ "$code" != "$want" ] || ! python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert $test, d" \
      "$work/check.json" 2>/dev/null; then
    line "check $label" "FAILED (HTTP $code): $(head -c 300 "$work/check.json")"
    checks_failed=$((checks_failed + 1))
  fi
}
check "GET by name" 200 'd["name"] == "CUST-00042"' "$base/api/v1/Customer/CUST-00042"
check "list count=none" 200 'len(d["items"]) == 20' "$base/api/v1/Customer?limit=20&count=none"
check "list count=exact" 200 "len(d['items']) == 20 and d['total'] == $M_BENCH_ROWS" "$base/api/v1/Customer?limit=20&count=exact"
check "POST Invoice" 201 'float(d["total"]) == 25.5 and float(d["items"][0]["amount"]) == 20' \
  -H 'Content-Type: application/json' --data-binary "@examples/demo/sample/invoice.json" "$base/api/v1/Invoice"
sleep 1
rss_kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
idle_rss_mb=$(calc "$(rss_kb "$pid" VmRSS) / 1024")
line "m serve idle RSS (after start-up and 4 requests)" "$(round "$idle_rss_mb" 1) MB"

# --- wrk. Figures per run: req/s, p50, p99 (ms), errors (non-2xx/3xx + socket errors).
to_ms() { # wrk duration (1.23us, 4.56ms, 1.2s, 1.0m) -> ms
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; print n }'
}
hz=$(getconf CLK_TCK)
cpu_snap() { # clock ticks: machine user+system, m serve, postgres processes, children of this shell (wrk)
  times > "$work/times"
  local kids
  kids=$(awk -v hz="$hz" 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/)
    printf "%.0f", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * hz }' "$work/times")
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pid="$pid" -v kids="$kids" \
    -v busy="$(awk '$1 == "cpu" { print $2 + $3 + $4; exit }' /proc/stat)" \
    '$1 == pid { m += $14 + $15 } $2 == "(postgres)" { pg += $14 + $15 } END { print busy, m + 0, pg + 0, kids }'
}
wrk_run() { # key label wrk-args... (the URL last)
  local key=$1 label=$2; shift 2
  local out="$work/wrk-$key" c0 c1 t0 t1
  cpu_snap > "$out.cpu0"; t0=$(now_ns) # not in $(...): `times` must run in this shell
  wrk -t2 -c"$conns" -d"${secs}s" --latency -H "$auth" "$@" > "$out" 2>&1 || true
  t1=$(now_ns); cpu_snap > "$out.cpu1"
  c0=$(cat "$out.cpu0"); c1=$(cat "$out.cpu1")
  local rps p50 p99 non2xx sock
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  sock=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")
  if [ -z "$rps" ]; then
    line "$label" "FAILED: $(tail -n 2 "$out" | tr '\n' ' ')"
    rps=0 p99=0 non2xx=1
  fi
  local errors=$((${non2xx:-0} + ${sock:-0}))
  line "$label" "$(printf '%6.0f req/s   p50 %6.2f ms   p99 %6.2f ms   errors %s' "$rps" "$p50" "$p99" "$errors")"
  # Where the CPU went: per request in m and in PostgreSQL; wrk's and everything else's share of
  # the machine (other processes make the figures of a shared machine noisy).
  local n; n=$(awk '/ requests in / { print $1 }' "$out")
  # shellcheck disable=SC2086
  set -- $c0 $c1
  if [ -n "$n" ] && [ "$n" -gt 0 ]; then
    awk -v n="$n" -v hz="$hz" -v cores="$(nproc)" -v secs="$(calc "($t1 - $t0) / 1000000000")" \
        -v b="$(($5 - $1))" -v m="$(($6 - $2))" -v pg="$(($7 - $3))" -v w="$(($8 - $4))" 'BEGIN {
      o = b - m - pg - w; if (o < 0) o = 0; all = secs * hz * cores
      printf "    CPU per request: m serve %.0f us, PostgreSQL %.0f us; wrk %.0f %%, other processes %.0f %% of the machine\n",
        m / hz * 1e6 / n, pg / hz * 1e6 / n, 100 * w / all, 100 * o / all }'
  fi
  echo "$rps $p99 $errors" > "$out.fig"
}
wrk -t2 -c"$conns" -d3s -H "$auth" -s "$here/get_by_name.lua" "$base" > /dev/null 2>&1 || true # warm-up
wrk_run get "GET /api/v1/Customer/{name}, $conns conn" -s "$here/get_by_name.lua" "$base"
wrk_run none "GET /api/v1/Customer?limit=20&count=none, $conns conn" "$base/api/v1/Customer?limit=20&count=none"
wrk_run exact "GET /api/v1/Customer?limit=20&count=exact, $conns conn" "$base/api/v1/Customer?limit=20&count=exact"
wrk_run post "POST /api/v1/Invoice (controller, 2 items), $conns conn" -s "$here/post_invoice.lua" "$base/api/v1/Invoice"
loaded_rss_mb=$(calc "$(rss_kb "$pid" VmHWM) / 1024")
line "m serve peak RSS (VmHWM, after the runs)" "$(round "$loaded_rss_mb" 1) MB"
invoices=$(psql "$DATABASE_URL" -tAc 'SELECT COUNT(*) FROM "invoice"')
bad_totals=$(psql "$DATABASE_URL" -tAc 'SELECT COUNT(*) FROM "invoice" WHERE "total" <> 25.5')
line "invoices stored / with a wrong total" "$invoices / $bad_totals"

alive=yes
kill -0 "$pid" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$pid/status" || alive=no
stop_rc=0
bench_stop "$pid" || stop_rc=$?
bench_pids=()
line "m serve alive after the runs / exit status on SIGTERM" "$alive / $stop_rc"
log_lines=$(grep -cv -e 'listening on' -e 'SIGTERM received' -e 'm serve: stopped' "$log" || true)
line "m serve log lines at warn or above" "$log_lines"
if [ "$log_lines" -gt 0 ]; then
  grep -v -e 'listening on' -e 'SIGTERM received' -e 'm serve: stopped' "$log" | sort | uniq -c | sort -rn | head -n 5 |
    cut -c1-200 | sed 's/^/    /'
fi

# --- Goals. ratio = measured / goal: met when >= 1 for throughput, <= 1 for p99, RSS and errors.
read -r get_rps get_p99 get_err < "$work/wrk-get.fig"
read -r none_rps none_p99 none_err < "$work/wrk-none.fig"
read -r exact_rps exact_p99 exact_err < "$work/wrk-exact.fig"
read -r post_rps post_p99 post_err < "$work/wrk-post.fig"
goal() { # name measured goal unit at_least|at_most
  local ratio verdict
  ratio=$(calc "$2 / $3")
  if [ "$5" = at_least ]; then
    verdict=$( (($(echo "$ratio >= 1" | bc))) && echo met || echo MISSED)
  else
    verdict=$( (($(echo "$ratio <= 1" | bc))) && echo met || echo MISSED)
  fi
  printf '%-58s %8s %-5s goal %s %8s   ratio %5.2f  %s\n' "$1" "$(round "$2" 1)" "$4" \
    "$([ "$5" = at_least ] && echo '>=' || echo '<=')" "$(round "$3" 1)" "$ratio" "$verdict"
}
echo
echo "goals (issue 4; ratio = measured / goal)"
goal "GET by name vs 50 % of best pgbench -S ($(round "$pg_select") tps)" "$get_rps" "$(calc "$pg_select * $goal_get_share")" req/s at_least
goal "POST Invoice with the controller" "$post_rps" "$goal_post" req/s at_least
goal "list of 20, count=none" "$none_rps" "$goal_list_none" req/s at_least
goal "list of 20, count=exact vs 80 % of pgbench pair ($(round "$pg_pair") tps)" "$exact_rps" \
  "$(calc "$pg_pair * $goal_list_exact_share")" req/s at_least
worst_p99=$(printf '%s\n' "$get_p99" "$none_p99" "$exact_p99" "$post_p99" | sort -g | tail -n 1)
goal "p99, worst of the 4 runs at $conns connections" "$worst_p99" "$goal_p99_ms" ms at_most
goal "m serve idle RSS" "$idle_rss_mb" "$goal_rss_mb" MB at_most
errors=$((get_err + none_err + exact_err + post_err + checks_failed + log_lines))
[ "$alive" = yes ] || errors=$((errors + 1))
printf '%-58s %8s %-5s goal = %8s   %s\n' "errors (wrk, checks, server log, crash)" "$errors" "" 0 \
  "$([ "$errors" -eq 0 ] && echo met || echo MISSED)"
echo
echo "for scale: FastAPI + asyncpg stand-in, 2 workers (ratio = m / stand-in)"
scale() { printf '%-58s %8s %-5s  vs %5s   ratio %5.2f\n' "$1" "$(round "$2" "$4")" "$3" "$5" "$(calc "$2 / $5")"; }
scale "GET by name" "$get_rps" req/s 0 "$py_get"
scale "POST Invoice" "$post_rps" req/s 0 "$py_post"
scale "list of 20, count=exact" "$exact_rps" req/s 0 "$py_list"
scale "RSS (m idle vs stand-in)" "$idle_rss_mb" MB 1 "$py_rss_mb"
