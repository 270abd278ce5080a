# Shared set-up of the benchmark scripts (sourced): resolves the `m` binary (argument or
# build/release/cli/m, built if missing) into $m, makes a temp folder $work, starts a throwaway
# PostgreSQL (M_TEST_POSTGRES_URL) and removes both on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
m="${1:-build/release/cli/m}"
[ -x "$m" ] || scripts/build.sh Release >/dev/null
m="$(cd "$(dirname "$m")" && pwd)/$(basename "$m")"

work="$(mktemp -d)"
# shellcheck source=../scripts/lib/postgres.sh
source scripts/lib/postgres.sh
bench_cleanup() { pg_stop; rm -rf "$work"; }
trap bench_cleanup EXIT
pg_start >/dev/null
now_ns() { date +%s%N; }
