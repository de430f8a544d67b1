#!/usr/bin/env bash
# What an energy prediction costs, in one run on this machine, loopback only:
#
#   bench/energy.sh [--duration-s S] [--rate R]
#
#   1. in process: `cargo bench -p infergate-energy --bench predict` (criterion): one prediction
#      for MobileNetV2's profiled features — structure-only (energy and latency), with latency,
#      the prior alone, structure-only + response JSON — and the one-off costs: loading a
#      predictor file, profiling MobileNetV2;
#   2. over HTTP: `infergate serve` (release build, auth off) with the jetson_nano predictor
#      trained on the 8 shared Jetson Nano files and MobileNetV2 registered; the first request
#      of each body after the start (it loads the predictor and profiles the model), then
#      `infergate load` open loop at R requests/s (default 1000) for S seconds (default 20) for
#      three bodies: the seed's route (`/api/predict-energy`, with MobileNetV2's structure added,
#      which the structure-only predictor needs), `/v1/energy/predict` by model name and by the
#      same raw features.
# Writes bench/RESULTS-energy.md.
set -euo pipefail

root="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
cd "$root"
shared="$root/../shared"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/infergate-target}"
bin="$CARGO_TARGET_DIR/release/infergate"
results="$root/bench/RESULTS-energy.md"
duration=20
rate=1000
cmdline="bench/energy.sh $*"
while [ $# -gt 0 ]; do
    case "$1" in
        --duration-s) duration="$2"; shift 2 ;;
        --rate) rate="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

. "$root/bench/lib.sh"
start_work infergate-energy
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
scripts/setup
export CMAKE="$root/.venv/bin/cmake"
say "building (cargo build --release -p infergate)"
cargo build --release -p infergate

say "in-process prediction (criterion)"
cargo bench -q -p infergate-energy --bench predict -- --warm-up-time 1 --measurement-time 3 2>/dev/null \
    | tee "$work/criterion.txt" >&2

say "training jetson_nano on the shared Jetson Nano files; registering MobileNetV2"
data="$work/data"
"$bin" energy train --no-evaluation --device jetson_nano --data-dir "$data" \
    --data "$shared"/data/edge/jetson_nano/*.csv >"$work/train.txt"
"$bin" models add mobilenet --data-dir "$data" --file "$shared/models/mobilenetv2-12-fp32.onnx" \
    --labels "$shared/models/imagenet_classes.txt" --task cat-dog >"$work/add.txt" 2>&1
"$bin" energy profile --json "$shared/models/mobilenetv2-12-fp32.onnx" >"$work/profile.json"
python3 - "$work" "$rate" "$duration" <<'PY'
import json, os, sys
work, rate, duration = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
p = json.load(open(os.path.join(work, "profile.json")))
structure = {"layers": p["conv_layers"], "input_size": p["input_size"], "filters_max": p["filters_max"],
             "kernel_mean": p["layer_kernel_mean"], "kernel_max": p["kernel_max"], "depthwise": p["depthwise"]}
bodies = {
    "seed": {"device_type": "jetson_nano", "model_name": "mobilenetv2", "params_m": p["params"] / 1e6,
             "gmacs": p["macs"] / 1e9, "size_mb": p["size_mb"], **structure},
    "by_model": {"device": "jetson_nano", "model": "mobilenet"},
    "by_features": {"device": "jetson_nano", "features": {"macs": p["macs"], "params": p["params"], **structure}},
}
for name, body in bodies.items():
    json.dump(body, open(os.path.join(work, name + ".json"), "w"))
open(os.path.join(work, "steady.yaml"), "w").write(
    "name: energy steady\nslo_ms: 100\n"
    "workload: { type: lightweight_api, payload_kb: 1, memory_mb: 128, exec_ms: { dist: constant, value: 1 } }\n"
    f"phases:\n  - {{ duration_s: {duration}, arrival_rate: {rate} }}\n")
PY

say "HTTP: open loop at $rate requests/s for $duration s per body"
INFERGATE_AUTH=off RUST_LOG=warn "$bin" serve --addr 127.0.0.1:0 --data-dir "$data" >"$work/serve.out" 2>"$work/serve.err" &
pids+=("$!")
wait_started "${pids[-1]}" 300 "$work/serve.err" "the server" grep -q '^listening on ' "$work/serve.out"
base="$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/serve.out" | head -1)"
declare -A path=([seed]=/api/predict-energy [by_model]=/v1/energy/predict [by_features]=/v1/energy/predict)
for name in by_model by_features seed; do
    curl -s -o "$work/$name.answer" -w '%{http_code} %{time_total}\n' -H 'content-type: application/json' \
        --data-binary "@$work/$name.json" "$base${path[$name]}" >"$work/$name.first"
    read -r code _ <"$work/$name.first"
    [ "$code" = 200 ] || { cat "$work/$name.answer" >&2; echo "$name: HTTP $code" >&2; exit 1; }
done
for name in seed by_model by_features; do
    "$bin" load --scenario "$work/steady.yaml" --target "$base${path[$name]}" --payload "$work/$name.json" \
        --content-type application/json --out "$work/$name.csv" --json >"$work/$name.load.json"
done
stop "${pids[-1]}"

BENCH_DATE="$(date -u '+%Y-%m-%d %H:%M:%S UTC')" BENCH_CORES="$(nproc)" BENCH_LOAD="$load_before" BENCH_CMD="$cmdline" \
BENCH_CPU="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)" BENCH_RATE="$rate" BENCH_DURATION="$duration" \
python3 - "$work" "$results" <<'PY'
import json, os, re, sys
work, out = sys.argv[1:3]
E = os.environ
crit = open(os.path.join(work, "criterion.txt")).read()
unit = {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}
times = {f"{g}/{n}": float(v) * unit[u]
         for g, n, v, u in re.findall(r"(energy_\w+)/(\w+)\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", crit)}
trained = next((l for l in open(os.path.join(work, "train.txt")) if l.startswith("trained on")), "")
trained = trained.split("; saved ")[0].strip()
what = {
    "energy_predict/structure": "structure-only predictor: energy and latency, 90 % intervals, category",
    "energy_predict/with_latency": "with-latency predictor: power × the given latency",
    "energy_predict/prior": "the physics prior alone",
    "energy_predict/structure_and_json": "structure-only prediction + its JSON",
    "energy_once/load_predictor": "loading a predictor file (first use, after retraining)",
    "energy_once/profile_mobilenetv2": "profiling MobileNetV2 (once per registered model file)",
}
def fmt_us(v): return f"{v / 1e3:.2f} ms" if v >= 1000 else (f"{v * 1e3:.0f} ns" if v < 1 else f"{v:.2f} µs")
lines = [
    "# Energy prediction benchmark",
    "",
    "Generated by `bench/energy.sh`; every number below was measured in one run of it.",
    "",
    f"- date: {E['BENCH_DATE']}",
    f"- CPU: {E['BENCH_CPU']} ({E['BENCH_CORES']} cores); load average at the start: {E['BENCH_LOAD']}",
    f"- command: `{E['BENCH_CMD']}`",
    f"- predictor: jetson_nano, {trained}",
    "",
    "## In process (criterion, median estimate; MobileNetV2's profiled features)",
    "",
    "| what | time |",
    "|---|---|",
]
lines += [f"| {what.get(k, k)} (`{k}`) | {fmt_us(v)} |" for k, v in times.items()]
lines += ["", f"## HTTP (`infergate load`, open loop, {E['BENCH_RATE']} requests/s for {E['BENCH_DURATION']} s, "
          "release build, auth off, keep-alive, loopback)", "",
          "| body | first request after start (ms) | requests | errors | mean ms | p50 ms | p95 ms | p99 ms |",
          "|---|---|---|---|---|---|---|---|"]
label = {"seed": "`POST /api/predict-energy` (seed shape + structure)",
         "by_model": "`POST /v1/energy/predict` by model name",
         "by_features": "`POST /v1/energy/predict` by raw features"}
for name in ["seed", "by_model", "by_features"]:
    s = json.load(open(os.path.join(work, name + ".load.json")))
    first = float(open(os.path.join(work, name + ".first")).read().split()[1]) * 1e3
    lines.append(f"| {label[name]} | {first:.1f} | {s['requests']} | {s['errors']} | {s['mean_ms']:.3f} | "
                 f"{s['p50_ms']:.3f} | {s['p95_ms']:.3f} | {s['p99_ms']:.3f} |")
lines += ["", "The first request by model name loads the predictor and profiles MobileNetV2; the others "
          "find both cached. Latencies are the load generator's, client side, on the same 2 cores as the server.", ""]
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
PY
