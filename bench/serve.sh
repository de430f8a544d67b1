#!/usr/bin/env bash
# Side-by-side serving benchmark on this machine, loopback only, one command:
#
#   bench/serve.sh [--sessions S] [--intra-threads T] [--duration-s SECONDS] [--repeats N] [--sweep]
#
# Measures, one after the other (never two loads at once), with the same load generator
# (`infergate bench-http`), the same model and the same request bodies:
#   1. the in-process floor: decode + preprocess + ONNX Runtime, no HTTP (c=1, c=sessions, c=8);
#   2. `infergate serve` (release build) at c=1, c=8 and c=32, each from a fresh data directory;
#   3. the Python peer (FastAPI + onnxruntime, `PEER_THREADS=1 uvicorn --workers 2`) at c=1, c=8, c=32;
#   and the resident memory of each after its c=8 and c=32 runs (peak RSS of the server process;
#   the peer's master and workers summed).
# Every body is an image from the cats/dogs set plus a unique ASCII tag after the JPEG
# end-of-image marker, so the server's answer cache never answers (the bench checks that
# every answer says "cached": false). Writes bench/RESULTS-serve.md.
# The server runs with INFERGATE_AUTH=off, like the peer, which has no authentication: the
# benchmark compares serving, and the default per-key rate limit would throttle the load.
#
# --sessions/--intra-threads are passed to the server and the floor (default: the server's
# defaults). --duration-s is per measurement (default 15). The c=8 server and peer
# measurements run --repeats times (default 3; the table shows the run with the median
# throughput and lists all). --sweep also measures the server with (sessions, intra-threads)
# in (1,1) (1,2) (2,1) (2,2) at c=1 and c=8 and adds a table to the results.
# Needs: cargo, python3, curl, ss; ../shared/{models,peers,data} next to the checkout.
set -euo pipefail

root="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
cd "$root"
shared="$root/../shared"
peers="$shared/peers"
model="$shared/models/mobilenetv2-12-fp32.onnx"
labels="$shared/models/imagenet_classes.txt"
image_dirs=("$shared/data/catsdogs/test" "$shared/data/catsdogs/train")
peer_venv="$HOME/.cache/peers-venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/infergate-target}"
bin="$CARGO_TARGET_DIR/release/infergate"
results="$root/bench/RESULTS-serve.md"

sessions=""
intra=""
duration=15
warmup=64
sweep=0
repeats=3
cmdline="bench/serve.sh $*"
while [ $# -gt 0 ]; do
    case "$1" in
        --sessions) sessions="$2"; shift 2 ;;
        --intra-threads) intra="$2"; shift 2 ;;
        --duration-s) duration="$2"; shift 2 ;;
        --sweep) sweep=1; shift ;;
        --repeats) repeats="$2"; shift 2 ;;
        -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
for f in "$model" "$labels" "$peers/classify_fastapi.py" "${image_dirs[@]}"; do
    [ -e "$f" ] || { echo "missing $f" >&2; exit 1; }
done

# say, start_work, free_port, wait_started, stop, start_server (shared with bench/batching.sh)
. "$root/bench/lib.sh"
start_work infergate-bench

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
say "building (cargo build --release -p infergate, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo build --release -p infergate
scripts/setup
peer_venv_ready "$peer_venv" "$peers/requirements.txt"

start_peer() {
    local port
    port="$(free_port)"
    PEER_THREADS=1 PEER_MODEL="$model" "$peer_venv/bin/uvicorn" classify_fastapi:app \
        --app-dir "$peers" --host 127.0.0.1 --port "$port" --workers 2 \
        --log-level warning --no-access-log >"$work/peer.log" 2>&1 &
    peer_pid=$!
    pids+=("$peer_pid")
    peer_url="http://127.0.0.1:$port/classify"
    peer_port="$port"
    wait_started "$peer_pid" 600 "$work/peer.log" "the peer" curl -s -o /dev/null "http://127.0.0.1:$port/docs"
}

# bench NAME ARGS...: one measurement, JSON kept in $work/NAME.json.
bench() {
    local name="$1"
    shift
    say "measuring $name"
    "$bin" bench-http --label "$name" --images "${image_dirs[@]}" --warmup "$warmup" \
        --duration-s "$duration" --json-out "$work/$name.json" "$@"
}

rt_args=()
[ -n "$sessions" ] && rt_args+=(--sessions "$sessions")
[ -n "$intra" ] && rt_args+=(--intra-threads "$intra")

# 1. The floor, through the same runtime code the server runs.
floor_sessions="${sessions:-$(nproc)}"
bench floor-c1 --floor --model "$model" --concurrency 1 "${rt_args[@]+"${rt_args[@]}"}"
bench "floor-c$floor_sessions" --floor --model "$model" --concurrency "$floor_sessions" \
    "${rt_args[@]+"${rt_args[@]}"}"
[ "$floor_sessions" = 8 ] ||
    bench floor-c8 --floor --model "$model" --concurrency 8 "${rt_args[@]+"${rt_args[@]}"}"

# rss_kb PID: resident memory of PID and its children in kB (peak VmHWM for a single process,
# the current VmRSS summed over a process tree such as uvicorn's master and workers).
rss_kb() {
    local pid="$1" kids total kb
    kids="$(pgrep -P "$pid" || true)"
    if [ -z "$kids" ]; then
        sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status"
        return
    fi
    total=0
    for p in "$pid" $kids; do
        kb="$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$p/status" 2>/dev/null || true)"
        total=$(( total + ${kb:-0} ))
    done
    echo "$total"
}

# 2. The server. server_run NAME C: one measurement, from a fresh data directory.
server_run() {
    start_server "$sessions" "$intra"
    bench "$1" --url "$server_url" --concurrency "$2"
    # (the start-up warning that auth is off is expected here: the server runs without keys)
    { grep -E 'WARN|ERROR|panick' "$server_log" | grep -v 'auth is off' || true; } | head -5 >"$work/$1.log-issues"
    runtime_line="$(grep -m1 '^runtime:' "$server_log" || true)"
    rss_kb "$server_pid" >"$work/$1.rss"
    stop "$server_pid"
}
server_run server-c1 1
for k in $(seq 1 "$repeats"); do server_run "server-c8-r$k" 8; done
server_run server-c32 32

# 3. The peer. Its two workers share the listening socket, so which worker each keep-alive
# connection lands on is chance: c=8 is repeated (new connections each time) and the split
# of the connections between the worker processes is recorded mid-run.
start_peer
bench peer-c1 --url "$peer_url" --concurrency 1
for k in $(seq 1 "$repeats"); do
    (sleep "$(( ${duration%.*} / 2 + 1 ))"
     ss -tnpH state established "( sport = :$peer_port )" >"$work/peer-c8-r$k.conns" 2>/dev/null || true) &
    watcher=$!
    bench "peer-c8-r$k" --url "$peer_url" --concurrency 8
    wait "$watcher" || true
    rss_kb "$peer_pid" >"$work/peer-c8-r$k.rss"
done
bench peer-c32 --url "$peer_url" --concurrency 32
rss_kb "$peer_pid" >"$work/peer-c32.rss"
stop "$peer_pid"

# Optional: server configurations.
if [ "$sweep" = 1 ]; then
    for st in 1,1 1,2 2,1 2,2; do
        s="${st%,*}" t="${st#*,}"
        for c in 1 8; do
            start_server "$s" "$t"
            bench "sweep-s$s-t$t-c$c" --url "$server_url" --concurrency "$c"
            stop "$server_pid"
        done
    done
fi

# The report.
cpu="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
[ -n "$cpu" ] || cpu="$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
ort_server="$(.venv/bin/python -c 'import onnxruntime; print(onnxruntime.__version__)' 2>/dev/null || echo '?')"
ort_peer="$("$peer_venv/bin/python" -c 'import onnxruntime; print(onnxruntime.__version__)' 2>/dev/null || echo '?')"
BENCH_DATE="$(date -u '+%Y-%m-%d %H:%M:%S UTC')" BENCH_CPU="$cpu" BENCH_CORES="$(nproc)" \
BENCH_RUSTC="$(rustc --version)" BENCH_ORT="$ort_server" BENCH_ORT_PEER="$ort_peer" \
BENCH_RUNTIME="${runtime_line:-?}" BENCH_CMD="$cmdline" BENCH_DURATION="$duration" \
BENCH_WARMUP="$warmup" BENCH_LOAD="$load_before" BENCH_REPEATS="$repeats" \
python3 - "$work" "$results" "$floor_sessions" "$sweep" <<'PY'
import json, os, sys
work, out, fs, sweep = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
E = os.environ
def load(name):
    with open(os.path.join(work, name + ".json")) as f:
        return json.load(f)
names = ["floor-c1", "floor-c" + fs] + ([] if fs == "8" else ["floor-c8"]) + \
        ["server-c1", "server-c8", "server-c32", "peer-c1", "peer-c8", "peer-c32"]
repeats = int(E["BENCH_REPEATS"])
r, runs = {}, {}
for n in names:
    if n in ("server-c8", "peer-c8"):
        runs[n] = [load("%s-r%d" % (n, k)) for k in range(1, repeats + 1)]
        r[n] = sorted(runs[n], key=lambda x: x["requests_per_s"])[(repeats - 1) // 2]
    else:
        r[n] = load(n)
def conn_split(k):
    import re
    try:
        with open(os.path.join(work, "peer-c8-r%d.conns" % k)) as f:
            pids = re.findall(r"pid=(\d+)", f.read())
    except OSError:
        return "?"
    counts = sorted((pids.count(p) for p in set(pids)), reverse=True)
    return "+".join(map(str, counts)) if counts else "?"
lines = []
w = lines.append
w("# Serving benchmark: in-process floor vs Infergate server vs Python peer")
w("")
w("Generated by `bench/serve.sh`; every number below was measured in one run of it.")
w("")
w("- date: " + E["BENCH_DATE"])
w("- CPU: %s (%s cores available)" % (E["BENCH_CPU"], E["BENCH_CORES"]))
w("- load average (1, 5, 15 min) when the script started: " + E["BENCH_LOAD"])
w("- rustc: " + E["BENCH_RUSTC"])
w("- ONNX Runtime: %s (server and floor, `libonnxruntime` of the `.venv` wheel); peer: onnxruntime %s" % (E["BENCH_ORT"], E["BENCH_ORT_PEER"]))
w("- server start-up line: `%s`" % E["BENCH_RUNTIME"])
w("- command: `%s`" % E["BENCH_CMD"])
w("- load: `infergate bench-http`, keep-alive connections, %s s per measurement after %s warm-up requests;" % (E["BENCH_DURATION"], E["BENCH_WARMUP"]))
w("  model `mobilenetv2-12-fp32.onnx`; bodies: the %d JPEGs of `shared/data/catsdogs/{test,train}` in turn," % r["server-c1"]["images"])
w("  each with a unique ASCII tag appended after the end-of-image marker (so no body repeats and the")
w("  server's answer cache never answers; the same bodies go to the peer)")
w("- server: `INFERGATE_AUTH=off` (no API key checks or rate limits; the peer has no authentication either)")
w("- peer: `PEER_THREADS=1 uvicorn classify_fastapi:app --workers 2` (shared/peers)")
w("")
w("| measurement | c | requests | req/s | p50 ms | p90 ms | p99 ms | mean ms | max ms | errors | cached true/false |")
w("|---|---|---|---|---|---|---|---|---|---|---|")
def row(n, x):
    l = x["latency_ms"] or {}
    g = lambda k: "%.2f" % l[k] if k in l else "-"
    cached = "%d/%d" % (x["cached_true"], x["cached_false"]) if x["mode"] == "http" and not n.startswith("peer") else "n/a"
    w("| %s | %d | %d | %.1f | %s | %s | %s | %s | %s | %d | %s |" % (
        n, x["concurrency"], x["requests"], x["requests_per_s"], g("p50"), g("p90"), g("p99"),
        g("mean"), g("max"), x["errors"], cached))
for n in names:
    row(n, r[n])
w("")
for n in ("server-c8", "peer-c8"):
    parts = []
    for k, x in enumerate(runs[n], 1):
        part = "run %d: %.1f req/s, p50 %.2f ms, p99 %.2f ms" % (
            k, x["requests_per_s"], x["latency_ms"]["p50"], x["latency_ms"]["p99"])
        if n == "peer-c8":
            part += " (connections per worker: %s)" % conn_split(k)
        parts.append(part)
    w("- %s, %d runs (the table shows the median by req/s): %s" % (n, repeats, "; ".join(parts)))
for n in names:
    s = r[n].get("stage_means_ms")
    if s:
        w("- %s stage means: decode %.2f ms, preprocess %.2f ms, session queue %.2f ms, inference %.2f ms" % (
            n, s["decode"], s["preprocess"], s["queue"], s["inference"]))
for n in names:
    s = r[n].get("server_reported_mean_ms")
    if s and n.startswith("server"):
        w("- %s: the server's own `timings_ms` (means): decode %.2f, preprocess %.2f, queue %.2f, inference %.2f,"
          " handler total %.2f ms; client-observed mean %.2f ms (the rest: HTTP, the history/image write after"
          " `total` is taken, JSON, the load generator)" % (
            n, s.get("decode", 0), s.get("preprocess", 0), s.get("queue", 0), s.get("inference", 0),
            s.get("total", 0), r[n]["latency_ms"]["mean"]))
    elif s and n.startswith("peer"):
        w("- %s: the peer's own `total_ms` (mean) %.2f ms; client-observed mean %.2f ms" % (
            n, s.get("total", 0), r[n]["latency_ms"]["mean"]))
w("")
w("## Ratios and targets")
w("")
def p(n, k): return r[n]["latency_ms"][k]
def rps(n): return r[n]["requests_per_s"]
def verdict(ok): return "**met**" if ok else "**not met**"
ov = p("server-c1", "p50") - p("floor-c1", "p50")
w("- server overhead over the floor at p50, c=1: %.2f ms - %.2f ms = **%.2f ms** (target <= 1 ms): %s" % (
    p("server-c1", "p50"), p("floor-c1", "p50"), ov, verdict(ov <= 1.0)))
t = rps("server-c8") / rps("floor-c8")
w("- server / floor throughput at c=8: %.1f / %.1f req/s = **%.2f** (target >= 0.90): %s" % (
    rps("server-c8"), rps("floor-c8"), t, verdict(t >= 0.90)))
if fs != "8":
    w("  (floor at c=%s, one thread per session: %.1f req/s; server / that = %.2f)" % (
        fs, rps("floor-c" + fs), rps("server-c8") / rps("floor-c" + fs)))
t = rps("server-c8") / rps("peer-c8")
w("- server / peer throughput at c=8: %.1f / %.1f req/s = **%.2f x** (target >= 1.15 x): %s" % (
    rps("server-c8"), rps("peer-c8"), t, verdict(t >= 1.15)))
t = p("server-c8", "p99") / p("peer-c8", "p99")
w("- server / peer p99 at c=8: %.2f / %.2f ms = **%.2f** (target <= 0.70): %s" % (
    p("server-c8", "p99"), p("peer-c8", "p99"), t, verdict(t <= 0.70)))
best = max(runs["peer-c8"], key=lambda x: x["requests_per_s"])
if repeats > 1:
    w("- the same two against the peer's best c=8 run (%.1f req/s, p99 %.2f ms; its worker balance is chance):"
      " %.2f x (target >= 1.15 x: %s), p99 ratio %.2f (target <= 0.70: %s)" % (
        best["requests_per_s"], best["latency_ms"]["p99"], rps("server-c8") / best["requests_per_s"],
        verdict(rps("server-c8") / best["requests_per_s"] >= 1.15),
        p("server-c8", "p99") / best["latency_ms"]["p99"],
        verdict(p("server-c8", "p99") / best["latency_ms"]["p99"] <= 0.70)))
t = rps("server-c32") / rps("peer-c32")
w("- server / peer throughput at c=32: %.1f / %.1f req/s = **%.2f x**; p99 %.2f / %.2f ms = **%.2f**" % (
    rps("server-c32"), rps("peer-c32"), t, p("server-c32", "p99"), p("peer-c32", "p99"),
    p("server-c32", "p99") / p("peer-c32", "p99")))
def rss(name):
    try:
        with open(os.path.join(work, name + ".rss")) as f:
            return int(f.read().strip() or 0) / 1024
    except (OSError, ValueError):
        return 0
mid = (repeats + 1) // 2
srv, peer = rss("server-c8-r%d" % mid), rss("peer-c8-r%d" % mid)
if srv and peer:
    w("- resident memory after c=8: server %.0f MB (peak, one process), peer %.0f MB (master + 2 workers) ="
      " **%.2f x** less for the server; after c=32: server %.0f MB, peer %.0f MB" % (
        srv, peer, peer / srv, rss("server-c32"), rss("peer-c32")))
every = [(n, x) for n in names for x in (runs.get(n) or [r[n]])]
bad = [(n, x) for n, x in every if x["errors"]]
uncached = all(x["cached_true"] == 0 and x["cached_false"] == x["ok"] for n, x in every if n.startswith("server"))
w("- server answers all `\"cached\": false`: %s; errors: %s" % (
    "yes" if uncached else "**no**", ", ".join("%s %d" % (n, x["errors"]) for n, x in bad) or "none"))
for n, x in every:
    for e in x["error_samples"]:
        w("  - %s: %s" % (n, e.replace("\n", " ")))
issues = []
for n in ["server-c1", "server-c32"] + ["server-c8-r%d" % k for k in range(1, repeats + 1)]:
    with open(os.path.join(work, n + ".log-issues")) as f:
        issues += ["%s: %s" % (n, l.strip()) for l in f if l.strip()]
w("- server log lines at WARN/ERROR during the measurements: %s" % ("none" if not issues else ""))
for l in issues:
    w("  - `%s`" % l[:300])
if sweep:
    w("")
    w("## Server configurations (sessions x intra-op threads)")
    w("")
    w("One run each (c=8 not repeated), each from a fresh data directory, same load as above.")
    w("")
    w("| sessions | intra-threads | c=1 p50 ms | c=1 p99 ms | c=1 req/s | c=8 req/s | c=8 p50 ms | c=8 p99 ms | errors |")
    w("|---|---|---|---|---|---|---|---|---|")
    for st in ["1,1", "1,2", "2,1", "2,2"]:
        s, t = st.split(",")
        a, b = load("sweep-s%s-t%s-c1" % (s, t)), load("sweep-s%s-t%s-c8" % (s, t))
        w("| %s | %s | %.2f | %.2f | %.1f | %.1f | %.2f | %.2f | %d |" % (
            s, t, a["latency_ms"]["p50"], a["latency_ms"]["p99"], a["requests_per_s"],
            b["requests_per_s"], b["latency_ms"]["p50"], b["latency_ms"]["p99"], a["errors"] + b["errors"]))
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
PY
say "wrote $results"
cat "$results"
