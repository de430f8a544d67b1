// Monitoring: the chosen device's telemetry chart and latest sample, the gateway's latency and
// throughput (charts drawn by the server) and open alarms; refreshed every 5 s while shown.
"use strict";

(() => {
  const { $, api, chart, fmt, num, rows, when, explain } = Dash;
  const EVERY_MS = 5000;
  let timer = null;

  const FIELDS = [
    ["cpu_percent", "CPU %"], ["memory_percent", "memory %"], ["temperature_c", "temperature °C"],
    ["power_mw", "power (mW)"], ["latency_ms", "latency (ms)"], ["iterations_done", "iterations done"],
    ["energy_total_mwh", "energy so far (mWh)"], ["status", "status"], ["model_name", "model"],
  ];

  async function device() {
    const id = $("#monitor-device").value;
    const img = $("#telemetry-chart");
    if (!id) {
      $("#telemetry-caption").textContent = "No device chosen.";
      rows($("#latest-table"), [], "No device.");
      return;
    }
    const q = encodeURIComponent(id);
    const data = await api(`/v1/devices/${q}/telemetry?since=${encodeURIComponent(new Date(Date.now() - 3600e3).toISOString())}&limit=10000`);
    const n = data.samples.length;
    await chart(img, `/v1/charts/telemetry/${q}`, `Telemetry of ${id}: CPU, memory and temperature, ${n} samples in the last hour`);
    img.dataset.samples = String(n);
    const last = data.samples[n - 1];
    $("#telemetry-caption").textContent = last
      ? `${id}: ${n} samples in the last hour, latest #${last.seq} at ${when(last.at)}`
      : `${id}: no telemetry in the last hour`;
    rows(
      $("#latest-table"),
      last ? FIELDS.filter(([k]) => last.sample[k] !== null && last.sample[k] !== undefined).map(([k, name]) => [name, num(last.sample[k], 2)]) : [],
      "No samples yet.",
    );
  }

  async function gateway() {
    const s = await api("/v1/stats?window_s=3600");
    rows($("#gateway-table"), [
      ["requests", num(s.requests, 0)],
      ["throughput (per minute)", num(s.requests / 60, 2)],
      ["latency p50 (ms)", num(s.latency_ms.p50, 2)],
      ["latency p95 (ms)", num(s.latency_ms.p95, 2)],
      ["latency p99 (ms)", num(s.latency_ms.p99, 2)],
      ["cache hit rate", num(s.cache_hit_rate, 3)],
      ["cost per 1,000 (USD)", num(s.cost_per_1000_usd, 5)],
    ]);
    await Promise.all([
      chart($("#latency-chart"), "/v1/charts/latency", `Latency p50 ${fmt(s.latency_ms.p50)} ms and p95 ${fmt(s.latency_ms.p95)} ms over the last hour, per minute`),
      chart($("#throughput-chart"), "/v1/charts/throughput", `${s.requests} classifications over the last hour, per minute`),
    ]);
    const a = await api("/v1/alarms?state=open");
    rows($("#alarms-table"), a.alarms.map((x) => [when(x.raised_at), x.kind, x.message]), "No open alarms.");
  }

  async function refresh() {
    try {
      if (!$("#monitor-device").options.length) await Dash.devices();
      await Promise.all([device(), gateway()]);
    } catch (e) {
      $("#telemetry-caption").textContent = explain(e);
    }
  }

  function show() {
    hide();
    timer = setInterval(refresh, EVERY_MS);
    return refresh();
  }

  function hide() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#monitor-device").addEventListener("change", refresh);
  });

  Dash.tab("monitoring", { show, hide });
})();
