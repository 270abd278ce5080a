# Throwaway PostgreSQL server for tests. Source this file, then:
#
#   pg_start   starts a private cluster on a free 127.0.0.1 port and exports
#              M_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:PORT/postgres, PG_TMPDIR and
#              PG_PORT; returns non-zero with the log tail on stderr when it cannot start
#   pg_stop    stops it and removes its directory; safe to call twice and from a trap
#
# Typical use:  source scripts/lib/postgres.sh; trap pg_stop EXIT; pg_start
#
# initdb refuses to run as root, so as root the server runs as the `postgres` user (runuser/su);
# as any other user it runs as that user. Binaries come from PG_BINDIR, else the newest
# /usr/lib/postgresql/*/bin, else PATH. Authentication is `trust` and fsync is off: this is for
# tests only, listening on loopback only.

# Prints the directory holding initdb/pg_ctl/postgres.
_pg_bindir() {
    if [[ -n "${PG_BINDIR:-}" ]]; then
        printf '%s\n' "$PG_BINDIR"
        return
    fi
    local dirs=(/usr/lib/postgresql/*/bin)
    if [[ -x "${dirs[0]:-}/pg_ctl" ]]; then
        printf '%s\n' "${dirs[@]}" | sort -V | tail -n 1
    else
        dirname "$(command -v pg_ctl)"
    fi
}

# Runs a command line (one string, already quoted) as the server's OS user.
_pg_as_owner() {
    if [[ $(id -u) -ne 0 ]]; then
        bash -c "$1"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- bash -c "$1"
    else
        su postgres -s /bin/bash -c "$1"
    fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on right now.
_pg_free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

pg_start() {
    if [[ -n "${PG_TMPDIR:-}" && -d "${PG_TMPDIR}" ]]; then
        echo "pg_start: a server is already running in $PG_TMPDIR" >&2
        return 1
    fi
    local bindir port dir
    bindir=$(_pg_bindir)
    if [[ ! -x "$bindir/initdb" || ! -x "$bindir/pg_ctl" ]]; then
        echo "pg_start: initdb/pg_ctl not found (install postgresql or set PG_BINDIR)" >&2
        return 1
    fi
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        echo "pg_start: running as root needs the 'postgres' user (initdb refuses root)" >&2
        return 1
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/m-pg.XXXXXX") || return 1
    # mktemp makes it 0700; the server user must be able to reach it (and nobody else needs to).
    chmod 0755 "$dir"
    mkdir -p "$dir/data" "$dir/sock"
    : >"$dir/server.log"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$dir/data" "$dir/sock" "$dir/server.log"
    fi
    export PG_TMPDIR="$dir"

    if ! _pg_as_owner "'$bindir/initdb' -D '$dir/data' -U postgres -A trust --no-sync \
            -E UTF8 --locale=C.UTF-8" >"$dir/initdb.log" 2>&1; then
        echo "pg_start: initdb failed:" >&2
        tail -n 20 "$dir/initdb.log" >&2
        pg_stop
        return 1
    fi

    # A free port can be taken between the probe and the bind; retry a few times.
    local attempt started=0
    for attempt in 1 2 3 4 5; do
        port=$(_pg_free_port) || break
        : >"$dir/server.log"
        if _pg_as_owner "'$bindir/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 30 \
                -o \"-p $port -k '$dir/sock' -c listen_addresses=127.0.0.1 -c fsync=off\" \
                start" >"$dir/pg_ctl.log" 2>&1; then
            started=1
            break
        fi
        if ! grep -q "could not bind" "$dir/server.log"; then
            break
        fi
    done
    if [[ $started -ne 1 ]]; then
        echo "pg_start: the server did not start (attempt $attempt); end of its log:" >&2
        tail -n 20 "$dir/pg_ctl.log" "$dir/server.log" >&2
        pg_stop
        return 1
    fi

    export PG_PORT="$port"
    export M_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres"
    echo "postgres: test server on 127.0.0.1:$port (data and log in $dir)"
}

pg_stop() {
    local dir="${PG_TMPDIR:-}"
    if [[ -z "$dir" ]]; then
        return 0
    fi
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        local bindir
        bindir=$(_pg_bindir)
        if ! _pg_as_owner "'$bindir/pg_ctl' -D '$dir/data' -m fast -w -t 30 stop" \
                >/dev/null 2>&1; then
            # Last resort: never leave a server behind. The PID is the first line of the file.
            local pid
            pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
            if [[ "$pid" =~ ^[0-9]+$ ]]; then
                kill -QUIT "$pid" 2>/dev/null
            fi
        fi
    fi
    rm -rf "$dir"
    unset PG_TMPDIR PG_PORT M_TEST_POSTGRES_URL
    return 0
}
