# Shared set-up of the benchmark scripts (sourced): resolves the `m` binary (argument or
# build/release/cli/m, built if missing) into $m, makes a temp folder $work, starts a throwaway
# PostgreSQL (M_TEST_POSTGRES_URL) and removes both on exit, after stopping the processes listed in
# $bench_pids.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
m="${1:-build/release/cli/m}"
[ -x "$m" ] || scripts/build.sh Release >/dev/null
m="$(cd "$(dirname "$m")" && pwd)/$(basename "$m")"

work="$(mktemp -d)"
# shellcheck source=../scripts/lib/postgres.sh
source scripts/lib/postgres.sh
bench_pids=() # background processes a script started (servers): stopped on exit, before PostgreSQL
bench_stop() { # pid: SIGTERM, SIGKILL after 10 s; returns the process's exit status
  local i rc=0
  if kill "$1" 2>/dev/null; then
    for ((i = 0; i < 100; i++)); do
      grep -qs '^State:[[:space:]]*[^Z]' "/proc/$1/status" || break
      sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
  fi
  wait "$1" 2>/dev/null || rc=$?
  return $rc
}
bench_cleanup() {
  local p
  for p in "${bench_pids[@]}"; do bench_stop "$p" || true; done
  pg_stop
  rm -rf "$work"
}
trap bench_cleanup EXIT
pg_start >/dev/null
now_ns() { date +%s%N; }

# bench_serve PROJECT: starts `m serve` (8 threads, any free port) in PROJECT, waits for it to
# listen and logs in as bench@test (password bench-password-1). Sets pid, port, base, token and
# log; the server is stopped on exit.
bench_serve() {
  log="$work/serve.log"
  (cd "$1" && M_LOG_LEVEL=warn exec "$m" serve --port 0 --threads 8 > /dev/null 2> "$log") &
  pid=$!
  bench_pids+=("$pid")
  port=""
  local i
  for ((i = 0; i < 300; i++)); do
    port=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then echo "m serve did not start; its log:" >&2; cat "$log" >&2; exit 1; fi
  base="http://127.0.0.1:$port"
  token=$(curl -sf "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"email":"bench@test","password":"bench-password-1"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}
