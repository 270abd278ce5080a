#!/usr/bin/env bash
# Job and event figures (issue 5), measured with build/release/bench/m-jobs-bench against a
# throwaway nats-server (JetStream) and redis-server on loopback:
#   - raw JetStream publish+fetch+ack with nats.c: the ceiling, measured by the same tool, same run
#   - enqueue rate (one by one and batched) and no-op jobs/s end to end with 1 and 4 workers, on
#     NATS (status in Redis) and on the embedded queue (SQLite)
#   - commit → live stream (SSE) latency of a running `m serve`, for changes made by another
#     process: the outbox tailed from the database, and relayed through NATS
# Prints figures, goals and ratios; never fails on a slow figure. Takes about a minute.
# Usage: bench/jobs.sh [path/to/m]   Environment: M_BENCH_JOBS (20000) no-op jobs per run.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=../scripts/lib/nats.sh
source scripts/lib/nats.sh
# shellcheck source=../scripts/lib/redis.sh
source scripts/lib/redis.sh
trap 'bench_cleanup; nats_stop; redis_stop' EXIT

tool="$(dirname "$m")/../bench/m-jobs-bench"
[ -x "$tool" ] || { echo "bench/jobs.sh: $tool is missing (scripts/build.sh Release builds it)" >&2; exit 1; }
jobs="${M_BENCH_JOBS:-20000}"
goal_jobs=10000 goal_share=0.50 goal_p99_ms=50

nats_start >/dev/null
redis_start >/dev/null
echo "m job benchmarks ($("$m" --version), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')); $jobs no-op jobs per run"
out="$work/queue.txt"
"$tool" queue --work "$work" --nats "$NATS_URL" --redis "$REDIS_URL" --jobs "$jobs" | tee "$out"

figure() { grep -F "$1" "$out" | awk '{ for (i = NF; i > 0; i--) if ($i ~ /^[0-9]+$/) { print $i; exit } }'; }
ceiling=$(figure "raw JetStream")
nats4=$(figure "NATS + status in Redis: no-op jobs end to end, 4 workers")
nats1=$(figure "NATS + status in Redis: no-op jobs end to end, 1 worker ")
ratio() { echo "scale=2; $1 / $2" | bc; }
verdict() { # value goal at_least|at_most
  if [ "$3" = at_least ]; then (($(echo "$1 >= $2" | bc))) && echo met || echo missed
  else (($(echo "$1 <= $2" | bc))) && echo met || echo missed; fi
}
share=$(ratio "$nats4" "$ceiling")
printf '%-58s %10s   goal >= %6s   %s\n' "NATS end to end, 4 workers (jobs/s)" "$nats4" "$goal_jobs" "$(verdict "$nats4" "$goal_jobs" at_least)"
printf '%-58s %10s   goal >= %6s   %s\n' "NATS end to end, 4 workers / raw JetStream ceiling" "$share" "$goal_share" "$(verdict "$share" "$goal_share" at_least)"
printf '%-58s %10s\n' "NATS end to end, 1 worker / raw JetStream ceiling" "$(ratio "$nats1" "$ceiling")"

# --- commit → SSE: a running m serve on the demo (SQLite), changes written by another process.
events() { # label, extra env for m serve
  local label=$1; shift
  local proj="$work/events-$label" log port token
  cp -r examples/demo "$proj"
  rm -rf "$proj/.m" "$proj/.env"
  printf 'M_SECRET_KEY=%s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '/+=')" > "$proj/.env"
  (cd "$proj" && unset NATS_URL REDIS_URL && "$m" build >/dev/null && "$m" migrate >/dev/null &&
    printf 'bench-password-1' | "$m" user create bench@test --role Admin --password-stdin >/dev/null 2>&1)
  log="$proj/serve.log"
  (cd "$proj" && exec env -u NATS_URL -u REDIS_URL "$@" M_LOG_LEVEL=warn "$m" serve --port 0 > /dev/null 2> "$log") &
  bench_pids+=($!)
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "m serve did not start:" >&2; cat "$log" >&2; exit 1; }
  token=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"email":"bench@test","password":"bench-password-1"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  local res p99
  res=$("$tool" events --project "$proj" --url "http://127.0.0.1:$port" --token "$token" --count 200)
  p99=$(sed -n 's/^EVENT_P99_MS //p' <<< "$res")
  printf '%-58s %10s   goal <= %6s   %s\n' "commit → SSE p99 ms, $label" "$p99" "$goal_p99_ms" "$(verdict "$p99" "$goal_p99_ms" at_most)"
  grep '^events:' <<< "$res" | sed 's/^/    /'
}
events "outbox tail (no broker)" M_NONE=1
events "through NATS" NATS_URL="$NATS_URL"
