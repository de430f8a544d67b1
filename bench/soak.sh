#!/usr/bin/env bash
# Soak: `infergate serve` under steady load for a long time, loopback only:
#
#   bench/soak.sh [--minutes M] [--fraction F] [--arrivals uniform|poisson] [--rate R] [--warmup-s S]
#
#   1. the server's maximum classify throughput here: `infergate bench-http` at c=8 for 15 s
#      (unique bodies, so every request runs the model); `--rate R` skips it and soaks at R;
#   2. a warm-up at that rate (`--warmup-s`, default 60; reported, not judged), then
#      `infergate load --unique` open loop at F (default 0.8) of that rate for M minutes
#      (default 10), arrivals evenly spaced (default) or Poisson, the server's RSS sampled
#      every 10 s;
#   3. the verdicts: zero errors, RSS growth under 10 % (last sample vs the first after a
#      minute of load), p99 of the last minute within 20 % of the first minute's.
# Writes bench/RESULTS-soak.md.
set -euo pipefail

root="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
cd "$root"
shared="$root/../shared"
model="$shared/models/mobilenetv2-12-fp32.onnx"
labels="$shared/models/imagenet_classes.txt"
images="$shared/data/catsdogs/test"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/infergate-target}"
bin="$CARGO_TARGET_DIR/release/infergate"
results="$root/bench/RESULTS-soak.md"
minutes=10
fraction=0.8
arrivals=uniform
fixed_rate=""
warmup_s=60
cmdline="bench/soak.sh $*"
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes="$2"; shift 2 ;;
        --fraction) fraction="$2"; shift 2 ;;
        --arrivals) arrivals="$2"; shift 2 ;;
        --rate) fixed_rate="$2"; shift 2 ;;
        --warmup-s) warmup_s="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
. "$root/bench/lib.sh"
start_work infergate-soak
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
say "building (cargo build --release -p infergate)"
cargo build --release -p infergate
scripts/setup
# Let the build's (or anything else's) dirty pages reach the disk before measuring.
sync

start_server "" ""
if [ -n "$fixed_rate" ]; then
    max_rps=0
    rate="$fixed_rate"
else
    say "maximum throughput (c=8, 15 s)"
    "$bin" bench-http --url "$server_url" --concurrency 8 --duration-s 15 --warmup 32 --images "$images" \
        --json-out "$work/max.json" >/dev/null
    max_rps="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests_per_s"])' "$work/max.json")"
    rate="$(python3 -c "print(round($max_rps * $fraction, 1))")"
fi
duration=$(( minutes * 60 ))
# scenario FILE SECONDS: the soak's load for that long.
scenario() {
    cat >"$1" <<EOF
name: soak
arrivals: $arrivals
slo_ms: 1000
workload: { type: medium_processing, payload_kb: 30, memory_mb: 512, exec_ms: { dist: constant, value: 10 } }
phases:
  - { duration_s: $2, arrival_rate: $rate }
EOF
}
scenario "$work/soak.yaml" "$duration"
if [ "$warmup_s" != 0 ]; then
    say "warm-up: $rate requests/s for $warmup_s s"
    scenario "$work/warmup.yaml" "$warmup_s"
    "$bin" load --scenario "$work/warmup.yaml" --target "$server_url" --payload "$images/cat" --seed 1 \
        --content-type image/jpeg --unique --timeout-s 30 --out "$work/warmup.csv" --json >"$work/warmup.json"
else
    echo '{"requests": 0, "errors": 0, "p50_ms": 0, "p99_ms": 0}' >"$work/warmup.json"
fi
say "soak: $rate requests/s ($fraction of $max_rps, $arrivals arrivals) for $minutes min"
# Every 10 s: the time, the server's RSS (kB), the machine's CPU jiffies (total, iowait,
# steal) and, where the kernel has PSI, the microseconds all tasks were stalled on I/O and
# some task waited for a CPU: so that a bad minute can be told apart from a busy machine.
( while kill -0 "$server_pid" 2>/dev/null; do
      rss="$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$server_pid/status")"
      cpu="$(awk '/^cpu /{t=0; for (i=2; i<=NF; i++) t+=$i; print t, $6, $9}' /proc/stat)"
      io="$(sed -n 's/^full .*total=\([0-9]*\)/\1/p' /proc/pressure/io 2>/dev/null || true)"
      cpu_some="$(sed -n 's/^some .*total=\([0-9]*\)/\1/p' /proc/pressure/cpu 2>/dev/null || true)"
      echo "$(date +%s) $rss $cpu ${io:-nan} ${cpu_some:-nan}"
      sleep 10
  done ) >"$work/rss.txt" &
sampler=$!
t0=$(date +%s)
"$bin" load --scenario "$work/soak.yaml" --target "$server_url" --payload "$images/cat" \
    --content-type image/jpeg --unique --timeout-s 30 --out "$work/latencies.csv" --json >"$work/summary.json"
kill "$sampler" 2>/dev/null || true
issues="$(grep -E 'WARN|ERROR|panick' "$server_log" | grep -v 'auth is off' | head -5 || true)"
stop "$server_pid"

BENCH_DATE="$(date -u '+%Y-%m-%d %H:%M:%S UTC')" BENCH_CPU="$(lscpu | sed -n 's/^Model name: *//p' | head -1)" \
BENCH_CORES="$(nproc)" BENCH_LOAD="$load_before" BENCH_CMD="$cmdline" BENCH_MAX="$max_rps" BENCH_RATE="$rate" \
BENCH_T0="$t0" BENCH_ISSUES="$issues" BENCH_ARRIVALS="$arrivals" BENCH_WARMUP="$warmup_s" \
python3 - "$work" "$results" <<'PY'
import csv, json, os, sys
work, out = sys.argv[1], sys.argv[2]
E = os.environ
s = json.load(open(os.path.join(work, "summary.json")))
rows = list(csv.DictReader(open(os.path.join(work, "latencies.csv"))))
def p50(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else float("nan")
def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.99 * len(xs)))] if xs else float("nan")
end = max(float(r["scheduled_s"]) for r in rows)
first = [float(r["latency_ms"]) for r in rows if float(r["scheduled_s"]) < 60]
last = [float(r["latency_ms"]) for r in rows if float(r["scheduled_s"]) >= end - 60]
t0 = int(E["BENCH_T0"])
samples = [l.split() for l in open(os.path.join(work, "rss.txt")) if len(l.split()) == 7]
rss = [(int(x[0]) - t0, int(x[1])) for x in samples]
def machine(a, b):
    """CPU iowait and steal (% of all CPU time), I/O full stall and CPU wait (% of wall time)."""
    jiffies = float(b[2]) - float(a[2]) or 1.0
    wall_us = (int(b[0]) - int(a[0])) * 1e6 or 1.0
    pct = lambda i: (float(b[i]) - float(a[i])) / wall_us * 100
    return ((float(b[3]) - float(a[3])) / jiffies * 100, (float(b[4]) - float(a[4])) / jiffies * 100, pct(5), pct(6))
during = [(t, kb) for t, kb in rss if t >= 60]
rss_first, rss_last = (during[0][1], during[-1][1]) if during else (0, 0)
growth = (rss_last - rss_first) / rss_first * 100 if rss_first else float("nan")
drift = (p99(last) - p99(first)) / p99(first) * 100
minutes = [[] for _ in range(int(end // 60) + 1)]
errs_per_minute = [0] * len(minutes)
for r in rows:
    if r["error"]:
        errs_per_minute[int(float(r["scheduled_s"]) // 60)] += 1
tens = [[] for _ in range(6)]
for r in rows:
    t, ms = float(r["scheduled_s"]), float(r["latency_ms"])
    minutes[int(t // 60)].append(ms)
    if t < 60:
        tens[int(t // 10)].append(ms)
per_minute_machine = []
for m in range(len(minutes)):
    inside = [x for x in samples if m * 60 <= int(x[0]) - t0 <= (m + 1) * 60]
    per_minute_machine.append(machine(inside[0], inside[-1]) if len(inside) >= 2 else None)
if os.environ.get("SOAK_KEEP"):
    import shutil
    shutil.copy(os.path.join(work, "latencies.csv"), os.environ["SOAK_KEEP"])
warm = json.load(open(os.path.join(work, "warmup.json")))
errors = s["errors"] + warm["errors"]
def v(ok): return "**met**" if ok else "**not met**"
w = ["# Soak: steady load on `infergate serve`", "",
     "Generated by `bench/soak.sh`; every number below was measured in one run of it.", "",
     "- date: " + E["BENCH_DATE"],
     "- CPU: %s (%s cores); load average at the start: %s" % (E["BENCH_CPU"], E["BENCH_CORES"], E["BENCH_LOAD"]),
     "- command: `%s`" % E["BENCH_CMD"],
     ("- maximum measured first: %.1f requests/s (`bench-http`, c=8, 15 s, unique bodies); " % float(E["BENCH_MAX"])
      if float(E["BENCH_MAX"]) > 0 else "- maximum not measured (`--rate` given); ") +
     "soak rate %s requests/s, open loop (`infergate load --unique`, %s arrivals, the cat photos of the test set,"
     " each body unique)" % (E["BENCH_RATE"], E["BENCH_ARRIVALS"]),
     "",
     "| requests | ok | errors | throughput /s | p50 ms | p95 ms | p99 ms | wall s |",
     "|---|---|---|---|---|---|---|---|",
     "| %d | %d | %d | %.1f | %.1f | %.1f | %.1f | %.0f |" % (
         s["requests"], s["ok"], errors, s["throughput_per_s"], s["p50_ms"], s["p95_ms"], s["p99_ms"], s["wall_s"]),
     "",
     "- warm-up before the measured run: %s s at the same rate, %d requests, %d errors, p50 %.1f ms, p99 %.1f ms"
     " (not part of the verdicts below, but for its errors)" % (
         E["BENCH_WARMUP"], warm["requests"], warm["errors"], warm["p50_ms"], warm["p99_ms"]),
     "- zero errors (warm-up and soak): %d errors: %s" % (errors, v(errors == 0)),
     "- RSS growth (first sample after 60 s of load vs the last): %.1f MB -> %.1f MB = %+.1f %% (target < 10 %%): %s" % (
         rss_first / 1024, rss_last / 1024, growth, v(growth < 10)),
     "- p99 of the last minute vs the first: %.1f ms vs %.1f ms = %+.1f %% (target within 20 %%): %s" % (
         p99(last), p99(first), drift, v(abs(drift) <= 20)),
     "",
     "| minute | requests | errors | p50 ms | p99 ms | CPU iowait % | CPU steal % | I/O full stall % | CPU wait (PSI some) % |",
     "|---|---|---|---|---|---|---|---|---|",
     *["| %d | %d | %d | %.1f | %.1f | %s |" % (
         i + 1, len(m), errs_per_minute[i], p50(m), p99(m),
         " | ".join("%.1f" % x for x in per_minute_machine[i]) if per_minute_machine[i] else "n/a | n/a | n/a | n/a")
       for i, m in enumerate(minutes) if m],
     "",
     "- p99 per 10 s in the first minute (ms): " + ", ".join("%.1f" % p99(t) for t in tens if t),
     "- RSS samples (s since the load started: MB): " + ", ".join("%d: %.0f" % (t, kb / 1024) for t, kb in rss[::6]),
     "- server log lines at WARN/ERROR: " + (E["BENCH_ISSUES"].replace("\n", "; ")[:500] or "none")]
open(out, "w").write("\n".join(w) + "\n")
PY
say "wrote $results"
cat "$results"
