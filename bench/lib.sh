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
