// Route: the seed's /predict form, the latest `route evaluate` (table and charts) and the live
// invocation counts per platform.
"use strict";

(() => {
  const { $, el, api, chart, fmt, num, rows, explain } = Dash;

  async function predict(ev) {
    ev.preventDefault();
    const out = $("#predict-result");
    const body = {
      workload_type: $("#predict-type").value,
      payload_size_kb: parseFloat($("#predict-payload").value || "0"),
      time_window: $("#predict-window").value,
      load_pattern: $("#predict-load").value,
    };
    try {
      const a = await api("/predict", { method: "POST", body });
      const p = a.prediction;
      out.className = "ok";
      out.replaceChildren(
        el("p", { class: "big" }, p.platform),
        el("p", {}, `confidence ${fmt(p.confidence * 100, 1)} % (lambda ${fmt(p.lambda_probability, 3)}, ecs ${fmt(p.ecs_probability, 3)})`),
        el("p", { class: "muted" }, `${a.model_info.model_type}, test accuracy ${fmt(a.model_info.test_accuracy, 3)}; decided in ${fmt(a.metrics.inference_time_ms, 3)} ms`),
      );
    } catch (e) {
      out.className = "error";
      out.replaceChildren(el("p", {}, explain(e)));
    }
  }

  async function evaluation() {
    const box = $("#evaluation-charts");
    let a;
    try {
      a = await api("/v1/route/evaluation");
    } catch (e) {
      $("#evaluation-when").textContent = explain(e);
      rows($("#evaluation-table"), [], "No evaluation yet.");
      box.replaceChildren();
      return;
    }
    const t = a.evaluated_at;
    $("#evaluation-when").textContent = `Evaluated ${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)} ${t.slice(9, 11)}:${t.slice(11, 13)} UTC`;
    rows(
      $("#evaluation-table"),
      (a.summary.strategies || []).map((s) => [
        s.name, num(s.requests, 0), num(s.mean_ms, 1), num(s.p95_ms, 1), num(s.cost_usd, 2),
        el("td", { class: "num" }, `${fmt(s.regret * 100, 1)} %`),
        el("td", { class: "num" }, `${fmt(s.slo_violation_rate * 100, 2)} %`), num(s.errors, 0),
      ]),
    );
    if (box.dataset.at === t) return;
    box.dataset.at = t;
    box.replaceChildren();
    for (const name of a.charts) {
      const img = el("img", { class: "chart", alt: `${name.replaceAll("_", " ")} chart (loading)` });
      box.append(el("figure", {}, img, el("figcaption", { class: "muted" }, name.replaceAll("_", " "))));
      chart(img, `/v1/route/evaluation/charts/${encodeURIComponent(name)}`, `Route evaluation chart: ${name.replaceAll("_", " ")}, strategies ${(a.summary.strategies || []).map((s) => s.name).join(", ")}`).catch(() => {});
    }
  }

  async function invocations() {
    const a = await api("/v1/invocations?limit=1");
    rows(
      $("#invocations-table"),
      (a.counts || []).map((c) => [c.function, c.platform, num(c.total, 0), num(c.ok, 0), num(c.cold_starts, 0)]),
      "No invocations recorded (configure functions and call POST /v1/invoke/{function}).",
    );
  }

  document.addEventListener("DOMContentLoaded", () => $("#predict-form").addEventListener("submit", predict));

  Dash.tab("route", { show: () => Promise.all([evaluation(), invocations().catch((e) => rows($("#invocations-table"), [], explain(e)))]) });
})();
