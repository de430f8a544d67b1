#!/usr/bin/env bash
# The router's decision, side by side with the seed-style peer (Flask + scikit-learn MLP,
# ../shared/peers/router_flask.py), in one run on this machine, loopback only:
#
#   bench/route.sh [--duration-s S] [--starts N]
#
#   1. in process: `cargo bench -p infergate --bench decision` (criterion): parse the seed's
#      JSON, build the row, the model's probability, the seed's response — per learner;
#   2. over HTTP at concurrency 8 (`infergate bench-http`, the seed's two example requests):
#      `infergate serve` /predict vs the peer under gunicorn with 2 workers (one per core);
#   3. process start to first answer (exec → first HTTP 200 from /predict), N times each (default 5):
#      `infergate serve` (release binary, router model on disk) vs `python router_flask.py`
#      (pickled model on disk, as the seed's handler loads it).
# The router model is trained first with `route simulate` + `route train` on the Azure 2019 sample.
# Writes bench/RESULTS-route.md.
set -euo pipefail

root="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
cd "$root"
shared="$root/../shared"
peers="$shared/peers"
traces="$shared/data/traces"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/infergate-target}"
bin="$CARGO_TARGET_DIR/release/infergate"
peer_venv="$HOME/.cache/peers-venv"
results="$root/bench/RESULTS-route.md"
duration=10
starts=5
cmdline="bench/route.sh $*"
while [ $# -gt 0 ]; do
    case "$1" in
        --duration-s) duration="$2"; shift 2 ;;
        --starts) starts="$2"; shift 2 ;;
        -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

. "$root/bench/lib.sh"
start_work infergate-route
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
scripts/setup
export CMAKE="$root/.venv/bin/cmake"
say "building (cargo build --release -p infergate)"
cargo build --release -p infergate
peer_venv_ready "$peer_venv" "$peers/requirements.txt"

say "training the router model"
data="$work/data"
"$bin" route simulate --trace "$traces/azure2019_invocations_per_minute.csv" \
    --durations "$traces/azure2019_durations.csv" --memory "$traces/azure2019_memory.csv" --out "$work/dataset.csv" >"$work/simulate.txt"
"$bin" route train --data "$work/dataset.csv" --data-dir "$data" --no-regressors >"$work/train.txt"
export PEER_ROUTER_PKL="$work/peer_router_model.pkl"
# The peer trains and pickles its model on its first start; measured starts then load it.
(cd "$peers" && "$peer_venv/bin/python" -c 'import router_flask' >/dev/null 2>&1)

say "in-process decision (criterion)"
cargo bench -q -p infergate --bench decision -- --warm-up-time 1 --measurement-time 3 2>/dev/null \
    | tee "$work/criterion.txt" >&2

body="$root/bench/predict/seed-case-1.json"
# first_answer CMD...: runs CMD (which must listen on $port), polls POST /predict until HTTP
# 200, prints the milliseconds from exec to that answer, and stops it.
first_answer() {
    local t0 t1 pid
    t0="$(date +%s%N)"
    "$@" >"$work/first.out" 2>"$work/first.err" &
    pid=$!
    until [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
        --data-binary "@$body" "http://127.0.0.1:$port/predict" 2>/dev/null)" = 200 ]; do
        kill -0 "$pid" 2>/dev/null || { cat "$work/first.err" >&2; return 1; }
    done
    t1="$(date +%s%N)"
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    echo $(( (t1 - t0) / 1000000 ))
}

say "process start to first answer ($starts each)"
: >"$work/starts.txt"
for i in $(seq 1 "$starts"); do
    port="$(free_port)"
    ms="$(INFERGATE_AUTH=off RUST_LOG=warn first_answer "$bin" serve --addr "127.0.0.1:$port" --data-dir "$data")"
    echo "infergate $ms" >>"$work/starts.txt"
    port="$(free_port)"
    ms="$(cd "$peers" && first_answer "$peer_venv/bin/python" router_flask.py --port "$port")"
    echo "peer $ms" >>"$work/starts.txt"
done
cat "$work/starts.txt" >&2

say "HTTP at concurrency 8"
port="$(free_port)"
INFERGATE_AUTH=off RUST_LOG=warn "$bin" serve --addr "127.0.0.1:$port" --data-dir "$data" >"$work/serve.out" 2>"$work/serve.err" &
pids+=("$!")
wait_started "${pids[-1]}" 100 "$work/serve.err" "the server" grep -q '^listening on ' "$work/serve.out"
"$bin" bench-http --label infergate --url "http://127.0.0.1:$port/predict" --images "$root/bench/predict" --unique false \
    --concurrency 8 --warmup 200 --duration-s "$duration" --json-out "$work/infergate.json"
stop "${pids[-1]}"
port="$(free_port)"
(cd "$peers" && exec "$peer_venv/bin/gunicorn" -w 2 -b "127.0.0.1:$port" router_flask:app) >"$work/peer.out" 2>"$work/peer.err" &
pids+=("$!")
wait_started "${pids[-1]}" 300 "$work/peer.err" "the peer" curl -sf -o /dev/null -H 'content-type: application/json' \
    --data-binary "@$body" "http://127.0.0.1:$port/predict"
"$bin" bench-http --label peer --url "http://127.0.0.1:$port/predict" --images "$root/bench/predict" --unique false \
    --concurrency 8 --warmup 200 --duration-s "$duration" --json-out "$work/peer.json"
stop "${pids[-1]}"

BENCH_DATE="$(date -u '+%Y-%m-%d %H:%M:%S UTC')" BENCH_CORES="$(nproc)" BENCH_LOAD="$load_before" BENCH_CMD="$cmdline" \
BENCH_CPU="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)" \
python3 - "$work" "$results" <<'PY'
import json, os, re, statistics, sys
work, out = sys.argv[1:3]
E = os.environ
crit = open(os.path.join(work, "criterion.txt")).read()
decisions = {}
for name, value, unit in re.findall(r"predict_decision/(\w+)\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", crit):
    decisions[name] = float(value) * {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3}[unit]
starts = {"infergate": [], "peer": []}
for line in open(os.path.join(work, "starts.txt")):
    who, ms = line.split()
    starts[who].append(int(ms))
load = lambda n: json.load(open(os.path.join(work, n + ".json")))
ig, peer = load("infergate"), load("peer")
def rps(r): return r["requests_per_s"]
train = open(os.path.join(work, "train.txt")).read()
chosen = next((l for l in train.splitlines() if l.startswith("chosen:")), "")
lines = [
    "# Router benchmark: `/predict` vs the Flask + scikit-learn peer",
    "",
    "Generated by `bench/route.sh`; every number below was measured in one run of it.",
    "",
    f"- date: {E['BENCH_DATE']}",
    f"- CPU: {E['BENCH_CPU']} ({E['BENCH_CORES']} cores); load average at the start: {E['BENCH_LOAD']}",
    f"- command: `{E['BENCH_CMD']}`",
    f"- router model: {chosen}",
    "",
    "## In-process decision (criterion: parse the seed's JSON, features, model, response JSON)",
    "",
    "| learner | time per decision (µs) |",
    "|---|---|",
]
lines += [f"| {k} | {v:.2f} |" for k, v in decisions.items()]
lines += ["", "## HTTP at concurrency 8 (the seed's two example requests, keep-alive)", "",
          "| server | req/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|"]
for name, r in [("infergate serve", ig), ("peer (gunicorn -w 2, Flask + scikit-learn)", peer)]:
    lat = r.get("latency_ms") or {}
    lines.append(f"| {name} | {rps(r):.0f} | {lat.get('p50', float('nan')):.2f} | {lat.get('p99', float('nan')):.2f} | {r['errors']} |")
lines += ["", "## Process start to first answer (exec → first HTTP 200 from /predict)", "",
          "| server | median ms | all runs (ms) |", "|---|---|---|"]
for who in ["infergate", "peer"]:
    lines.append(f"| {who} | {statistics.median(starts[who])} | {', '.join(map(str, starts[who]))} |")
ratio = rps(ig) / rps(peer)
kind = (re.search(r"chosen: (\w+)", chosen) or re.search("(gbt)", "gbt")).group(1)
served = decisions.get(kind, float("nan"))
first = statistics.median(starts["infergate"])
met = lambda ok: "**met**" if ok else "**not met**"
lines += ["", "## Targets", "",
          f"- decision in process with the served learner ({kind}): {served:.2f} µs (target <= 20 µs): {met(served <= 20)}",
          f"- requests/s at c=8: {rps(ig):.0f} / {rps(peer):.0f} = **{ratio:.1f}×** the peer (target >= 20×): {met(ratio >= 20)}",
          f"- first answer after exec: {first} ms (target <= 50 ms; the peer: {statistics.median(starts['peer'])} ms): {met(first <= 50)}",
          ""]
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
PY
