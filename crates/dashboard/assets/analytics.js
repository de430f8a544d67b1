// Analytics: the history with filters (label, model, since) and paging, cost per 1,000 over
// time, and energy per inference predicted vs measured on each device.
"use strict";

(() => {
  const { $, el, api, chart, fmt, num, rows, when, explain } = Dash;
  let cursor = null;
  let shown = [];

  function query() {
    const q = new URLSearchParams({ limit: "50" });
    const label = $("#history-label").value.trim();
    const model = $("#history-model").value.trim();
    const since = $("#history-since").value;
    if (label) q.set("label", label);
    if (model) q.set("model", model);
    if (since) q.set("since", new Date(since).toISOString());
    return q;
  }

  async function history(more = false) {
    const q = query();
    if (more && cursor) q.set("cursor", cursor);
    try {
      const page = await api(`/v1/inferences?${q}`);
      shown = more ? shown.concat(page.items) : page.items;
      cursor = page.next_cursor;
      $("#history-more").hidden = !cursor;
      $("#history-count").textContent = `${shown.length} classification${shown.length === 1 ? "" : "s"}${cursor ? " so far" : ""}`;
      rows(
        $("#history-table"),
        shown.map((r) => [
          when(r.created_at), r.label, el("td", { class: "num" }, `${fmt(r.confidence * 100, 1)} %`),
          `${r.model.name} v${r.model.version}`, num(r.timings_ms.total, 2), r.cached ? "yes" : "no",
          num(r.answer.cost_usd, 8),
        ]),
        "No classification matches.",
      );
    } catch (e) {
      $("#history-count").textContent = explain(e);
    }
  }

  async function energy() {
    const [devices, deployments] = await Promise.all([api("/v1/devices"), api("/v1/deployments?limit=200")]);
    const out = [];
    for (const d of devices.devices) {
      const ready = deployments.deployments.find((x) => x.device_id === d.id && x.state === "ready");
      const m = (d.last_status || {}).energy_metrics || {};
      if (!ready) continue;
      const p = ready.predicted_energy_mwh, got = m.avg_mwh;
      const err = p && got !== null && got !== undefined ? `${fmt(((got - p) / p) * 100, 1)} %` : "–";
      out.push([d.id, `${ready.model} v${ready.version}`, num(p, 4), num(got, 4), m.energy_source || "–", el("td", { class: "num" }, err)]);
    }
    rows($("#energy-compare-table"), out, "No device has a ready deployment yet.");
    await chart($("#energy-chart"), "/v1/charts/energy", `Energy per inference, predicted vs measured: ${out.map((r) => `${r[0]} predicted ${r[2].textContent} mWh, measured ${r[3].textContent} mWh`).join("; ") || "no device yet"}`);
  }

  async function show() {
    await Promise.all([
      history(),
      chart($("#cost-chart"), "/v1/charts/cost", "Cost per 1,000 classifications per minute over the last hour"),
      energy().catch((e) => rows($("#energy-compare-table"), [], explain(e))),
    ]);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#history-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      history();
    });
    $("#history-more").addEventListener("click", () => history(true));
  });

  Dash.tab("analytics", { show });
})();
