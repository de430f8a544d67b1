# Helpers shared by the benchmark scripts (sourced). They use the caller's $bin (the release
# binary), $model and $labels, and the $work directory and $pids array set by start_work.

say() { echo "== $*" >&2; }

# start_work NAME: a scratch directory $work, an empty $pids, and traps that stop every
# process in $pids and remove $work when the script ends.
start_work() {
    work="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
    pids=()
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

cleanup() {
    local pid
    for pid in "${pids[@]+"${pids[@]}"}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$work"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Stops one process this script started (and forgets it).
stop() {
    local pid="$1" keep=() p
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${pids[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    pids=("${keep[@]+"${keep[@]}"}")
}

# wait_started PID TRIES LOG WHAT CHECK...: polls CHECK every 0.1 s until it succeeds (0), the
# process PID exits or TRIES polls have passed (then prints LOG and fails).
wait_started() {
    local pid="$1" tries="$2" log="$3" what="$4" i
    shift 4
    for i in $(seq 1 "$tries"); do
        if "$@" 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log" >&2
    echo "$what did not start" >&2
    return 1
}

# start_server SESSIONS THREADS [SERVE ARGS...]: a fresh data directory with the fp32 model
# registered, then `serve` on a free port. Sets $server_pid, $server_url, $server_base and
# $server_log.
start_server() {
    local s="$1" t="$2" dir
    shift 2
    dir="$(mktemp -d "$work/data.XXXXXX")"
    "$bin" models add mobilenet --file "$model" --labels "$labels" --task cat-dog \
        --data-dir "$dir" >"$dir/models-add.log" 2>&1 ||
        { cat "$dir/models-add.log" >&2; return 1; }
    local args=(serve --addr 127.0.0.1:0 --data-dir "$dir")
    [ -n "$s" ] && args+=(--sessions "$s")
    [ -n "$t" ] && args+=(--intra-threads "$t")
    args+=("$@")
    server_log="$dir/server.err"
    # No API keys: the peers have no authentication either (and the default client rate
    # limit would throttle the load).
    INFERGATE_AUTH=off RUST_LOG=warn "$bin" "${args[@]}" >"$dir/server.out" 2>"$server_log" &
    server_pid=$!
    pids+=("$server_pid")
    wait_started "$server_pid" 300 "$server_log" "the server" grep -q '^listening on ' "$dir/server.out" || return 1
    server_base="$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$dir/server.out" | head -1)"
    server_url="$server_base/v1/classify"
}


# peer_venv_ready VENV REQUIREMENTS: a virtualenv with the peers' packages (created once).
peer_venv_ready() {
    local venv="$1" requirements="$2"
    if [ ! -x "$venv/bin/gunicorn" ] || [ ! -x "$venv/bin/uvicorn" ]; then
        say "creating the peer virtualenv $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q -r "$requirements"
    fi
}
