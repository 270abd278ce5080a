# Throwaway nats-server with JetStream for tests and benchmarks. Source this file, then:
#
#   nats_start   starts a server on free 127.0.0.1 ports with its store in a temp folder and
#                exports NATS_URL=nats://127.0.0.1:PORT, NATS_TMPDIR and NATS_PORT; returns
#                non-zero with the log tail on stderr when it cannot start
#   nats_stop    stops it and removes its folder; safe to call twice and from a trap
#
# Typical use:  source scripts/lib/nats.sh; trap nats_stop EXIT; nats_start
#
# The binary is NATS_SERVER if set, else nats-server from PATH, else /usr/sbin/nats-server.

# Prints the nats-server binary, or nothing.
_nats_binary() {
    if [[ -n "${NATS_SERVER:-}" ]]; then
        printf '%s\n' "$NATS_SERVER"
    elif command -v nats-server >/dev/null 2>&1; then
        command -v nats-server
    elif [[ -x /usr/sbin/nats-server ]]; then
        printf '%s\n' /usr/sbin/nats-server
    fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on right now.
_nats_free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

nats_start() {
    if [[ -n "${NATS_TMPDIR:-}" && -d "${NATS_TMPDIR}" ]]; then
        echo "nats_start: a server is already running in $NATS_TMPDIR" >&2
        return 1
    fi
    local binary dir port monitor attempt started=0
    binary=$(_nats_binary)
    if [[ -z "$binary" || ! -x "$binary" ]]; then
        echo "nats_start: nats-server not found (install nats-server or set NATS_SERVER)" >&2
        return 1
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/m-nats.XXXXXX") || return 1
    mkdir -p "$dir/store"
    export NATS_TMPDIR="$dir"

    # A free port can be taken between the probe and the bind; retry a few times.
    for attempt in 1 2 3 4 5; do
        port=$(_nats_free_port) || break
        monitor=$(_nats_free_port) || break
        : >"$dir/server.log"
        "$binary" -js -a 127.0.0.1 -p "$port" -m "$monitor" -sd "$dir/store" \
            >>"$dir/server.log" 2>&1 &
        echo $! >"$dir/pid"
        # Ready when the log says so (JetStream is up) and the port accepts connections.
        local waited
        for waited in $(seq 1 100); do
            if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
                break
            fi
            if grep -q "Server is ready" "$dir/server.log" &&
                (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                started=1
                break
            fi
            sleep 0.05
        done
        if [[ $started -eq 1 ]]; then
            break
        fi
        kill "$(cat "$dir/pid")" 2>/dev/null || true
        wait "$(cat "$dir/pid")" 2>/dev/null || true
        if ! grep -q "address already in use" "$dir/server.log"; then
            break
        fi
    done
    if [[ $started -ne 1 ]]; then
        echo "nats_start: the server did not start (attempt $attempt); end of its log:" >&2
        tail -n 20 "$dir/server.log" >&2
        nats_stop
        return 1
    fi

    export NATS_PORT="$port"
    export NATS_URL="nats://127.0.0.1:$port"
    echo "nats: test server on 127.0.0.1:$port (store and log in $dir)"
}

nats_stop() {
    local dir="${NATS_TMPDIR:-}"
    if [[ -z "$dir" ]]; then
        return 0
    fi
    if [[ -f "$dir/pid" ]]; then
        local pid i
        pid=$(cat "$dir/pid" 2>/dev/null)
        if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for i in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
            done
            # Last resort: never leave a server behind.
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$dir"
    unset NATS_TMPDIR NATS_PORT NATS_URL
    return 0
}
