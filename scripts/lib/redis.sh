# shellcheck shell=bash
# Throwaway redis-server for tests and benchmarks. Source this file, then:
#
#   redis_start   starts a server on a free 127.0.0.1 port, without persistence, and exports
#                 REDIS_URL=redis://127.0.0.1:PORT, REDIS_PORT and REDIS_TMPDIR (which holds its
#                 log and pid file); returns non-zero with the log tail on stderr when it cannot
#                 start
#   redis_stop    stops it and removes its directory; safe to call twice and from a trap
#
# Typical use:  source scripts/lib/redis.sh; trap redis_stop EXIT; redis_start
#
# The binary comes from REDIS_SERVER, else PATH. The server listens on loopback only.

# Prints a TCP port on 127.0.0.1 that nothing listens on right now.
_redis_free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# True when the server on port $1 answers PING.
_redis_ping() {
    python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5)
s.sendall(b"PING\r\n")
sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
EOF
}

redis_start() {
    if [[ -n "${REDIS_TMPDIR:-}" && -d "${REDIS_TMPDIR}" ]]; then
        echo "redis_start: a server is already running in $REDIS_TMPDIR" >&2
        return 1
    fi
    local bin="${REDIS_SERVER:-}"
    if [[ -z "$bin" ]]; then
        bin=$(command -v redis-server) || {
            echo "redis_start: redis-server not found (install redis-server or set REDIS_SERVER)" >&2
            return 1
        }
    fi
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/m-redis.XXXXXX") || return 1
    export REDIS_TMPDIR="$dir"

    # A free port can be taken between the probe and the bind; retry a few times.
    local attempt port started=0 _
    for attempt in 1 2 3 4 5; do
        port=$(_redis_free_port) || break
        : >"$dir/redis.log"
        # With --daemonize the command returns once the server forked; it fails only for a
        # bad binary or bad arguments, which no retry fixes.
        if ! "$bin" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
            --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
            >"$dir/start.log" 2>&1; then
            break
        fi
        for _ in $(seq 1 100); do
            if _redis_ping "$port"; then
                started=1
                break
            fi
            sleep 0.05
        done
        if [[ $started -eq 1 ]]; then
            break
        fi
        _redis_kill_pidfile "$dir/redis.pid"
        if ! grep -q "Address already in use" "$dir/redis.log"; then
            break
        fi
    done
    if [[ $started -ne 1 ]]; then
        echo "redis_start: the server did not start (attempt $attempt); end of its log:" >&2
        tail -n 20 "$dir/start.log" "$dir/redis.log" >&2
        redis_stop
        return 1
    fi

    export REDIS_PORT="$port"
    export REDIS_URL="redis://127.0.0.1:$port"
    echo "redis: test server on 127.0.0.1:$port (log in $dir)"
}

# Stops the server whose pid is in file $1 (SIGTERM, then SIGKILL after 5 s).
_redis_kill_pidfile() {
    local pid _
    pid=$(cat "$1" 2>/dev/null)
    if [[ ! "$pid" =~ ^[0-9]+$ ]]; then
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null
    return 0
}

redis_stop() {
    local dir="${REDIS_TMPDIR:-}"
    if [[ -z "$dir" ]]; then
        return 0
    fi
    _redis_kill_pidfile "$dir/redis.pid"
    rm -rf "$dir"
    unset REDIS_TMPDIR REDIS_PORT REDIS_URL
    return 0
}
