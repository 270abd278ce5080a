#!/usr/bin/env bash
# GET by id of `m serve` while it is under a slow-client attack (issue 13): 1,000 slow-loris
# sockets (a header byte every ~2 s, reconnecting whenever the server answers 408) plus 1,000 idle
# keep-alive sockets (reconnecting after each keep-alive timeout), next to the same wrk run
# without the attack. Goal: p99 < 50 ms under attack. Prints figures and the verdict; never
# fails on a slow figure. Takes about a minute.
# Usage: bench/hostile.sh [path/to/m]   (default: build/release/cli/m, built if missing)
# Environment: M_BENCH_SECONDS (10) per wrk run, M_BENCH_SLOW (1000), M_BENCH_IDLE (1000).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

secs="${M_BENCH_SECONDS:-10}"
slow="${M_BENCH_SLOW:-1000}"
idle="${M_BENCH_IDLE:-1000}"
export M_BENCH_ROWS=1000
goal_p99_ms=50
command -v wrk >/dev/null || { echo "bench/hostile.sh: wrk is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" # the attack client holds ~2,000 sockets

line() { printf '%-58s %s\n' "$1" "$2"; }
echo "m under a slow-client attack ($("$m" --version), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'))"

proj="$work/hostile"
cp -r examples/demo "$proj"
rm -rf "$proj/.m" "$proj/.env"
(umask 077 && printf 'M_SECRET_KEY=%s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '/+=')" > "$proj/.env")
PGOPTIONS="-c client_min_messages=warning" psql "$M_TEST_POSTGRES_URL" -q \
  -c "DROP DATABASE IF EXISTS m_hostile" -c "CREATE DATABASE m_hostile" >/dev/null
export M_PROJECT="$proj" DATABASE_URL="${M_TEST_POSTGRES_URL%/*}/m_hostile"
"$m" build >/dev/null
"$m" migrate >/dev/null
printf 'bench-password-1' | "$m" user create bench@test --role Admin --password-stdin > "$work/user.log" 2>&1 ||
  { cat "$work/user.log" >&2; exit 1; }
awk -v n="$M_BENCH_ROWS" 'BEGIN { for (i = 1; i <= n; i++)
  printf "{\"customer_name\":\"Customer %05d\",\"email\":\"c%d@bench.test\"}\n", i, i }' |
  "$m" doc insert Customer >/dev/null

bench_serve "$proj" # sets pid, port, base and token

run_wrk() { # label -> prints req/s, p99, errors
  local out="$work/wrk.$1.txt"
  wrk -t2 -c16 -d"${secs}s" --latency -H "Authorization: Bearer $token" \
    -s bench/http/get_by_name.lua "$base" > "$out" 2>&1 || true
  local rps p99 errors
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
    printf "%.2f", v }' "$out")
  errors=$(awk '/Non-2xx|Socket errors/ { print }' "$out" | tr '\n' ' ')
  line "GET by id, wrk -c16, $1" "${rps:-0} req/s, p99 ${p99:-?} ms ${errors:+($errors)}"
  echo "${p99:-999999}" > "$work/p99.$1"
}

run_wrk "no attack"
status="$work/attack.status"
python3 bench/hostile/attack.py "$port" "$slow" "$idle" "$status" &
attack=$!
bench_pids+=("$attack")
for ((i = 0; i < 100; i++)); do # until the attack holds its sockets (at most 10 s)
  { read -r s d < "$status"; } 2>/dev/null || true
  [ "${s:-0}" -ge $((slow * 9 / 10)) ] && [ "${d:-0}" -ge $((idle * 9 / 10)) ] && break
  sleep 0.1
done
read -r s d < "$status"
line "attack sockets open (slow-loris / idle keep-alive)" "$s / $d"
run_wrk "under attack"
read -r s d < "$status"
line "attack sockets open after the run" "$s / $d"
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status")
rss=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
line "m serve threads / RSS under attack" "$threads / $rss MB"
bench_stop "$attack" || true
p99=$(cat "$work/p99.under attack")
if awk -v p="$p99" -v g="$goal_p99_ms" 'BEGIN { exit !(p < g) }'; then
  line "goal: p99 under attack < $goal_p99_ms ms" "met ($p99 ms)"
else
  line "goal: p99 under attack < $goal_p99_ms ms" "NOT met ($p99 ms)"
fi
